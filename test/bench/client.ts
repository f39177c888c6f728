/**
 * The child process that measures one client on one case, started by `run.ts`:
 *
 *   node --expose-gc --import tsx --conditions=source test/bench/client.ts <client> <case> <job JSON>
 *
 * It warms up, reports `ready`, then makes one timed run per `run` line on stdin until `end`
 * (see messages.ts). It exits when its stdin closes, so it never outlives the runner.
 */
import * as readline from "node:readline"
import { isClientName, loadClient } from "./clients.js"
import { type Job, prepare } from "./measure.js"
import { type Command, prefix, type Report } from "./messages.js"

const [name = "", caseId = "", jobJSON = "{}"] = process.argv.slice(2)

const send = (report: Report) =>
  new Promise<void>((resolve) => process.stdout.write(`${prefix}${JSON.stringify(report)}\n`, () => resolve()))

const describe = (error: unknown) => error instanceof Error ? error.stack ?? error.message : String(error)

const main = async () => {
  const commands = readline.createInterface({ input: process.stdin })[Symbol.asyncIterator]()
  if (!isClientName(name)) {
    return send({ type: "failed", error: `unknown client ${JSON.stringify(name)} (case ${caseId})` })
  }
  const client = await loadClient(name)
  try {
    const prepared = await prepare(client, JSON.parse(jobJSON) as Job)
    if (typeof prepared === "string") return await send({ type: "unavailable", reason: prepared })
    await send(prepared.ready)
    for (let index = 1;; index++) {
      const next = await commands.next()
      const command = next.done === true ? "end" : next.value.trim() as Command
      if (command === "end") break
      await send({ type: "run", run: await prepared.run(index) })
    }
    await send({ type: "done" })
  } finally {
    await client.close()
  }
}

main().then(
  () => process.exit(0),
  async (error: unknown) => {
    await send({ type: "failed", error: describe(error) })
    process.exit(1)
  }
)
