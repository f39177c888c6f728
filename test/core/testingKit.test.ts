// The README's "Testing code that uses urlsession", as it would run in a user's own project:
// keep the two the same.
import { describe, expect, it } from "@effect/vitest"
import { DataResult, ScriptedURLProtocol, URLError, URLSession } from "@urlsession/core"
import { Effect, Fiber, Schema, TestClock } from "effect"

// The code under test: in your project, imported from your own modules.
const User = Schema.Struct({ id: Schema.Number, name: Schema.String })

const getUser = (id: number) =>
  URLSession.data(`https://api.example/users/${id}`).pipe(
    Effect.flatMap(DataResult.filterStatusOk),
    Effect.flatMap(DataResult.schemaJson(User))
  )

const createUser = (name: string) =>
  URLSession.data("https://api.example/users", { method: "POST", json: { name } }).pipe(
    Effect.flatMap(DataResult.filterStatusOk),
    Effect.flatMap(DataResult.schemaJson(Schema.Struct({ id: Schema.Number })))
  )

const greeting = (id: number) =>
  getUser(id).pipe(
    Effect.map((user) => `Hello, ${user.name}`),
    URLError.catchCode("TimedOut", () => Effect.succeed("Hello, whoever you are"))
  )

// The tests: a session whose requests a router answers, with the timeout the app uses.
const configuration = { timeoutIntervalForRequest: "5 seconds" } as const

const api = ScriptedURLProtocol.layer(
  ScriptedURLProtocol.router({
    "GET /users/:id": (_, { params }) => ({ json: { id: Number(params.id), name: "Ada" } }),
    "POST /users": { statusCode: 201, json: { id: 2 } }
  }),
  configuration
)

const silentAPI = ScriptedURLProtocol.layer(
  ScriptedURLProtocol.router({ "GET /users/:id": ScriptedURLProtocol.never }),
  configuration
)

describe("users", () => {
  it.effect("getUser reads the user the API answers with", () =>
    Effect.gen(function*() {
      expect(yield* getUser(1)).toEqual({ id: 1, name: "Ada" })
    }).pipe(Effect.provide(api)))

  it.effect("createUser posts the name as JSON", () =>
    Effect.gen(function*() {
      expect(yield* createUser("Grace")).toEqual({ id: 2 })
      const [sent] = yield* ScriptedURLProtocol.requests
      expect(sent?.method).toBe("POST")
      expect(sent?.url).toBe("https://api.example/users")
      expect(sent?.headers["content-type"]).toBe("application/json")
      expect(JSON.parse(ScriptedURLProtocol.bodyText(sent!))).toEqual({ name: "Grace" })
    }).pipe(Effect.provide(api)))

  it.effect("greeting falls back when the API has not answered after 5 seconds", () =>
    Effect.gen(function*() {
      const fiber = yield* Effect.fork(greeting(1))
      yield* TestClock.adjust("5 seconds")
      expect(yield* Fiber.join(fiber)).toBe("Hello, whoever you are")
    }).pipe(Effect.provide(silentAPI)))
})
