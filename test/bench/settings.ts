/**
 * The bench's knobs, read from the environment once by the runner. Defaults are sized so
 * that `npm run bench` finishes in well under 10 minutes on a slow 2-core machine.
 */

const MiB = 1024 * 1024

const numberFrom = (name: string, fallback: number): number => {
  const text = process.env[name]
  if (text === undefined || text.trim() === "") return fallback
  const value = Number(text)
  if (!Number.isFinite(value) || value <= 0) {
    throw new Error(`${name} must be a positive number, got ${JSON.stringify(text)}`)
  }
  return value
}

const listFrom = (name: string): ReadonlyArray<string> | null => {
  const text = process.env[name]
  if (text === undefined || text.trim() === "") return null
  return text.split(",").map((item) => item.trim()).filter((item) => item !== "")
}

export interface Settings {
  /** Multiplies every request count (cases 1, 4 and 5) and the warm-ups. */
  readonly scale: number
  /** Timed runs per client and case, when set; otherwise each case's own default. */
  readonly runs: number | null
  /** Case 2 body size for urlsession, undici.request, undici.stream and curl. */
  readonly downloadBytes: number
  /** Case 2 body size for the other clients. */
  readonly downloadOthersBytes: number
  /** Case 3 file size. */
  readonly uploadBytes: number
  /** Case 4: tasks started at once. */
  readonly manyTasks: number
  /** Only these cases (`1a`, `1b`, `2`, …; `1` means both halves of case 1), when set. */
  readonly cases: ReadonlyArray<string> | null
  /** Only these clients, when set. */
  readonly clients: ReadonlyArray<string> | null
  /** A child that takes longer is killed and its row marked failed. */
  readonly childTimeoutSeconds: number
}

export const fromEnvironment = (): Settings => ({
  scale: numberFrom("BENCH_SCALE", 1),
  runs: process.env.BENCH_RUNS === undefined ? null : Math.round(numberFrom("BENCH_RUNS", 1)),
  downloadBytes: Math.round(numberFrom("BENCH_DOWNLOAD_MIB", 1024) * MiB),
  downloadOthersBytes: Math.round(numberFrom("BENCH_DOWNLOAD_OTHERS_MIB", 1024) * MiB),
  uploadBytes: Math.round(numberFrom("BENCH_UPLOAD_MIB", 1024) * MiB),
  manyTasks: Math.round(numberFrom("BENCH_TASKS", 10_000)),
  cases: listFrom("BENCH_CASES"),
  clients: listFrom("BENCH_CLIENTS"),
  childTimeoutSeconds: numberFrom("BENCH_CHILD_TIMEOUT", 300)
})
