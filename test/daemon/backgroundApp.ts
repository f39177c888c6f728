/**
 * An app for tests, run as a child process: attaches to the background session named by its
 * second argument (through `NodeURLSession.layer`, with `URLSESSION_STATE_DIRECTORY` set by
 * the test), starts a download of each further argument, prints `started <identifiers>`,
 * and waits to be killed.
 *
 *   node --conditions=source --import tsx test/daemon/backgroundApp.ts <identifier> <url>...
 */
import * as NodeRuntime from "@effect/platform-node/NodeRuntime"
import * as URLSession from "@urlsession/core/URLSession"
import * as URLSessionConfiguration from "@urlsession/core/URLSessionConfiguration"
import * as NodeURLSession from "@urlsession/node/NodeURLSession"
import * as Console from "effect/Console"
import * as Effect from "effect/Effect"

const [identifier, ...urls] = process.argv.slice(2)

const program = Effect.gen(function*() {
  const started: Array<number> = []
  for (const url of urls) {
    const task = yield* URLSession.downloadTask(url)
    yield* task.resume
    started.push(task.taskIdentifier)
  }
  yield* Console.log(`started ${started.join(" ")}`)
  return yield* Effect.never
}).pipe(Effect.provide(NodeURLSession.layer(URLSessionConfiguration.background(identifier!))))

NodeRuntime.runMain(program)
