import { describe, expect, it } from "@effect/vitest"
import { ScriptedURLProtocol, URLSession } from "@urlsession/core"
import { Chunk, Effect, Fiber, Option, Stream, TestClock } from "effect"
import { greeting, scenarios } from "../../examples/testing-without-network.js"

describe("ScriptedURLProtocol", () => {
  it.effect("the example program, against each scripted scenario, under TestClock", () =>
    Effect.gen(function*() {
      expect(yield* Effect.provide(greeting, scenarios.answers)).toBe("hello from the script")
      expect(yield* Effect.provide(greeting, scenarios.isDown)).toBe("(the greeter is down)")
      expect(yield* Effect.provide(greeting, scenarios.cutsOff)).toBe("(the greeting was cut off)")
      const slow = yield* Effect.fork(Effect.provide(greeting, scenarios.isSlow))
      yield* TestClock.adjust("1 second")
      expect(Option.isNone(yield* Fiber.poll(slow))).toBe(true)
      yield* TestClock.adjust("1 second")
      expect(yield* Fiber.join(slow)).toBe("(the greeter is too slow)")
    }))

  it.effect("a delayed response arrives when TestClock reaches it", () =>
    Effect.gen(function*() {
      const loading = yield* Effect.fork(
        URLSession.data("https://api.example/slow").pipe(
          Effect.provide(ScriptedURLProtocol.layer(ScriptedURLProtocol.respond({ body: "late", delay: "30 seconds" })))
        )
      )
      yield* TestClock.adjust("29 seconds")
      expect(Option.isNone(yield* Fiber.poll(loading))).toBe(true)
      yield* TestClock.adjust("1 second")
      const { data, response } = yield* Fiber.join(loading)
      expect(new TextDecoder().decode(data)).toBe("late")
      expect(response.url).toBe("https://api.example/slow")
    }))

  it.effect.each(["TimedOut", "CannotFindHost", "SecureConnectionFailed", "BadServerResponse"] as const)(
    "fails with %s when scripted to",
    (code) =>
      Effect.gen(function*() {
        const error = yield* Effect.flip(
          URLSession.data("https://api.example/").pipe(
            Effect.provide(ScriptedURLProtocol.layer(ScriptedURLProtocol.fail(code)))
          )
        )
        expect(error.code).toBe(code)
        expect(error.failingURL).toBe("https://api.example/")
      })
  )

  it.scoped("cutAfter delivers exactly N bytes, then NetworkConnectionLost", () =>
    Effect.gen(function*() {
      const { body } = yield* URLSession.bytes("https://api.example/file")
      const received: Array<number> = []
      const error = yield* body.pipe(
        Stream.runForEach((chunk) => Effect.sync(() => received.push(chunk.byteLength))),
        Effect.flip
      )
      expect(received.reduce((a, b) => a + b, 0)).toBe(25)
      expect(error.code).toBe("NetworkConnectionLost")
    }).pipe(Effect.provide(ScriptedURLProtocol.layer(
      ScriptedURLProtocol.respond({ body: ["0123456789", "0123456789", "0123456789"], cutAfter: 25 })
    ))))

  it.effect("status, header fields and chunks reach the task as from a server", () =>
    Effect.gen(function*() {
      const task = yield* URLSession.dataTask("https://api.example/items")
      const events = yield* task.events.pipe(Stream.runCollect, Effect.fork)
      yield* task.resume
      const { data, response } = yield* task.await
      expect(new TextDecoder().decode(data)).toBe("[1,2]")
      expect(response.mimeType).toEqual(Option.some("application/json"))
      expect(response.expectedContentLength).toBe(5)
      const tags = Chunk.toArray(yield* Fiber.join(events)).map((event) => event._tag)
      expect(tags).toEqual(["DidReceiveResponse", "DidReceiveData", "DidReceiveData", "DidCompleteWithError"])
    }).pipe(Effect.provide(ScriptedURLProtocol.layer(
      ScriptedURLProtocol.respond({ statusCode: 201, headers: { "Content-Type": "application/json" }, body: ["[1,", "2]"] })
    ))))
})
