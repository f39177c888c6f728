/**
 * Edges of the hot path's rework (issue 6): event backpressure with several lagging
 * subscribers, the yield before loading, a redirect hop's scope closed whole, a pull
 * interrupted between taking an event and handing it over, and empty scripted chunks.
 */
import { describe, expect, it } from "@effect/vitest"
import {
  ScriptedURLProtocol,
  URLResponse,
  URLSession,
  URLSessionConfiguration,
  URLSessionEvent
} from "@urlsession/core"
import type { URLProtocol } from "@urlsession/core/URLProtocol"
import { NodeURLSession } from "@urlsession/node"
import { Cause, Chunk, Deferred, Effect, Exit, Fiber, Layer, Option, Stream } from "effect"
import { patterned } from "../fixtures/files.js"
import { bodyServer } from "../fixtures/servers.js"

const session = NodeURLSession.layer(URLSessionConfiguration.default)

const sleep = (millis: number) => Effect.promise(() => new Promise((resolve) => setTimeout(resolve, millis)))

// Waits until `read` gives the same value for `quiet` ms: the publisher is blocked.
const untilStable = (read: Effect.Effect<number>, quiet = 150) =>
  Effect.gen(function*() {
    let last = -1
    while (true) {
      const now = yield* read
      if (now === last && now > 0) return now
      last = now
      yield* sleep(quiet)
    }
  })

describe("event backpressure with several lagging subscribers", () => {
  // The task waits for room at A first, and only then at B. B meanwhile took everything and
  // gave its room back: B's room is checked again when the wait for it starts.
  it.scopedLive(
    "two lagging subscribers of a task: once both catch up, the task completes (no hang)",
    () =>
      Effect.gen(function*() {
        const body = patterned(8 * 1024 * 1024)
        const server = yield* bodyServer(body)
        const task = yield* URLSession.dataTask(server.url)
        const gateA = yield* Deferred.make<void>()
        const gateB = yield* Deferred.make<void>()
        // A subscribes first (the publisher waits for it first), then B.
        const a = yield* task.events.pipe(Stream.runForEach(() => Deferred.await(gateA)), Effect.fork)
        yield* sleep(20)
        const b = yield* task.events.pipe(Stream.runForEach(() => Deferred.await(gateB)), Effect.fork)
        yield* sleep(20)
        yield* task.resume
        // Both subscribers are full: the task waits for A, then would wait for B.
        yield* untilStable(task.countOfBytesReceived)
        // B catches up with everything queued and waits for more; then A does.
        yield* Deferred.succeed(gateB, undefined)
        yield* sleep(100)
        yield* Deferred.succeed(gateA, undefined)
        const exit = yield* Effect.exit(Effect.timeout(task.await, "3 seconds"))
        yield* task.cancel
        yield* Fiber.interrupt(a)
        yield* Fiber.interrupt(b)
        expect(Exit.isSuccess(exit)).toBe(true)
      }).pipe(Effect.provide(session)),
    10_000
  )

  // The same without gates: a task subscriber a little slower than a session subscriber
  // (emitNow waits for the task's hub, then for the session's). Timing-dependent, so a few
  // speeds are tried; each load takes well under a second.
  it.scopedLive(
    "a task subscriber a little slower than a session subscriber: every load completes",
    () =>
      Effect.gen(function*() {
        const body = patterned(2 * 1024 * 1024)
        const server = yield* bodyServer(body)
        const exits: Array<boolean> = []
        for (const [taskMillis, sessionMillis] of [[2, 1], [3, 1], [3, 2]] as const) {
          const task = yield* URLSession.dataTask(server.url)
          const a = yield* task.events.pipe(Stream.runForEach(() => Effect.sleep(taskMillis)), Effect.fork)
          const b = yield* URLSession.events.pipe(Stream.runForEach(() => Effect.sleep(sessionMillis)), Effect.fork)
          yield* Effect.sleep("20 millis")
          yield* task.resume
          const exit = yield* Effect.exit(Effect.timeout(task.await, "1500 millis"))
          yield* task.cancel
          yield* Fiber.interrupt(a)
          yield* Fiber.interrupt(b)
          exits.push(Exit.isSuccess(exit))
          if (Exit.isFailure(exit)) break
        }
        expect(exits.every((ok) => ok)).toBe(true)
      }).pipe(Effect.provide(session)),
    10_000
  )
})

describe("a task's fiber yields once before loading", () => {
  // So a subscriber to the session's events forked just before the load subscribes in time,
  // even for a load without a network round trip (ScriptedURLProtocol, data:).
  const scripted = ScriptedURLProtocol.layer(ScriptedURLProtocol.respond({ body: "hello" }))
  const expected = ["DidReceiveResponse", "DidReceiveData", "DidCompleteWithError"]

  it.live("a session-events subscriber forked just before a scripted load sees its events", () =>
    Effect.gen(function*() {
      const events = yield* URLSession.events.pipe(Stream.take(3), Stream.runCollect, Effect.fork)
      yield* URLSession.data("https://example.test/")
      const exit = yield* Effect.exit(Effect.timeout(Fiber.join(events), "1 second"))
      expect(Exit.map(exit, (chunk) => Chunk.toArray(chunk).map((event) => event._tag))).toEqual(
        Exit.succeed(expected)
      )
    }).pipe(Effect.provide(scripted)))

  it.live("a session-events subscriber forked just before a data: load sees its events", () =>
    Effect.gen(function*() {
      const events = yield* URLSession.events.pipe(
        Stream.takeUntil(URLSessionEvent.$is("DidCompleteWithError")),
        Stream.runCollect,
        Effect.fork
      )
      yield* URLSession.data("data:,hello")
      const exit = yield* Effect.exit(Effect.timeout(Fiber.join(events), "1 second"))
      expect(Exit.map(exit, (chunk) => Chunk.toArray(chunk).map((event) => event._tag))).toEqual(
        Exit.succeed(expected)
      )
    }).pipe(Effect.provide(session)))
})

