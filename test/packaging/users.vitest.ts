// The test the packed-install check (`.ci/packed-install`) runs with vitest in a fresh project
// that installed the packed `@urlsession/core`: the shape of the README's "Testing code that
// uses urlsession", on `@effect/vitest` and `ScriptedURLProtocol`. (Named .vitest.ts so this
// repository's own `npm test` does not collect it; the check copies it in as users.test.ts.)
import { describe, expect, it } from "@effect/vitest"
import { ScriptedURLProtocol, URLError, URLSession, URLSessionConfiguration } from "@urlsession/core"
import { Effect, Fiber, TestClock } from "effect"

interface User {
  readonly id: number
  readonly name: string
}

const getUser = (id: number) =>
  URLSession.data(`https://api.example/users/${id}`).pipe(
    Effect.map(({ data }): User => JSON.parse(new TextDecoder().decode(data)))
  )

const greeting = (id: number) =>
  getUser(id).pipe(
    Effect.map((user) => `Hello, ${user.name}`),
    URLError.catchCode("TimedOut", () => Effect.succeed("Hello, whoever you are"))
  )

const configuration = URLSessionConfiguration.default.pipe(
  URLSessionConfiguration.with({ timeoutIntervalForRequest: "5 seconds" })
)

const api = ScriptedURLProtocol.layer(
  ScriptedURLProtocol.router({
    "GET /users/:id": (_, { params }) => ({ json: { id: Number(params.id), name: "Ada" } })
  }),
  configuration
)

const silentAPI = ScriptedURLProtocol.layer(
  ScriptedURLProtocol.router({ "GET /users/:id": ScriptedURLProtocol.never }),
  configuration
)

describe("users", () => {
  it.effect("getUser reads the user the API answers with, and the request is recorded", () =>
    Effect.gen(function*() {
      expect(yield* getUser(1)).toEqual({ id: 1, name: "Ada" })
      const [sent] = yield* ScriptedURLProtocol.requests
      expect(sent?.method).toBe("GET")
      expect(sent?.url).toBe("https://api.example/users/1")
    }).pipe(Effect.provide(api)))

  it.effect("greeting falls back when the API has not answered after 5 seconds", () =>
    Effect.gen(function*() {
      const fiber = yield* Effect.fork(greeting(1))
      yield* TestClock.adjust("5 seconds")
      expect(yield* Fiber.join(fiber)).toBe("Hello, whoever you are")
    }).pipe(Effect.provide(silentAPI)))
})
