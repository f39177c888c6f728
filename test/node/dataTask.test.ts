import { describe, expect, it } from "@effect/vitest"
import { URLRequest, URLResponse, URLSession, URLSessionConfiguration } from "@urlsession/core"
import { NodeURLSession } from "@urlsession/node"
import { Chunk, Effect, Option, Stream } from "effect"
import { closedPort, httpServer, readBody } from "../fixtures/servers.js"

const text = (data: Uint8Array) => new TextDecoder().decode(data)
const session = NodeURLSession.layer(URLSessionConfiguration.default)

const echoServer = httpServer(async (request, response) => {
  const body = await readBody(request)
  response.setHeader("Content-Type", "application/json; charset=utf-8")
  response.end(JSON.stringify({
    method: request.method,
    url: request.url,
    headers: request.headers,
    rawHeaders: request.rawHeaders,
    body: body.toString("utf8")
  }))
})

describe("data tasks over HTTP", () => {
  it.scoped("a GET delivers the body and the response head", () =>
    Effect.gen(function*() {
      const server = yield* echoServer
      const { data, response } = yield* URLSession.data(`${server.url}/hello?x=1`)
      const echoed = JSON.parse(text(data))
      expect(echoed.method).toBe("GET")
      expect(echoed.url).toBe("/hello?x=1")
      expect(URLResponse.isHTTPURLResponse(response)).toBe(true)
      const http = response as URLResponse.HTTPURLResponse
      expect(http.statusCode).toBe(200)
      expect(http.url).toBe(`${server.url}/hello?x=1`)
      expect(http.mimeType).toEqual(Option.some("application/json"))
      expect(http.textEncodingName).toEqual(Option.some("utf-8"))
      expect(http.expectedContentLength).toBe(data.byteLength)
      expect(http.value("CONTENT-TYPE")).toEqual(Option.some("application/json; charset=utf-8"))
    }).pipe(Effect.provide(session)))

  it.scoped("a task keeps the description the app gives it, and gives none until then", () =>
    Effect.gen(function*() {
      const server = yield* echoServer
      const task = yield* URLSession.dataTask(`${server.url}/described`)
      expect(yield* task.taskDescription).toEqual(Option.none())
      yield* task.setTaskDescription(Option.some("nightly report"))
      yield* task.resume
      yield* task.await
      expect(yield* task.taskDescription).toEqual(Option.some("nightly report"))
    }).pipe(Effect.provide(session)))

  it.scoped("404 and 500 are responses, not failures", () =>
    Effect.gen(function*() {
      const server = yield* httpServer((request, response) => {
        response.statusCode = Number(request.url!.slice(1))
        response.end(`status ${request.url!.slice(1)}`)
      })
      for (const status of [404, 500]) {
        const { data, response } = yield* URLSession.data(`${server.url}/${status}`)
        expect((response as URLResponse.HTTPURLResponse).statusCode).toBe(status)
        expect(text(data)).toBe(`status ${status}`)
      }
    }).pipe(Effect.provide(session)))

  it.scoped("a POST sends its method, headers and body", () =>
    Effect.gen(function*() {
      const server = yield* echoServer
      const request = URLRequest.make(`${server.url}/submit`).pipe(
        URLRequest.setMethod("post"),
        URLRequest.setHeader("Content-Type", "text/plain"),
        URLRequest.setBody("héllo")
      )
      const echoed = JSON.parse(text((yield* URLSession.data(request)).data))
      expect(echoed.method).toBe("POST")
      expect(echoed.headers["content-type"]).toBe("text/plain")
      expect(echoed.body).toBe("héllo")
    }).pipe(Effect.provide(session)))

  it.scoped("httpAdditionalHeaders go under the request's own fields, whose spelling wins", () =>
    Effect.gen(function*() {
      const server = yield* echoServer
      const request = URLRequest.make(server.url).pipe(URLRequest.setHeader("x-Shared", "from request"))
      const echoed = JSON.parse(text((yield* URLSession.data(request)).data))
      expect(echoed.headers["x-shared"]).toBe("from request")
      expect(echoed.headers["x-session"]).toBe("from session")
      expect(echoed.rawHeaders).toContain("x-Shared")
      expect(echoed.rawHeaders).not.toContain("X-SHARED")
    }).pipe(Effect.provide(NodeURLSession.layer(URLSessionConfiguration.default.pipe(
      URLSessionConfiguration.with({
        httpAdditionalHeaders: { "X-Shared": "from session", "X-Session": "from session" }
      })
    )))))

  it.scoped("a task starts suspended, runs on resume, and reports its progress", () =>
    Effect.gen(function*() {
      const server = yield* httpServer((_, response) => response.end("x".repeat(1000)))
      const task = yield* URLSession.dataTask(`${server.url}/file`)
      const other = yield* URLSession.dataTask(`${server.url}/other`)
      expect(other.taskIdentifier).toBe(task.taskIdentifier + 1)
      expect(yield* task.state).toBe("suspended")
      expect(yield* task.response).toEqual(Option.none())
      expect(yield* task.countOfBytesExpectedToReceive).toBe(-1)
      expect(yield* URLSession.allTasks).toEqual([])
      yield* task.resume
      expect(yield* task.state).toBe("running")
      expect((yield* URLSession.allTasks).map((t) => t.taskIdentifier)).toEqual([task.taskIdentifier])
      const { data } = yield* task.await
      expect(data.byteLength).toBe(1000)
      expect(yield* task.state).toBe("completed")
      expect(yield* task.countOfBytesReceived).toBe(1000)
      expect(yield* task.countOfBytesExpectedToReceive).toBe(1000)
      expect(Option.isSome(yield* task.response)).toBe(true)
      expect(task.originalRequest.url).toBe(`${server.url}/file`)
      expect((yield* task.currentRequest).url).toBe(`${server.url}/file`)
      expect(yield* URLSession.allTasks).toEqual([])
      yield* task.resume // a completed task stays completed
      expect(yield* task.state).toBe("completed")
    }).pipe(Effect.provide(session)))

  it.scoped("connections are kept alive and reused", () =>
    Effect.gen(function*() {
      const server = yield* httpServer((_, response) => response.end("ok"))
      for (let i = 0; i < 10; i++) yield* URLSession.data(server.url)
      // undici's pool may open a second connection for a request sent in the same tick as the
      // previous response ends (the first is not marked idle yet); after that both are reused.
      expect(server.connections.accepted()).toBeLessThanOrEqual(2)
      expect(server.connections.open()).toBe(server.connections.accepted())
    }).pipe(Effect.provide(session)))

  const concurrentLoads = (limit: number | undefined) =>
    Effect.gen(function*() {
      const server = yield* httpServer((_, response) => {
        setTimeout(() => response.end("done"), 30)
      })
      const results = yield* Effect.forEach(
        Array.from({ length: 20 }, (_, i) => `${server.url}/${i}`),
        (url) => URLSession.data(url),
        { concurrency: "unbounded" }
      )
      expect(results.map(({ data }) => text(data))).toEqual(Array(20).fill("done"))
      return server.connections.maxOpen()
    }).pipe(Effect.provide(NodeURLSession.layer(
      limit === undefined
        ? URLSessionConfiguration.default
        : URLSessionConfiguration.default.pipe(URLSessionConfiguration.with({ httpMaximumConnectionsPerHost: limit }))
    )))

  it.scoped("20 concurrent tasks to one host open at most 6 connections by default", () =>
    Effect.gen(function*() {
      expect(yield* concurrentLoads(undefined)).toBe(6)
    }))

  it.scoped("httpMaximumConnectionsPerHost caps the connections to one host", () =>
    Effect.gen(function*() {
      expect(yield* concurrentLoads(2)).toBe(2)
    }))

  it.scoped("bytes gives the response head, then the body as a stream", () =>
    Effect.gen(function*() {
      const server = yield* httpServer((_, response) => {
        response.writeHead(201, { "Content-Type": "text/plain" })
        response.write("first,")
        setTimeout(() => response.end("second"), 20)
      })
      const { body, response } = yield* URLSession.bytes(server.url)
      expect((response as URLResponse.HTTPURLResponse).statusCode).toBe(201)
      const chunks = yield* Stream.runCollect(body)
      expect(Chunk.toArray(chunks).map(text).join("")).toBe("first,second")
    }).pipe(Effect.provide(session)))

  it.scoped("bytes fails with the load's error when no response arrives", () =>
    Effect.gen(function*() {
      const url = `http://127.0.0.1:${yield* closedPort}/`
      const error = yield* Effect.flip(URLSession.bytes(url))
      expect(error.code).toBe("CannotConnectToHost")
    }).pipe(Effect.provide(session)))

  it.scoped("bytes: a body cut short fails the stream with NetworkConnectionLost", () =>
    Effect.gen(function*() {
      const server = yield* httpServer((_, response) => {
        response.writeHead(200, { "Content-Length": "100000" })
        response.write("x".repeat(1000), () => response.socket!.destroy())
      })
      const { body } = yield* URLSession.bytes(server.url)
      const error = yield* Effect.flip(Stream.runDrain(body))
      expect(error.code).toBe("NetworkConnectionLost")
    }).pipe(Effect.provide(session)))
})
