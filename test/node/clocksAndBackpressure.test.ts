import { describe, expect, it } from "@effect/vitest"
import { ScriptedURLProtocol, URLRequest, URLSession, URLSessionConfiguration } from "@urlsession/core"
import { NodeURLSession } from "@urlsession/node"
import { Cause, Deferred, Effect, Exit, Fiber, Layer, Option, Scope, Stream, TestClock, TestContext } from "effect"
import { httpServer } from "../fixtures/servers.js"

/** A server that accepts requests and never answers them. */
const silentServer = Effect.gen(function*() {
  const requested = yield* Deferred.make<void>()
  const server = yield* httpServer(() => Deferred.unsafeDone(requested, Exit.void))
  return { url: server.url, requested }
})

const quickServer = () =>
  httpServer((_, response) => {
    response.writeHead(200, { "Content-Type": "text/plain" })
    response.end("ok")
  })

/** Real time, whatever Clock the fiber has. */
const realSleep = (millis: number) => Effect.promise(() => new Promise<void>((resolve) => setTimeout(resolve, millis)))

/** Runs `effect` in a fiber of its own: what it provides (a TestClock) stays there, as in a
 * test case of its own. (Fiber.join would merge its FiberRefs back.) */
const isolated = <A, E>(effect: Effect.Effect<A, E>) =>
  Effect.flatMap(Effect.forkDaemon(effect), (fiber) => Effect.flatten(Fiber.await(fiber)))

/** One session (e.g. a module-level or memoised layer) used by several test cases. */
const sharedSession = (scope: Scope.Scope) =>
  Layer.buildWithScope(NodeURLSession.layer(URLSessionConfiguration.default), scope)

describe("timeouts in a session shared across clocks", () => {
  it.scopedLive("a session shared by two TestClock test cases: the second case's request timeout fires", () =>
    Effect.gen(function*() {
      const scope = yield* Scope.make()
      const session = yield* sharedSession(scope)
      const quick = yield* quickServer()
      const silent = yield* silentServer

      // Case 1, under its own TestClock: a load that completes at once.
      yield* isolated(URLSession.data(quick.url).pipe(Effect.provide(session), Effect.provide(TestContext.TestContext)))

      // Case 2, under its own TestClock: a silent server; 61 s pass on that clock.
      const outcome = yield* isolated(
        Effect.gen(function*() {
          const loading = yield* Effect.fork(URLSession.data(silent.url))
          yield* Deferred.await(silent.requested)
          yield* TestClock.adjust("61 seconds")
          yield* realSleep(500)
          return yield* Fiber.poll(loading)
        }).pipe(Effect.provide(session), Effect.provide(TestContext.TestContext))
      )

      expect(Option.isSome(outcome)).toBe(true)
      if (Option.isSome(outcome)) {
        expect(Exit.isFailure(outcome.value)).toBe(true)
        if (Exit.isFailure(outcome.value)) {
          expect(Option.map(Cause.failureOption(outcome.value.cause), (error) => error.code)).toEqual(
            Option.some("TimedOut")
          )
        }
      }
      yield* Scope.close(scope, Exit.void).pipe(Effect.timeout("5 seconds"), Effect.ignore)
    }))

  it.scopedLive("a session used under a TestClock once still times out real-time loads", () =>
    Effect.gen(function*() {
      const scope = yield* Scope.make()
      const session = yield* sharedSession(scope)
      const quick = yield* quickServer()
      const silent = yield* silentServer

      // Used once under a TestClock (a test case, or any Effect.withClock region).
      yield* isolated(URLSession.data(quick.url).pipe(Effect.provide(session), Effect.provide(TestContext.TestContext)))

      // Then on the live clock, with a 1 s request timeout.
      const request = URLRequest.make(silent.url).pipe(URLRequest.setTimeoutInterval("1 second"))
      const loading = yield* Effect.fork(URLSession.data(request).pipe(Effect.provide(session)))
      yield* Deferred.await(silent.requested)
      yield* realSleep(3000)
      const outcome = yield* Fiber.poll(loading)
      yield* Fiber.interrupt(loading)
      expect(Option.isSome(outcome)).toBe(true)
      yield* Scope.close(scope, Exit.void).pipe(Effect.timeout("5 seconds"), Effect.ignore)
    }), 20_000)
})

describe("backpressure of batched event subscriptions", () => {
  it.live("a subscriber more than 16 data events behind slows the transfer (README)", () =>
    Effect.gen(function*() {
      const task = yield* URLSession.dataTask("https://api.example/many")
      const firstDone = yield* Deferred.make<void>()
      const never = yield* Deferred.make<void>()
      let processed = 0
      const subscriber = yield* task.events.pipe(
        Stream.runForEach((event) =>
          Effect.gen(function*() {
            if (event._tag !== "DidReceiveData") return
            processed++
            // Slow on the first event, then stuck.
            yield* Deferred.await(processed === 1 ? firstDone : never)
          })
        ),
        Effect.fork
      )
      yield* task.resume
      yield* Effect.sleep("200 millis")
      const aheadWhileSlow = (yield* task.countOfBytesReceived) - processed
      yield* Deferred.succeed(firstDone, void 0)
      yield* Effect.sleep("200 millis")
      const aheadWhileStuck = (yield* task.countOfBytesReceived) - processed
      yield* Fiber.interrupt(subscriber)
      yield* task.cancel
      // The task may run ahead by the subscriber's 16 queued events and the one in hand
      // (and one chunk counted while its publisher waits).
      expect(aheadWhileSlow).toBeLessThanOrEqual(18)
      expect(aheadWhileStuck).toBeLessThanOrEqual(18)
    }).pipe(Effect.provide(ScriptedURLProtocol.layer(ScriptedURLProtocol.respond({ body: chunks200 })))))
})

const chunks200 = Array.from({ length: 200 }, () => "x")
