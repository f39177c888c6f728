/**
 * `npm run demo`: starts a local server and runs the examples against it.
 */
import { Console, Effect } from "effect"
import { backgroundDownload } from "./background-download.js"
import { cancellation } from "./cancellation.js"
import { dataTask } from "./data-task.js"
import { pausedAndResumed } from "./download.js"
import { quickStart } from "./quick-start.js"
import { demoServer } from "./server.js"
import { taskEvents } from "./task-events.js"
import { testingWithoutNetwork } from "./testing-without-network.js"
import { uploads } from "./upload.js"

const examples = [
  ["The README's quick start (examples/quick-start.ts)", quickStart],
  ["A data task (examples/data-task.ts)", dataTask],
  ["The events of one task (examples/task-events.ts)", taskEvents],
  ["Cancellation by interruption (examples/cancellation.ts)", cancellation],
  ["Testing without a network (examples/testing-without-network.ts)", () => testingWithoutNetwork],
  ["A download paused and resumed from resume data (examples/download.ts)", pausedAndResumed],
  ["Uploads: a file with progress, a stream sent chunked (examples/upload.ts)", uploads],
  ["A background download that finishes while no app runs (examples/background-download.ts)", backgroundDownload]
] as const

const demo = Effect.gen(function*() {
  const { baseURL } = yield* demoServer
  yield* Console.log(`Demo server on ${baseURL}\n`)
  for (const [title, example] of examples) {
    yield* Console.log(title)
    yield* example(baseURL)
    yield* Console.log("")
  }
  yield* Console.log("Done.")
})

await Effect.runPromise(Effect.scoped(demo))
