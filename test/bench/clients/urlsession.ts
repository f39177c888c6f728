/**
 * urlsession: one `NodeURLSession` on the default configuration (at most 6 connections per
 * host) in one `ManagedRuntime`; each operation of a case is a single `runPromise`, so the
 * runtime is set up once and every request is a fiber, as an application would run it.
 *
 * `subscriber` is case 5's variable: nobody listening to events, a subscriber on every task's
 * events, or one subscriber on the session's events.
 */
import { URLRequest, URLSession, URLSessionConfiguration } from "@urlsession/core"
import { NodeURLSession } from "@urlsession/node"
import { Effect, Fiber, ManagedRuntime, Stream } from "effect"
import { type BenchClient, uploadedBytes } from "../BenchClient.js"
import { timedForEach } from "./timedForEach.js"

export type Subscriber = "none" | "task" | "session"

/** A data task whose events are drained by a fiber subscribed before `resume`. */
const dataWithTaskEvents = (url: string) =>
  Effect.gen(function*() {
    const task = yield* URLSession.dataTask(url)
    yield* task.events.pipe(Stream.runDrain, Effect.fork)
    yield* task.resume
    return yield* task.await
  })

export const make = async (subscriber: Subscriber): Promise<BenchClient> => {
  const runtime = ManagedRuntime.make(NodeURLSession.layer(URLSessionConfiguration.default))
  const load = subscriber === "task" ? dataWithTaskEvents : URLSession.data
  const sessionSubscriber = subscriber === "session"
    ? runtime.runFork(URLSession.events.pipe(Stream.runDrain))
    : undefined
  // Let the session subscriber's fiber reach its subscription before the first task.
  await runtime.runPromise(Effect.sleep("10 millis"))

  return {
    get: (url, count, concurrency) => runtime.runPromise(timedForEach(count, concurrency, load(url))),

    download: (url, to) => runtime.runPromise(Effect.asVoid(Effect.scoped(URLSession.download(url, { to })))),

    upload: (url, from) =>
      runtime.runPromise(
        URLSession.upload(
          URLRequest.make(url).pipe(
            URLRequest.setMethod("POST"),
            URLRequest.setHeader("Content-Type", "application/octet-stream")
          ),
          { file: from }
        ).pipe(Effect.map(({ data }) => uploadedBytes(JSON.parse(new TextDecoder().decode(data)))))
      ),

    close: async () => {
      if (sessionSubscriber !== undefined) await runtime.runPromise(Fiber.interrupt(sessionSubscriber))
      await runtime.dispose()
    }
  }
}
