import { describe, expect, it } from "@effect/vitest"
import type { URLSessionEvent } from "@urlsession/core"
import { URLSession, URLSessionConfiguration } from "@urlsession/core"
import { NodeURLSession } from "@urlsession/node"
import { Cause, Chunk, Context, Deferred, Effect, Exit, Fiber, Layer, Scope, Stream } from "effect"
import { httpServer } from "../fixtures/servers.js"

const session = NodeURLSession.layer(URLSessionConfiguration.default)

/** A server whose responses wait until `release` is called. */
const heldServer = Effect.gen(function*() {
  const requested = yield* Deferred.make<void>()
  const waiting: Array<() => void> = []
  const server = yield* httpServer((_, response) => {
    waiting.push(() => response.end("released"))
    Deferred.unsafeDone(requested, Exit.void)
  })
  return {
    url: server.url,
    requested,
    release: () => waiting.splice(0).forEach((release) => release())
  }
})

const tagsOf = (events: Chunk.Chunk<URLSessionEvent.URLSessionEvent>) =>
  Chunk.toArray(events).map((event) => event._tag)

describe("invalidation", () => {
  it.live("finishTasksAndInvalidate lets running tasks finish, then the session becomes invalid", () =>
    Effect.gen(function*() {
      const server = yield* heldServer
      const events = yield* URLSession.events.pipe(Stream.runCollect, Effect.fork)
      const running = yield* URLSession.dataTask(server.url)
      const neverResumed = yield* URLSession.dataTask(server.url)
      yield* running.resume
      yield* Deferred.await(server.requested)
      const invalidating = yield* Effect.fork(URLSession.finishTasksAndInvalidate)
      yield* Effect.sleep("50 millis")
      expect(yield* running.state).toBe("running")
      server.release()
      yield* Fiber.join(invalidating)
      expect(new TextDecoder().decode((yield* running.await).data)).toBe("released")
      expect((yield* Effect.flip(neverResumed.await)).code).toBe("Cancelled")
      const tags = tagsOf(yield* Fiber.join(events))
      expect(tags.at(-1)).toBe("DidBecomeInvalidWithError")
      expect(tags.filter((tag) => tag === "DidBecomeInvalidWithError")).toHaveLength(1)
    }).pipe(Effect.provide(session), Effect.scoped))

  it.live("after invalidation the session refuses new tasks with a clear defect", () =>
    Effect.gen(function*() {
      yield* URLSession.invalidateAndCancel
      const exit = yield* Effect.exit(URLSession.dataTask("http://127.0.0.1:1/"))
      expect(Exit.isFailure(exit) && Cause.isDie(exit.cause)).toBe(true)
      expect(String(Cause.squash((exit as Exit.Failure<unknown, unknown>).cause))).toContain("invalidated")
    }).pipe(Effect.provide(session)))

  it.live("invalidateAndCancel completes every task with Cancelled before DidBecomeInvalidWithError", () =>
    Effect.gen(function*() {
      const server = yield* heldServer
      const events = yield* URLSession.events.pipe(Stream.runCollect, Effect.fork)
      const tasks = yield* Effect.forEach([1, 2, 3], () => URLSession.dataTask(server.url))
      yield* tasks[0]!.resume
      yield* tasks[1]!.resume
      yield* Deferred.await(server.requested)
      yield* URLSession.invalidateAndCancel
      for (const task of tasks) expect((yield* Effect.flip(task.await)).code).toBe("Cancelled")
      const tags = tagsOf(yield* Fiber.join(events))
      expect(tags).toEqual([
        "DidCompleteWithError",
        "DidCompleteWithError",
        "DidCompleteWithError",
        "DidBecomeInvalidWithError"
      ])
    }).pipe(Effect.provide(session), Effect.scoped))

  it.live("a task kept past its session's end completes with Cancelled when resumed", () =>
    Effect.gen(function*() {
      const server = yield* heldServer
      const sessionScope = yield* Scope.make()
      const context = yield* Layer.buildWithScope(session, sessionScope)
      const task = yield* Context.get(context, URLSession.URLSession).dataTask(server.url)
      yield* Scope.close(sessionScope, Exit.void)
      yield* task.resume
      expect((yield* Effect.flip(task.await)).code).toBe("Cancelled")
      expect(yield* task.state).toBe("completed")
    }).pipe(Effect.scoped))

  it.live("a session subscriber that never reads does not stop tasks from completing or the session from closing", () =>
    Effect.gen(function*() {
      const server = yield* httpServer((_, response) => response.end(Buffer.alloc(4 * 1024 * 1024)))
      const sessionScope = yield* Scope.make()
      const context = yield* Layer.buildWithScope(session, sessionScope)
      const urlSession = Context.get(context, URLSession.URLSession)
      const stuck = yield* Deferred.make<void>()
      yield* urlSession.events.pipe(Stream.runForEach(() => Deferred.await(stuck)), Effect.fork)
      yield* Effect.yieldNow()
      const task = yield* urlSession.dataTask(server.url)
      yield* task.resume
      yield* Effect.sleep("100 millis")
      yield* task.cancel
      expect((yield* Effect.flip(task.await)).code).toBe("Cancelled")
      yield* Scope.close(sessionScope, Exit.void) // returns: nothing waits on the stuck subscriber
      expect(yield* task.state).toBe("completed")
    }).pipe(Effect.scoped))
})
