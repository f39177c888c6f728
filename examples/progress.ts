/**
 * Progress output for the examples. On a terminal, one line redrawn in place; in a log
 * (standard output not a TTY, as in `npm run demo > demo.log`), a line each time another tenth
 * of the total is done, or every 2 seconds while the total is unknown, and the last state
 * when it finishes, so the log reads as a few lines instead of thousands of redraws.
 */
export interface Progress {
  readonly update: (done: number, expected: number) => void
  /** Ends the progress: the last state, and a line break after an in-place line. */
  readonly finish: () => void
}

const logInterval = 2000

export const progress = (
  render: (done: number, expected: number) => string,
  output: NodeJS.WriteStream = process.stdout
): Progress => {
  if (output.isTTY) {
    let drawn = false
    return {
      update: (done, expected) => {
        drawn = true
        output.write(`\r${render(done, expected)}`)
      },
      finish: () => {
        if (drawn) output.write("\n")
        drawn = false
      }
    }
  }
  let printedTenth = -1
  let printedAt = 0
  let pending: readonly [done: number, expected: number] | undefined
  return {
    update: (done, expected) => {
      const now = Date.now()
      const tenth = expected > 0 ? Math.floor((Math.min(done, expected) / expected) * 10) : -1
      if (expected > 0 ? tenth > printedTenth : now - printedAt >= logInterval) {
        printedTenth = tenth
        printedAt = now
        pending = undefined
        output.write(`${render(done, expected)}\n`)
      } else {
        pending = [done, expected]
      }
    },
    finish: () => {
      if (pending !== undefined) output.write(`${render(...pending)}\n`)
      pending = undefined
    }
  }
}