describe("a followed hop's scope is closed whole", () => {
  // A cancel (or timeout) that lands while one of the hop's finalizers runs must not stop
  // the close half way: the finalizers not yet run would never run.
  it.live("a task cancelled while its redirect hop's scope closes still runs all of that scope's finalizers", () =>
    Effect.gen(function*() {
      const released: Array<string> = []
      const closing = yield* Deferred.make<void>()
      const http = (url: string, statusCode: number, headers: Record<string, string>) =>
        URLResponse.fromHTTPHead({ url, statusCode, headers })
      // A protocol whose redirect response holds a "connection" and something slow to release.
      const protocol: URLProtocol = {
        canInit: () => true,
        startLoading: (request) =>
          Effect.gen(function*() {
            if (request.url.endsWith("/final")) return { response: http(request.url, 200, {}), pull: Effect.never }
            yield* Effect.addFinalizer(() => Effect.sync(() => released.push("connection")))
            yield* Effect.addFinalizer(() =>
              Deferred.succeed(closing, undefined).pipe(
                Effect.zipRight(Effect.sleep("100 millis")),
                Effect.zipRight(Effect.sync(() => released.push("slow")))
              )
            )
            return {
              response: http(request.url, 302, { location: "/final", "content-length": "0" }),
              pull: Effect.succeedNone
            }
          })
      }
      const layer = Layer.scoped(
        URLSession.URLSession,
        URLSession.make(
          URLSessionConfiguration.default.pipe(URLSessionConfiguration.with({ protocolClasses: [protocol] })),
          { protocols: [] }
        )
      )
      yield* Effect.gen(function*() {
        const task = yield* URLSession.dataTask("https://example.test/redirect")
        yield* task.resume
        yield* Deferred.await(closing).pipe(Effect.timeout("1 second"))
        yield* task.cancel
        const exit = yield* Effect.exit(Effect.timeout(task.await, "1 second"))
        expect(
          Exit.isFailure(exit) &&
            Option.map(Cause.failureOption(exit.cause), (error) => "code" in error ? error.code : error._tag)
        ).toEqual(Option.some("Cancelled"))
        yield* Effect.sleep("200 millis")
        expect([...released].sort()).toEqual(["connection", "slow"])
      }).pipe(Effect.provide(layer))
    }))
})

describe("a subscription's pull waits for an event, then a turn for more", () => {
  // A pull takes events only in the step that returns them: one interrupted while it waits
  // (for the first event, or the 0 ms timer after it) leaves them for the next pull.
  it.scopedLive("a pull of a task's events interrupted as an event arrives loses no event", () =>
    Effect.gen(function*() {
      const task = yield* URLSession.dataTask("https://example.test/")
      const pull = yield* Stream.toPull(task.events)
      const waiting = yield* Effect.fork(pull)
      yield* Effect.sleep("20 millis")
      yield* task.resume
      yield* task.await
      const first = yield* Fiber.interrupt(waiting)
      const seen: Array<string> = Exit.isSuccess(first) ? Chunk.toArray(first.value).map((event) => event._tag) : []
      while (true) {
        const next = yield* Effect.either(Effect.timeout(pull, "1 second"))
        if (next._tag === "Left") break
        for (const event of next.right) seen.push(event._tag)
      }
      expect(seen).toEqual(["DidReceiveResponse", "DidReceiveData", "DidCompleteWithError"])
    }).pipe(Effect.provide(ScriptedURLProtocol.layer(ScriptedURLProtocol.respond({ body: "hello" })))))
})

describe("a pull interrupted without waiting for it, then another", () => {
  // The first pull's cleanup may run after the second has started waiting: it must not
  // take the second one's waker with it.
  it.scopedLive("the second pull wakes for the task's events", () =>
    Effect.gen(function*() {
      const task = yield* URLSession.dataTask("https://example.test/")
      const pull = yield* Stream.toPull(task.events)
      const first = yield* Effect.fork(pull)
      yield* Effect.yieldNow()
      yield* Fiber.interruptFork(first)
      const second = yield* Effect.fork(pull)
      yield* Effect.sleep("10 millis")
      yield* task.resume
      const woke = yield* Effect.exit(Effect.timeout(Fiber.join(second), "1 second"))
      expect(Exit.isSuccess(woke)).toBe(true)
    }).pipe(Effect.provide(ScriptedURLProtocol.layer(ScriptedURLProtocol.respond({ body: "hello" })))))
})

describe("scripted bodies", () => {
  // ScriptedURLProtocol documents "each chunk is delivered as one DidReceiveData": an empty
  // one too.
  it.live("ScriptedURLProtocol: an empty chunk of a scripted body is still one DidReceiveData", () =>
    Effect.gen(function*() {
      const task = yield* URLSession.dataTask("https://example.test/")
      const events = yield* task.events.pipe(Stream.runCollect, Effect.fork)
      yield* task.resume
      yield* task.await
      const tags = Chunk.toArray(yield* Fiber.join(events)).map((event) => event._tag)
      expect(tags).toEqual([
        "DidReceiveResponse",
        "DidReceiveData",
        "DidReceiveData",
        "DidReceiveData",
        "DidCompleteWithError"
      ])
    }).pipe(Effect.provide(ScriptedURLProtocol.layer(ScriptedURLProtocol.respond({ body: ["a", "", "b"] })))))
})
