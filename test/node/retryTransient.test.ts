import { describe, expect, it } from "@effect/vitest"
import { DataResult, URLError, URLSession, URLSessionConfiguration } from "@urlsession/core"
import { NodeURLSession } from "@urlsession/node"
import { Effect, Schedule } from "effect"
import { closedPort, httpServer } from "../fixtures/servers.js"

const session = NodeURLSession.layer(URLSessionConfiguration.default)

const quickly = Schedule.spaced("1 millis")

/** Answers with each status of `statuses` in turn, then 200 "ok"; counts the requests. */
const statusesThenOk = (statuses: ReadonlyArray<number>) =>
  Effect.gen(function*() {
    let requests = 0
    const server = yield* httpServer((_, response) => {
      const status = statuses[requests++] ?? 200
      response.writeHead(status, { "Content-Type": "text/plain" })
      response.end(status === 200 ? "ok" : "not now")
    })
    return { url: server.url, requests: () => requests }
  })

describe("URLSession.retryTransient", () => {
  it.scopedLive("retries 503 and 429 after filterStatusOk, then reads the body", () =>
    Effect.gen(function*() {
      const server = yield* statusesThenOk([503, 429])
      const body = yield* URLSession.data(server.url).pipe(
        Effect.flatMap(DataResult.filterStatusOk),
        URLSession.retryTransient({ schedule: quickly }),
        Effect.flatMap(DataResult.text)
      )
      expect(body).toBe("ok")
      expect(server.requests()).toBe(3)
    }).pipe(Effect.provide(session)))

  it.scopedLive("does not retry a 404, nor a status that is not a failure", () =>
    Effect.gen(function*() {
      const server = yield* statusesThenOk([404])
      const error = yield* URLSession.data(server.url).pipe(
        Effect.flatMap(DataResult.filterStatusOk),
        URLSession.retryTransient({ schedule: quickly }),
        Effect.flip
      )
      expect(error._tag === "StatusCodeError" && error.response.statusCode).toBe(404)
      expect(server.requests()).toBe(1)
      const unfiltered = yield* statusesThenOk([503])
      const { response } = yield* URLSession.data(unfiltered.url).pipe(URLSession.retryTransient({ schedule: quickly }))
      expect("statusCode" in response && response.statusCode).toBe(503)
      expect(unfiltered.requests()).toBe(1)
    }).pipe(Effect.provide(session)))

  it.scopedLive("stops after `times` more tries, failing with the last error", () =>
    Effect.gen(function*() {
      const server = yield* statusesThenOk([500, 502, 504, 500])
      const error = yield* URLSession.data(server.url).pipe(
        Effect.flatMap(DataResult.filterStatusOk),
        URLSession.retryTransient({ times: 2, schedule: quickly }),
        Effect.flip
      )
      expect(error._tag === "StatusCodeError" && error.response.statusCode).toBe(504)
      expect(server.requests()).toBe(3)
    }).pipe(Effect.provide(session)))

  it.scopedLive("retries a refused connection, not a URL no protocol loads", () =>
    Effect.gen(function*() {
      let attempts = 0
      const port = yield* closedPort
      const refused = yield* Effect.suspend(() => {
        attempts++
        return URLSession.data(`http://127.0.0.1:${port}/`)
      }).pipe(URLSession.retryTransient({ times: 2, schedule: quickly }), Effect.flip)
      expect(refused.code).toBe("CannotConnectToHost")
      expect(URLError.isTransient(refused)).toBe(true)
      expect(attempts).toBe(3)
      attempts = 0
      const unsupported = yield* Effect.suspend(() => {
        attempts++
        return URLSession.data("gopher://127.0.0.1/")
      }).pipe(URLSession.retryTransient({ schedule: quickly }), Effect.flip)
      expect(unsupported.code).toBe("UnsupportedURL")
      expect(attempts).toBe(1)
    }).pipe(Effect.provide(session)))

  it.scopedLive("`while` retries failures of the caller's own too", () =>
    Effect.gen(function*() {
      const server = yield* statusesThenOk([409])
      const body = yield* URLSession.data(server.url).pipe(
        Effect.flatMap(DataResult.filterStatusOk),
        URLSession.retryTransient({
          schedule: quickly,
          while: (error) => error._tag === "StatusCodeError" && error.response.statusCode === 409
        }),
        Effect.flatMap(DataResult.text)
      )
      expect(body).toBe("ok")
    }).pipe(Effect.provide(session)))
})
