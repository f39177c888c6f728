import { describe, expect, it } from "@effect/vitest"
import { URLError, URLRequest, URLSession, URLSessionConfiguration } from "@urlsession/core"
import { NodeURLSession } from "@urlsession/node"
import { Cause, Effect, Exit, Schema, Stream } from "effect"
import * as fs from "node:fs"
import * as path from "node:path"
import { tempDirectory } from "../fixtures/files.js"
import { httpServer } from "../fixtures/servers.js"

/** What the echo server saw of a request. */
const Seen = Schema.Struct({
  method: Schema.String,
  url: Schema.String,
  headers: Schema.Record({ key: Schema.String, value: Schema.String }),
  body: Schema.String
})

/** Answers every request with what it saw, as JSON, and counts requests. */
const echoServer = Effect.gen(function*() {
  let requests = 0
  const server = yield* httpServer((request, response) => {
    requests++
    const chunks: Array<Buffer> = []
    request.on("data", (chunk: Buffer) => chunks.push(chunk))
    request.on("end", () => {
      response.writeHead(200, { "Content-Type": "application/json" })
      response.end(JSON.stringify({
        method: request.method,
        url: request.url,
        headers: request.headers,
        body: Buffer.concat(chunks).toString("utf8")
      }))
    })
  })
  return { ...server, requests: () => requests }
})

const seen = (result: { readonly data: Uint8Array }) =>
  Schema.decodeUnknownSync(Schema.parseJson(Seen))(new TextDecoder().decode(result.data))

const session = NodeURLSession.layer(URLSessionConfiguration.default)

describe("request options on the session's methods", () => {
  it.scoped("data sends the method, header fields, query and JSON body it is given", () =>
    Effect.gen(function*() {
      const server = yield* echoServer
      const result = yield* URLSession.data(`${server.url}/users?active=1#ignored`, {
        method: "POST",
        headers: { "X-Trace": "t-1" },
        query: { name: "Ada Lovelace", tag: ["a", "b"] },
        json: { id: 7 },
        timeout: "5 seconds"
      })
      const request = seen(result)
      expect(request.method).toBe("POST")
      expect(request.url).toBe("/users?active=1&name=Ada+Lovelace&tag=a&tag=b")
      expect(request.headers["x-trace"]).toBe("t-1")
      expect(request.headers["content-type"]).toBe("application/json")
      expect(request.body).toBe(`{"id":7}`)
      expect(result.response.url).toBe(`${server.url}/users?active=1&name=Ada+Lovelace&tag=a&tag=b#ignored`)
    }).pipe(Effect.provide(session)))

  it.scoped("a stream body in the options form is sent chunked", () =>
    Effect.gen(function*() {
      const server = yield* echoServer
      const body = Stream.make("one,", "two").pipe(Stream.encodeText)
      const request = seen(yield* URLSession.data(server.url, { method: "PUT", body }))
      expect(request.method).toBe("PUT")
      expect(request.headers["transfer-encoding"]).toBe("chunked")
      expect(request.body).toBe("one,two")
    }).pipe(Effect.provide(session)))

  it.scoped("upload is a POST with the options' header fields and query, and the body given apart", () =>
    Effect.gen(function*() {
      const server = yield* echoServer
      const request = seen(
        yield* URLSession.upload(server.url, new TextEncoder().encode("bytes"), {
          headers: { "Content-Type": "text/plain" },
          query: { part: 1 }
        })
      )
      expect(request.method).toBe("POST")
      expect(request.url).toBe("/?part=1")
      expect(request.headers["content-type"]).toBe("text/plain")
      expect(request.body).toBe("bytes")
    }).pipe(Effect.provide(session)))

  it.scoped("download sends the options' request and still moves the file to `to`", () =>
    Effect.gen(function*() {
      const server = yield* echoServer
      const directory = yield* tempDirectory
      const to = path.join(directory, "seen.json")
      const result = yield* URLSession.download(`${server.url}/file`, {
        to,
        headers: { Authorization: "Bearer t" },
        query: { v: 3 }
      })
      expect(result.location).toBe(to)
      const request = seen({ data: fs.readFileSync(to) })
      expect([request.method, request.url, request.headers.authorization]).toEqual(["GET", "/file?v=3", "Bearer t"])
    }).pipe(Effect.provide(session)))

  it.scoped("a value with no JSON form is a defect of the call, and nothing is sent", () =>
    Effect.gen(function*() {
      const server = yield* echoServer
      const exit = yield* Effect.exit(URLSession.data(server.url, { method: "POST", json: { big: 1n } }))
      expect(Exit.isFailure(exit) && Cause.isDie(exit.cause)).toBe(true)
      expect(server.requests()).toBe(0)
    }).pipe(Effect.provide(session)))
})

describe("relative URLs", () => {
  it.scoped("are resolved against the configuration's baseURL, for data, bytes and download alike", () =>
    Effect.gen(function*() {
      const server = yield* echoServer
      const configuration = URLSessionConfiguration.default.pipe(
        URLSessionConfiguration.with({ baseURL: `${server.url}/api/v1/` })
      )
      yield* Effect.gen(function*() {
        expect(seen(yield* URLSession.data("users/7", { query: { full: true } })).url).toBe("/api/v1/users/7?full=true")
        expect(seen(yield* URLSession.data("/health")).url).toBe("/health")
        const streamed = yield* URLSession.bytes("stream")
        expect(streamed.response.url).toBe(`${server.url}/api/v1/stream`)
        const task = yield* URLSession.downloadTask("files/a")
        expect(task.originalRequest.url).toBe(`${server.url}/api/v1/files/a`)
        yield* task.cancel
        // An absolute URL is not touched by the base.
        const other = yield* echoServer
        expect(seen(yield* URLSession.data(`${other.url}/x`)).url).toBe("/x")
        expect(other.requests()).toBe(1)
      }).pipe(Effect.provide(NodeURLSession.layer(configuration)))
    }))

  it.scoped("a request's own relativeTo wins over the session's baseURL", () =>
    Effect.gen(function*() {
      const server = yield* echoServer
      const configuration = URLSessionConfiguration.default.pipe(
        URLSessionConfiguration.with({ baseURL: "http://127.0.0.1:1/unused/" })
      )
      const result = yield* URLSession.data("items", { relativeTo: `${server.url}/shop/` }).pipe(
        Effect.provide(NodeURLSession.layer(configuration))
      )
      expect(seen(result).url).toBe("/shop/items")
    }))

  it.scoped("without a base, a relative URL fails its task with BadURL naming what was written", () =>
    Effect.gen(function*() {
      const error = yield* Effect.flip(URLSession.data("users/7"))
      expect(error).toBeInstanceOf(URLError.URLError)
      expect(error.code).toBe("BadURL")
      expect(error.failingURL).toBe("users/7")
    }).pipe(Effect.provide(session)))

  it.scoped("a URLRequest made elsewhere is resolved too, keeping its fields", () =>
    Effect.gen(function*() {
      const server = yield* echoServer
      const configuration = URLSessionConfiguration.default.pipe(
        URLSessionConfiguration.with({ baseURL: `${server.url}/v2/` })
      )
      const request = URLRequest.make("things", { method: "DELETE", headers: { "If-Match": "\"e1\"" } })
      const result = yield* URLSession.data(request).pipe(Effect.provide(NodeURLSession.layer(configuration)))
      const sent = seen(result)
      expect([sent.method, sent.url, sent.headers["if-match"]]).toEqual(["DELETE", "/v2/things", "\"e1\""])
    }))
})
