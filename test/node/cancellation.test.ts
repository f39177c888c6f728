import { describe, expect, it } from "@effect/vitest"
import type { URLSessionEvent } from "@urlsession/core"
import { URLSession, URLSessionConfiguration } from "@urlsession/core"
import { NodeURLSession } from "@urlsession/node"
import { Chunk, Context, Deferred, Effect, Exit, Fiber, Layer, Option, Scope, Stream } from "effect"
import type * as http from "node:http"
import { collectCompletions } from "../fixtures/events.js"
import { httpServer } from "../fixtures/servers.js"

const session = NodeURLSession.layer(URLSessionConfiguration.default)

/** A server that sends the head and a first chunk, then holds the response open. */
const hangingServer = Effect.gen(function*() {
  const requested = yield* Deferred.make<void>()
  const closed = yield* Deferred.make<void>()
  const server = yield* httpServer((request: http.IncomingMessage, response: http.ServerResponse) => {
    response.writeHead(200, { "Content-Type": "text/plain" })
    response.write("first chunk")
    request.socket.on("close", () => Deferred.unsafeDone(closed, Exit.void))
    Deferred.unsafeDone(requested, Exit.void)
  })
  return { url: server.url, requested, closed }
})

const completionError = (events: Chunk.Chunk<URLSessionEvent.URLSessionEvent>) => {
  const last = Chunk.last(events).pipe(Option.getOrThrow)
  expect(last._tag).toBe("DidCompleteWithError")
  return (last as Extract<URLSessionEvent.URLSessionEvent, { _tag: "DidCompleteWithError" }>).error.pipe(
    Option.getOrThrow
  )
}

describe("cancellation", () => {
  it.scoped("task.cancel aborts the request at once and the task completes with Cancelled", () =>
    Effect.gen(function*() {
      const server = yield* hangingServer
      const task = yield* URLSession.dataTask(server.url)
      const observed = yield* task.events.pipe(Stream.runCollect, Effect.fork)
      yield* task.resume
      yield* Deferred.await(server.requested)
      yield* task.cancel
      yield* Deferred.await(server.closed) // the server sees its socket close
      const error = yield* Effect.flip(task.await)
      expect(error.code).toBe("Cancelled")
      expect(error.errorCode).toBe(-999)
      expect(yield* task.state).toBe("completed")
      const cancelled = completionError(yield* Fiber.join(observed))
      expect(cancelled.code).toBe("Cancelled")
    }).pipe(Effect.provide(session)))

  it.scoped("interrupting the fiber that awaits URLSession.data cancels the task", () =>
    Effect.gen(function*() {
      const server = yield* hangingServer
      const completions = yield* collectCompletions(1)
      const loading = yield* Effect.fork(URLSession.data(server.url))
      yield* Deferred.await(server.requested)
      yield* Fiber.interrupt(loading)
      yield* Deferred.await(server.closed)
      const [completion] = yield* Fiber.join(completions)
      expect(Option.getOrThrow(completion!.error).code).toBe("Cancelled")
    }).pipe(Effect.provide(session)))

  it.scoped("a task cancelled before resume completes with Cancelled and never starts", () =>
    Effect.gen(function*() {
      const server = yield* httpServer((_, response) => response.end("never asked"))
      const task = yield* URLSession.dataTask(server.url)
      yield* task.cancel
      expect((yield* Effect.flip(task.await)).code).toBe("Cancelled")
      yield* task.resume
      expect(yield* task.state).toBe("completed")
      expect(server.connections.accepted()).toBe(0)
    }).pipe(Effect.provide(session)))

  it.live("Effect.timeout around URLSession.data cancels the load", () =>
    Effect.gen(function*() {
      const server = yield* hangingServer
      const result = yield* URLSession.data(server.url).pipe(Effect.timeoutOption("100 millis"))
      expect(result).toEqual(Option.none())
      yield* Deferred.await(server.closed)
    }).pipe(Effect.provide(session), Effect.scoped))

  it.scoped("closing the session's layer cancels running tasks before DidBecomeInvalidWithError", () =>
    Effect.gen(function*() {
      const server = yield* hangingServer
      const sessionScope = yield* Scope.make()
      const context = yield* Layer.buildWithScope(session, sessionScope)
      const urlSession = Context.get(context, URLSession.URLSession)
      const events = yield* urlSession.events.pipe(Stream.runCollect, Effect.fork)
      const task = yield* urlSession.dataTask(server.url)
      yield* task.resume
      yield* Deferred.await(server.requested)
      yield* Scope.close(sessionScope, Exit.void)
      const tags = Chunk.toArray(yield* Fiber.join(events)).map((event) => event._tag)
      expect(tags.at(-1)).toBe("DidBecomeInvalidWithError")
      expect(tags.at(-2)).toBe("DidCompleteWithError")
      expect((yield* Effect.flip(task.await)).code).toBe("Cancelled")
      yield* Deferred.await(server.closed)
    }))
})
