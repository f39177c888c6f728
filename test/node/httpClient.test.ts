import {
  HttpApi,
  HttpApiClient,
  HttpApiEndpoint,
  HttpApiGroup,
  HttpApiSchema,
  HttpClient,
  HttpClientError,
  HttpClientRequest,
  HttpClientResponse
} from "@effect/platform"
import { describe, expect, it } from "@effect/vitest"
import { URLError, URLSession, URLSessionConfiguration, URLSessionHttpClient } from "@urlsession/core"
import { NodeURLSession } from "@urlsession/node"
import { Deferred, Effect, Exit, Fiber, Option, Schedule, Schema, Stream } from "effect"
import type * as http from "node:http"
import { closedPort, httpServer, readBody, tcpServer } from "../fixtures/servers.js"

const client = NodeURLSession.layerHttpClient(URLSessionConfiguration.default)

// A server of its own for each test (a server value would be listened on again and again).
const echoServer = Effect.suspend(() =>
  httpServer(async (request, response) => {
    const body = await readBody(request)
    response.setHeader("Content-Type", "application/json; charset=utf-8")
    response.setHeader("X-Echo", "yes")
    response.end(JSON.stringify({
      method: request.method,
      url: request.url,
      headers: request.headers,
      body: body.toString("utf8")
    }))
  })
)

const Echo = Schema.Struct({
  method: Schema.String,
  url: Schema.String,
  headers: Schema.Record({ key: Schema.String, value: Schema.String }),
  body: Schema.String
})

/**
 * A server that answers with `respond` (or not at all) and tells when a request has arrived
 * and when its connection has closed.
 */
const watchedServer = (respond: (response: http.ServerResponse) => void = () => {}) =>
  Effect.gen(function*() {
    const received = yield* Deferred.make<void>()
    const closed = yield* Deferred.make<void>()
    const server = yield* httpServer((request, response) => {
      Deferred.unsafeDone(received, Exit.void)
      request.socket.once("close", () => Deferred.unsafeDone(closed, Exit.void))
      respond(response)
    })
    return { url: server.url, received: Deferred.await(received), closed: Deferred.await(closed) }
  })

const failureOf = <A, E>(exit: Exit.Exit<A, E>): E => {
  if (Exit.isSuccess(exit)) throw new Error("expected a failure")
  const failure = exit.cause._tag === "Fail" ? exit.cause.error : undefined
  if (failure === undefined) throw new Error(`expected a typed failure, got ${exit.cause._tag}`)
  return failure
}

