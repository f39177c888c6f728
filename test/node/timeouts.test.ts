import { describe, expect, it } from "@effect/vitest"
import { URLRequest, URLSession, URLSessionConfiguration } from "@urlsession/core"
import { NodeURLSession } from "@urlsession/node"
import { Deferred, Effect, Exit, Fiber, Option, Stream, TestClock } from "effect"
import type * as http from "node:http"
import { httpServer } from "../fixtures/servers.js"

const configured = (overrides: URLSessionConfiguration.Overrides) =>
  NodeURLSession.layer(URLSessionConfiguration.default.pipe(URLSessionConfiguration.with(overrides)))

/** A server that accepts requests and never answers them. */
const silentServer = Effect.gen(function*() {
  const requested = yield* Deferred.make<void>()
  const server = yield* httpServer(() => Deferred.unsafeDone(requested, Exit.void))
  return { url: server.url, requested }
})

/** A server that sends one byte every `everyMillis`, forever or `count` times. */
const tricklingServer = (everyMillis: number, count = Infinity) =>
  httpServer((_: http.IncomingMessage, response: http.ServerResponse) => {
    response.writeHead(200, { "Content-Type": "text/plain" })
    let sent = 0
    const timer = setInterval(() => {
      response.write(".")
      if (++sent >= count) {
        clearInterval(timer)
        response.end()
      }
    }, everyMillis)
    response.on("close", () => clearInterval(timer))
  })

describe("timeouts (TestClock)", () => {
  it.scoped("timeoutIntervalForRequest (60 s by default) fails a silent load with TimedOut", () =>
    Effect.gen(function*() {
      const server = yield* silentServer
      const loading = yield* Effect.fork(URLSession.data(server.url))
      yield* Deferred.await(server.requested)
      yield* TestClock.adjust("59 seconds")
      expect(Option.isNone(yield* Fiber.poll(loading))).toBe(true)
      yield* TestClock.adjust("2 seconds")
      const error = yield* Effect.flip(Fiber.join(loading))
      expect(error.code).toBe("TimedOut")
      expect(error.errorCode).toBe(-1001)
      expect(error.failingURL).toBe(server.url)
    }).pipe(Effect.provide(NodeURLSession.layer(URLSessionConfiguration.default))))

  it.scoped("a request's own timeoutInterval wins over the session's", () =>
    Effect.gen(function*() {
      const server = yield* silentServer
      const request = URLRequest.make(server.url).pipe(URLRequest.setTimeoutInterval("5 seconds"))
      const loading = yield* Effect.fork(URLSession.data(request))
      yield* Deferred.await(server.requested)
      yield* TestClock.adjust("6 seconds")
      expect((yield* Effect.flip(Fiber.join(loading))).code).toBe("TimedOut")
    }).pipe(Effect.provide(NodeURLSession.layer(URLSessionConfiguration.default))))

  it.scoped("timeoutIntervalForResource bounds the whole task", () =>
    Effect.gen(function*() {
      const server = yield* silentServer
      const loading = yield* Effect.fork(URLSession.data(server.url))
      yield* Deferred.await(server.requested)
      yield* TestClock.adjust("11 seconds")
      const error = yield* Effect.flip(Fiber.join(loading))
      expect(error.code).toBe("TimedOut")
      expect(error.message).toContain("resource")
    }).pipe(Effect.provide(configured({ timeoutIntervalForResource: "10 seconds" }))))
})

describe("the resource timeout and redirects", () => {
  it.scoped("timeoutIntervalForResource counts from the first hop, redirects included", () =>
    Effect.gen(function*() {
      const requested = yield* Deferred.make<void>()
      const server = yield* httpServer((request, response) => {
        if (request.url === "/start") {
          response.writeHead(302, { Location: "/silent" })
          return void response.end()
        }
        Deferred.unsafeDone(requested, Exit.void) // and never answer
      })
      const loading = yield* Effect.fork(URLSession.data(`${server.url}/start`))
      yield* Deferred.await(requested)
      yield* TestClock.adjust("11 seconds")
      const error = yield* Effect.flip(Fiber.join(loading))
      expect(error.code).toBe("TimedOut")
      expect(error.message).toContain("resource")
    }).pipe(Effect.provide(configured({ timeoutIntervalForResource: "10 seconds" }))))
})

describe("what the idle timer does not count", () => {
  it.scoped("time spent suspended by the caller", () =>
    Effect.gen(function*() {
      const sent = yield* Deferred.make<void>()
      const server = yield* httpServer((_, response) => {
        response.writeHead(200, { "Content-Type": "text/plain" })
        response.write("first", () => Deferred.unsafeDone(sent, Exit.void))
      })
      const task = yield* URLSession.dataTask(server.url)
      yield* task.resume
      yield* Deferred.await(sent)
      while ((yield* task.countOfBytesReceived) === 0) yield* Effect.promise(() => new Promise((r) => setTimeout(r, 5)))
      yield* task.suspend
      yield* TestClock.adjust("10 minutes")
      expect(yield* task.state).toBe("suspended")
      yield* task.resume
      yield* TestClock.adjust("59 seconds")
      expect(yield* task.state).toBe("running")
      yield* TestClock.adjust("2 seconds")
      expect((yield* Effect.flip(task.await)).code).toBe("TimedOut")
    }).pipe(Effect.provide(NodeURLSession.layer(URLSessionConfiguration.default))))

  it.live("time spent waiting for a slow consumer", () =>
    Effect.gen(function*() {
      const body = Buffer.alloc(4 * 1024 * 1024, "z")
      const server = yield* httpServer((_, response) => response.end(body))
      const { body: stream } = yield* URLSession.bytes(server.url)
      let first = true
      let length = 0
      yield* stream.pipe(Stream.runForEach((chunk) => {
        length += chunk.byteLength
        if (!first) return Effect.void
        first = false
        return Effect.sleep("600 millis") // three idle timeouts long
      }))
      expect(length).toBe(body.length)
    }).pipe(Effect.provide(configured({ timeoutIntervalForRequest: "200 millis" })), Effect.scoped))
})

describe("timeouts (real time)", () => {
  it.live("a sub-second idle timeout fires on a silent server", () =>
    Effect.gen(function*() {
      const server = yield* silentServer
      const error = yield* Effect.flip(URLSession.data(server.url))
      expect(error.code).toBe("TimedOut")
    }).pipe(Effect.provide(configured({ timeoutIntervalForRequest: "200 millis" })), Effect.scoped))

  it.live("every byte re-arms the idle timer: a slow but moving body never times out", () =>
    Effect.gen(function*() {
      const server = yield* tricklingServer(40, 15)
      const { data } = yield* URLSession.data(server.url)
      expect(new TextDecoder().decode(data)).toBe(".".repeat(15))
    }).pipe(Effect.provide(configured({ timeoutIntervalForRequest: "400 millis" })), Effect.scoped))

  it.live("the resource timeout fires even while bytes keep arriving", () =>
    Effect.gen(function*() {
      const server = yield* tricklingServer(40)
      const error = yield* Effect.flip(URLSession.data(server.url))
      expect(error.code).toBe("TimedOut")
      expect(error.message).toContain("resource")
    }).pipe(
      Effect.provide(configured({ timeoutIntervalForRequest: "400 millis", timeoutIntervalForResource: "600 millis" })),
      Effect.scoped
    ))
})
