/**
 * Cancel a load by interrupting it: here `Effect.timeout` gives up on a response that never
 * ends. The request is aborted at once (the server sees its connection close) and the task
 * completes with `Cancelled` (-999).
 *
 *   npx tsx --conditions=source examples/cancellation.ts
 */
import { URLSession, URLSessionConfiguration, URLSessionEvent } from "@urlsession/core"
import { NodeURLSession } from "@urlsession/node"
import { Console, Effect, Fiber, Option, Stream } from "effect"
import { pathToFileURL } from "node:url"
import { runWithDemoServer } from "./server.js"

export const cancellation = (baseURL: string) =>
  Effect.gen(function*() {
    const completions = yield* URLSession.events.pipe(
      Stream.filter(URLSessionEvent.$is("DidCompleteWithError")),
      Stream.take(1),
      Stream.runCollect,
      Effect.fork
    )
    yield* Effect.yieldNow()
    const outcome = yield* URLSession.data(`${baseURL}/slow`).pipe(Effect.timeoutOption("300 millis"))
    yield* Console.log(`  after 300 ms: ${Option.isNone(outcome) ? "gave up" : "loaded"}`)
    for (const completion of yield* Fiber.join(completions)) {
      const error = Option.getOrThrow(completion.error)
      yield* Console.log(`  task ${completion.taskIdentifier} completed with ${error.code} (${error.errorCode})`)
    }
  }).pipe(Effect.provide(NodeURLSession.layer(URLSessionConfiguration.default)))

if (import.meta.url === pathToFileURL(process.argv[1]!).href) await runWithDemoServer(cancellation)
