import { describe, expect, it } from "@effect/vitest"
import { URLError, URLRequest, URLSession, URLSessionConfiguration, type URLSessionEvent } from "@urlsession/core"
import { NodeURLSession } from "@urlsession/node"
import { Chunk, Effect, Fiber, Stream } from "effect"
import { closedPort, httpServer, tcpServer } from "../fixtures/servers.js"

const session = NodeURLSession.layer(URLSessionConfiguration.default)

/** The failure of a load that must fail, and every event its task sent. */
const failureAndEvents = (url: string) =>
  Effect.gen(function*() {
    const task = yield* URLSession.dataTask(url)
    const observed = yield* task.events.pipe(Stream.runCollect, Effect.fork)
    yield* task.resume
    const error = yield* Effect.flip(task.await)
    const events: ReadonlyArray<URLSessionEvent.TaskEvent> = Chunk.toArray(yield* Fiber.join(observed))
    return { error, events }
  })

// A server that sends a head and part of the body it announced, then closes.
const cutShort = httpServer((request, response) => {
  response.writeHead(200, { "Content-Length": "10" })
  response.write("abc", () => request.socket.destroy())
})

describe("the messages of failures from real servers", () => {
  it.scoped("a connection lost says so and for which URL; undici's words are in the cause", () =>
    Effect.gen(function*() {
      const server = yield* cutShort
      const url = `${server.url}/x`
      const { error } = yield* failureAndEvents(url)
      expect(error.code).toBe("NetworkConnectionLost")
      expect(error.message).toBe(`The connection was lost while loading ${url}`)
      expect(String(error)).toBe(`URLError [NetworkConnectionLost -1005]: The connection was lost while loading ${url}`)
      expect(error.cause).toBeInstanceOf(Error)
      expect(error.message).not.toContain((error.cause as Error).message)
    }).pipe(Effect.provide(session)))

  it.scoped("a refused connection says so and for which URL", () =>
    Effect.gen(function*() {
      const url = `http://127.0.0.1:${yield* closedPort}/`
      const error = yield* Effect.flip(URLSession.data(url))
      expect(error.message).toBe(`Could not connect to the server while loading ${url}`)
      expect((error.cause as NodeJS.ErrnoException).code ?? "").toMatch(/ECONNREFUSED|^$/)
    }).pipe(Effect.provide(session)))

  it.scoped("a failure of our own making adds its reason in plain words", () =>
    Effect.gen(function*() {
      const server = yield* httpServer((request, response) => {
        request.resume()
        request.on("end", () => response.end())
      })
      const url = `${server.url}/upload`
      const request = URLRequest.make(url).pipe(URLRequest.setHeader("Content-Length", "10"))
      const error = yield* Effect.flip(URLSession.upload(request, Stream.make(new Uint8Array(3))))
      expect(error.message).toBe(
        `The request body stream could not be sent while loading ${url}: the body stream ended after 3 of its declared 10 bytes`
      )
    }).pipe(Effect.provide(session)))

  it.scoped("a response that is not HTTP says so in the code's words and for which URL", () =>
    Effect.gen(function*() {
      const server = yield* tcpServer((socket) => {
        socket.on("error", () => {})
        socket.once("data", () => socket.end("HTTP/1.1 abc Nope\r\n\r\n"))
      })
      const url = `${server.url}/`
      const error = yield* Effect.flip(URLSession.data(url))
      expect(error.message.startsWith(`${URLError.descriptions[error.code]} while loading ${url}`)).toBe(true)
    }).pipe(Effect.provide(session)))
})

describe("a password in the URL's user info", () => {
  it.scoped("never shows in the error's message, its failingURL, or the completion event", () =>
    Effect.gen(function*() {
      const server = yield* cutShort
      const url = `${server.url.replace("http://", "http://alice:s3cret@")}/x`
      const { error, events } = yield* failureAndEvents(url)
      expect(error.code).toBe("NetworkConnectionLost")
      expect(error.failingURL).toBe(`${server.url.replace("http://", "http://alice:***@")}/x`)
      expect(error.message).toBe(`The connection was lost while loading ${error.failingURL}`)
      const completion = events.filter((event) => event._tag === "DidCompleteWithError")
      expect(completion).toHaveLength(1)
      expect(JSON.stringify(completion[0])).toContain("alice:***@")
      expect(JSON.stringify(completion[0])).not.toContain("s3cret")
    }).pipe(Effect.provide(session)))

  // Not yet: the responses and redirect requests in events carry the URL as it was asked for.
  // When URLResponse.fromHTTPHead and the redirect's new request hide the password, this
  // passes and `.fails` goes.
  it.scoped("never shows in any event, redirects included", () =>
    Effect.gen(function*() {
      const server = yield* httpServer((request, response) => {
        if (request.url === "/x") return void response.writeHead(302, { Location: "/y" }).end()
        response.writeHead(200, { "Content-Length": "10" })
        response.write("abc", () => request.socket.destroy())
      })
      const { events } = yield* failureAndEvents(`${server.url.replace("http://", "http://alice:s3cret@")}/x`)
      expect(events.map((event) => event._tag)).toContain("WillPerformHTTPRedirection")
      for (const event of events) expect(JSON.stringify(event)).not.toContain("s3cret")
    }).pipe(Effect.provide(session)))
})