describe("HttpClient over a URLSession", () => {
  it.scoped("a GET decodes a JSON body with schemaBodyJson, with status and lower-case headers", () =>
    Effect.gen(function*() {
      const server = yield* echoServer
      const response = yield* HttpClient.get(`${server.url}/users/1`, { headers: { "X-Token": "abc" } })
      expect(response.status).toBe(200)
      expect(response.headers["content-type"]).toBe("application/json; charset=utf-8")
      expect(response.headers["x-echo"]).toBe("yes")
      const echoed = yield* HttpClientResponse.schemaBodyJson(Echo)(response)
      expect(echoed.method).toBe("GET")
      expect(echoed.url).toBe("/users/1")
      expect(echoed.headers["x-token"]).toBe("abc")
    }).pipe(Effect.provide(client)))

  it.scoped("bodyJson sends a POST with a JSON body and its Content-Type", () =>
    Effect.gen(function*() {
      const server = yield* echoServer
      const request = yield* HttpClientRequest.post(`${server.url}/users`).pipe(
        HttpClientRequest.bodyJson({ name: "Ada" })
      )
      const echoed = yield* HttpClient.execute(request).pipe(Effect.flatMap(HttpClientResponse.schemaBodyJson(Echo)))
      expect(echoed.method).toBe("POST")
      expect(echoed.headers["content-type"]).toBe("application/json")
      expect(echoed.headers["content-length"]).toBe("14")
      expect(JSON.parse(echoed.body)).toEqual({ name: "Ada" })
    }).pipe(Effect.provide(client)))

  it.scoped("urlParams are appended to the URL's query; the fragment is not sent", () =>
    Effect.gen(function*() {
      const server = yield* echoServer
      const request = HttpClientRequest.get(`${server.url}/search?a=1#top`).pipe(
        HttpClientRequest.setUrlParams({ q: "a b&c", page: "2" })
      )
      const echoed = yield* HttpClient.execute(request).pipe(Effect.flatMap(HttpClientResponse.schemaBodyJson(Echo)))
      expect(echoed.url).toBe("/search?a=1&q=a+b%26c&page=2")
    }).pipe(Effect.provide(client)))

  it.scoped("a raw string body and an empty body are sent as given", () =>
    Effect.gen(function*() {
      const server = yield* echoServer
      const put = yield* HttpClient.execute(
        HttpClientRequest.put(`${server.url}/note`).pipe(HttpClientRequest.bodyText("hello", "text/plain"))
      ).pipe(Effect.flatMap(HttpClientResponse.schemaBodyJson(Echo)))
      expect(put).toMatchObject({ method: "PUT", body: "hello" })
      expect(put.headers["content-type"]).toBe("text/plain")
      const del = yield* HttpClient.del(`${server.url}/note`).pipe(
        Effect.flatMap(HttpClientResponse.schemaBodyJson(Echo))
      )
      expect(del).toMatchObject({ method: "DELETE", body: "" })
    }).pipe(Effect.provide(client)))

  it.scoped("a FormData body is sent as multipart with its boundary", () =>
    Effect.gen(function*() {
      const server = yield* echoServer
      const form = new FormData()
      form.append("name", "Ada")
      const echoed = yield* HttpClient.execute(
        HttpClientRequest.post(`${server.url}/form`).pipe(HttpClientRequest.bodyFormData(form))
      ).pipe(Effect.flatMap(HttpClientResponse.schemaBodyJson(Echo)))
      const boundary = echoed.headers["content-type"]!.match(/^multipart\/form-data; boundary=(.+)$/)![1]!
      expect(echoed.body).toContain(`--${boundary}\r\nContent-Disposition: form-data; name="name"\r\n\r\nAda\r\n`)
    }).pipe(Effect.provide(client)))

  it.scoped("a Stream body is sent as the request's body stream, chunked", () =>
    Effect.gen(function*() {
      const server = yield* echoServer
      const encoder = new TextEncoder()
      const body = Stream.make("one ", "two ", "three").pipe(Stream.map((part) => encoder.encode(part)))
      const echoed = yield* HttpClient.execute(
        HttpClientRequest.post(`${server.url}/upload`).pipe(HttpClientRequest.bodyStream(body))
      ).pipe(Effect.flatMap(HttpClientResponse.schemaBodyJson(Echo)))
      expect(echoed.body).toBe("one two three")
      expect(echoed.headers["transfer-encoding"]).toBe("chunked")
    }).pipe(Effect.provide(client)))

  it.scoped("filterStatusOk fails a 404 with a ResponseError; without it a 404 is a response", () =>
    Effect.gen(function*() {
      const server = yield* httpServer((_, response) => {
        response.statusCode = 404
        response.end("no such user")
      })
      const response = yield* HttpClient.get(`${server.url}/users/9`)
      expect(response.status).toBe(404)
      expect(yield* response.text).toBe("no such user")
      const error = failureOf(
        yield* Effect.exit(
          HttpClient.get(`${server.url}/users/9`).pipe(
            Effect.flatMap(HttpClientResponse.filterStatusOk)
          )
        )
      )
      expect(error).toBeInstanceOf(HttpClientError.ResponseError)
      expect((error as HttpClientError.ResponseError).reason).toBe("StatusCode")
      expect((error as HttpClientError.ResponseError).response.status).toBe(404)
    }).pipe(Effect.provide(client)))

  it.live("retryTransient retries a refused connection, a Transport error whose cause is the URLError", () =>
    Effect.gen(function*() {
      const port = yield* closedPort
      let attempts = 0
      const retrying = (yield* HttpClient.HttpClient).pipe(
        HttpClient.tapRequest(() => Effect.sync(() => attempts++)),
        HttpClient.retryTransient({ schedule: Schedule.spaced("10 millis"), times: 2 })
      )
      const error = failureOf(yield* Effect.exit(retrying.get(`http://127.0.0.1:${port}/`)))
      expect(attempts).toBe(3)
      expect(error).toBeInstanceOf(HttpClientError.RequestError)
      expect(error.reason).toBe("Transport")
      expect(URLError.isURLError(error.cause)).toBe(true)
      expect((error.cause as URLError.URLError).code).toBe("CannotConnectToHost")
    }).pipe(Effect.provide(client)))

  it.live("a URL no protocol loads is an Encode error, which retryTransient does not retry", () =>
    Effect.gen(function*() {
      let attempts = 0
      const retrying = (yield* HttpClient.HttpClient).pipe(
        HttpClient.tapRequest(() => Effect.sync(() => attempts++)),
        HttpClient.retryTransient({ schedule: Schedule.spaced("10 millis"), times: 2 })
      )
      const error = failureOf(yield* Effect.exit(retrying.get("gopher://127.0.0.1/x")))
      expect(attempts).toBe(1)
      expect(error.reason).toBe("Encode")
      expect((error.cause as URLError.URLError).code).toBe("UnsupportedURL")
    }).pipe(Effect.provide(client)))

  it.scoped("a request body stream that fails is an Encode error with RequestBodyStreamExhausted", () =>
    Effect.gen(function*() {
      const server = yield* echoServer
      const body = Stream.concat(Stream.make(new Uint8Array([1, 2, 3])), Stream.fail("disk gone"))
      const error = failureOf(
        yield* Effect.exit(HttpClient.execute(
          HttpClientRequest.post(`${server.url}/upload`).pipe(HttpClientRequest.bodyStream(body))
        ))
      )
      expect(error.reason).toBe("Encode")
      expect((error.cause as URLError.URLError).code).toBe("RequestBodyStreamExhausted")
    }).pipe(Effect.provide(client)))

  it.scoped("a body cut short is a ResponseError, reason Decode, whose cause is the URLError", () =>
    Effect.gen(function*() {
      const server = yield* tcpServer((socket) => {
        socket.once("data", () => {
          socket.write("HTTP/1.1 200 OK\r\nContent-Length: 100\r\n\r\nonly ten b")
          setTimeout(() => socket.destroy(), 20)
        })
      })
      const response = yield* HttpClient.get(`${server.url}/short`)
      expect(response.status).toBe(200)
      const error = failureOf(yield* Effect.exit(response.text))
      expect(error).toBeInstanceOf(HttpClientError.ResponseError)
      expect(error.reason).toBe("Decode")
      expect((error.cause as URLError.URLError).code).toBe("NetworkConnectionLost")
    }).pipe(Effect.provide(client)))

  it.scopedLive("response.stream streams 1 GiB in flat memory", () =>
    Effect.gen(function*() {
      const total = 1024 * 1024 * 1024
      const piece = Buffer.alloc(64 * 1024, 7)
      const server = yield* httpServer((_, response) => {
        response.writeHead(200, { "Content-Length": String(total), "Content-Type": "application/octet-stream" })
        let sent = 0
        const writeMore = () => {
          while (sent < total) {
            sent += piece.length
            if (!response.write(piece)) return void response.once("drain", writeMore)
          }
          response.end()
        }
        writeMore()
      })
      const before = process.memoryUsage().rss
      let peak = before
      let chunks = 0
      const received = yield* HttpClient.get(`${server.url}/huge`).pipe(
        HttpClientResponse.stream,
        Stream.runFold(0, (count, chunk) => {
          if (++chunks % 256 === 0) peak = Math.max(peak, process.memoryUsage().rss)
          return count + chunk.byteLength
        })
      )
      expect(received).toBe(total)
      // A collected body would add a whole GiB; a streamed one holds a few chunks at a time.
      expect(peak - before).toBeLessThan(256 * 1024 * 1024)
    }).pipe(Effect.provide(client)), 120_000)

  it.scopedLive("interrupting a pending request cancels its task: the server sees the connection close", () =>
    Effect.gen(function*() {
      const server = yield* watchedServer()
      const fiber = yield* Effect.fork(HttpClient.get(`${server.url}/never`))
      yield* server.received
      yield* Fiber.interrupt(fiber)
      yield* server.closed
      expect(yield* URLSession.allTasks).toEqual([])
    }).pipe(Effect.provide(client)))

  it.scopedLive("interrupting a response's stream part way cancels the transfer", () =>
    Effect.gen(function*() {
      const server = yield* watchedServer((response) => {
        response.writeHead(200, { "Content-Type": "application/octet-stream" })
        const piece = Buffer.alloc(16 * 1024, 1)
        const writeMore = () => {
          while (response.write(piece));
          response.once("drain", writeMore)
        }
        writeMore()
      })
      const taken = yield* HttpClient.get(`${server.url}/endless`).pipe(
        HttpClientResponse.stream,
        Stream.take(3),
        Stream.runCount
      )
      expect(taken).toBe(3)
      yield* server.closed
    }).pipe(Effect.provide(client)))

  it.scoped("text decodes the body in the response's charset", () =>
    Effect.gen(function*() {
      const server = yield* httpServer((_, response) => {
        response.setHeader("Content-Type", "text/plain; charset=iso-8859-1")
        response.end(Buffer.from([0x63, 0x61, 0x66, 0xe9]))
      })
      const response = yield* HttpClient.get(`${server.url}/menu`)
      expect(yield* response.text).toBe("café")
      expect(new Uint8Array(yield* response.arrayBuffer)).toEqual(new Uint8Array([0x63, 0x61, 0x66, 0xe9]))
    }).pipe(Effect.provide(client)))

  it.scoped("response.cookies has each Set-Cookie field, a comma in an Expires date included", () =>
    Effect.gen(function*() {
      const server = yield* httpServer((_, response) => {
        response.setHeader("Set-Cookie", [
          "session=abc; Path=/; HttpOnly",
          "theme=dark; Expires=Wed, 21 Oct 2037 07:28:00 GMT; Secure",
          "lang=en"
        ])
        response.end()
      })
      const cookies = (yield* HttpClient.get(server.url)).cookies
      expect(Object.keys(cookies.cookies).sort()).toEqual(["lang", "session", "theme"])
      expect(cookies.cookies.session?.options?.httpOnly).toBe(true)
      expect(cookies.cookies.theme?.value).toBe("dark")
      expect(cookies.cookies.theme?.options?.secure).toBe(true)
      expect(cookies.cookies.theme?.options?.expires?.toISOString()).toBe("2037-10-21T07:28:00.000Z")
    }).pipe(Effect.provide(client)))

  it.scopedLive("a task cancelled before its head is an Encode error with the Cancelled URLError", () =>
    Effect.gen(function*() {
      const server = yield* watchedServer()
      const fiber = yield* Effect.fork(HttpClient.get(`${server.url}/never`))
      yield* server.received
      const [task] = yield* URLSession.allTasks
      yield* task!.cancel
      const error = failureOf(yield* Fiber.await(fiber))
      expect(error.reason).toBe("Encode")
      expect((error.cause as URLError.URLError).code).toBe("Cancelled")
    }).pipe(Effect.provide(client)))

  it.scopedLive("closing the scope of a response from withScope cancels its transfer", () =>
    Effect.gen(function*() {
      const server = yield* watchedServer((response) => {
        response.writeHead(200, { "Content-Type": "text/plain" })
        response.write("the head and a first piece, then nothing")
      })
      const scoped = HttpClient.withScope(yield* HttpClient.HttpClient)
      const status = yield* Effect.scoped(Effect.map(scoped.get(`${server.url}/slow`), (response) => response.status))
      expect(status).toBe(200)
      yield* server.closed
      expect(yield* URLSession.allTasks).toEqual([])
    }).pipe(Effect.provide(client)))

  it.scoped("an HttpApiClient runs over URLSessionHttpClient.layer and a session of one's own", () =>
    Effect.gen(function*() {
      const server = yield* httpServer((request, response) => {
        response.setHeader("Content-Type", "application/json")
        response.end(JSON.stringify({ id: Number(request.url!.split("/").pop()), name: "Ada" }))
      })
      const User = Schema.Struct({ id: Schema.Number, name: Schema.String })
      const id = HttpApiSchema.param("id", Schema.NumberFromString)
      const api = HttpApi.make("api").add(
        HttpApiGroup.make("users").add(HttpApiEndpoint.get("user")`/users/${id}`.addSuccess(User))
      )
      const apiClient = yield* HttpApiClient.make(api, { baseUrl: server.url })
      expect(yield* apiClient.users.user({ path: { id: 7 } })).toEqual({ id: 7, name: "Ada" })
    }).pipe(
      Effect.provide(URLSessionHttpClient.layer),
      Effect.provide(NodeURLSession.layer(URLSessionConfiguration.ephemeral))
    ))

  it.scoped("a response of another scheme has status 200 and its type as Content-Type", () =>
    Effect.gen(function*() {
      const response = yield* HttpClient.get("data:text/plain;charset=utf-8,hello")
      expect(response.status).toBe(200)
      expect(response.headers["content-type"]).toBe("text/plain; charset=utf-8")
      expect(yield* response.text).toBe("hello")
      expect(Option.isNone(response.remoteAddress)).toBe(true)
    }).pipe(Effect.provide(client)))
})
