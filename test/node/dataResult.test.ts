import { describe, expect, it } from "@effect/vitest"
import { DataResult, URLResponse, URLSession, URLSessionConfiguration } from "@urlsession/core"
import { NodeURLSession } from "@urlsession/node"
import { Effect, ParseResult, Schema } from "effect"
import { httpServer } from "../fixtures/servers.js"

const session = NodeURLSession.layer(URLSessionConfiguration.default)

/** A server answering every request with `status`, a Content-Type and `body`. */
const answering = (status: number, contentType: string, body: Buffer | string) =>
  httpServer((_, response) => {
    response.writeHead(status, { "Content-Type": contentType })
    response.end(body)
  })

const User = Schema.Struct({ id: Schema.Number, name: Schema.String })

/** Loads `url`; a `URLError` is a defect here, so what fails is the helper under test. */
const load = (url: string) => URLSession.data(url).pipe(Effect.orDie)

describe("DataResult", () => {
  it.scoped("text decodes a UTF-8 body", () =>
    Effect.gen(function*() {
      const server = yield* answering(200, "text/plain; charset=utf-8", "grüße, 世界")
      const body = yield* URLSession.data(server.url).pipe(Effect.flatMap(DataResult.text))
      expect(body).toBe("grüße, 世界")
    }).pipe(Effect.provide(session)))

  it.scoped("text decodes by the response's charset: ISO-8859-1", () =>
    Effect.gen(function*() {
      const server = yield* answering(200, "text/plain; charset=ISO-8859-1", Buffer.from([0x63, 0x61, 0x66, 0xe9]))
      const body = yield* URLSession.data(server.url).pipe(Effect.flatMap(DataResult.text))
      expect(body).toBe("café")
    }).pipe(Effect.provide(session)))

  it.scoped("text without a charset is UTF-8", () =>
    Effect.gen(function*() {
      const server = yield* answering(200, "text/plain", "naïve")
      expect(yield* URLSession.data(server.url).pipe(Effect.flatMap(DataResult.text))).toBe("naïve")
    }).pipe(Effect.provide(session)))

  it.scoped("an unknown charset fails with BodyDecodeError UnknownCharset", () =>
    Effect.gen(function*() {
      const server = yield* answering(200, "text/plain; charset=x-no-such-charset", "hello")
      const error = yield* load(server.url).pipe(Effect.flatMap(DataResult.text), Effect.flip)
      expect(error._tag).toBe("BodyDecodeError")
      expect(error.reason).toBe("UnknownCharset")
      expect(error.message).toBe(`The body of ${server.url}/ is in charset "x-no-such-charset", which is not supported`)
    }).pipe(Effect.provide(session)))

  it.scoped("bytes not valid in the charset fail with BodyDecodeError MalformedText", () =>
    Effect.gen(function*() {
      const server = yield* answering(200, "text/plain; charset=utf-8", Buffer.from([0x61, 0xff, 0x62]))
      const error = yield* load(server.url).pipe(Effect.flatMap(DataResult.text), Effect.flip)
      expect(error.reason).toBe("MalformedText")
      expect(error.message).toBe(`The body of ${server.url}/ is not valid utf-8 text`)
    }).pipe(Effect.provide(session)))

  it.scoped("json parses the body", () =>
    Effect.gen(function*() {
      const server = yield* answering(200, "application/json", JSON.stringify({ id: 7, tags: ["a", "b"] }))
      expect(yield* URLSession.data(server.url).pipe(Effect.flatMap(DataResult.json))).toEqual({
        id: 7,
        tags: ["a", "b"]
      })
    }).pipe(Effect.provide(session)))

  it.scoped("a body that is not JSON fails with BodyDecodeError MalformedJson", () =>
    Effect.gen(function*() {
      const server = yield* answering(200, "application/json", "{not json")
      const error = yield* load(server.url).pipe(Effect.flatMap(DataResult.json), Effect.flip)
      expect(error.reason).toBe("MalformedJson")
      expect(error.response.url).toBe(`${server.url}/`)
    }).pipe(Effect.provide(session)))

  it.scoped("schemaJson decodes a matching body", () =>
    Effect.gen(function*() {
      const server = yield* answering(200, "application/json", JSON.stringify({ id: 7, name: "Ada" }))
      const user = yield* URLSession.data(server.url).pipe(Effect.flatMap(DataResult.schemaJson(User)))
      expect(user).toEqual({ id: 7, name: "Ada" })
      const direct = yield* URLSession.data(server.url).pipe(
        Effect.flatMap((result) => DataResult.schemaJson(result, User))
      )
      expect(direct).toEqual({ id: 7, name: "Ada" })
    }).pipe(Effect.provide(session)))

  it.scoped("a body the schema does not match fails with BodySchemaError carrying the ParseError", () =>
    Effect.gen(function*() {
      const server = yield* answering(200, "application/json", JSON.stringify({ id: "7", name: "Ada" }))
      const error = yield* load(server.url).pipe(Effect.flatMap(DataResult.schemaJson(User)), Effect.flip)
      expect(error._tag).toBe("BodySchemaError")
      if (error._tag !== "BodySchemaError") return
      expect(ParseResult.isParseError(error.error)).toBe(true)
      expect(error.message).toContain(`The body of ${server.url}/ does not match the schema`)
      expect(error.message).toContain(`["id"]`)
    }).pipe(Effect.provide(session)))

  it.scoped("404 fails filterStatusOk with a StatusCodeError carrying the response and body", () =>
    Effect.gen(function*() {
      const server = yield* answering(404, "application/json", JSON.stringify({ error: "no such user" }))
      const url = `${server.url}/users/7`
      const error = yield* load(url).pipe(Effect.flatMap(DataResult.filterStatusOk), Effect.flip)
      expect(error._tag).toBe("StatusCodeError")
      expect(error.response.statusCode).toBe(404)
      expect(new TextDecoder().decode(error.data)).toBe(`{"error":"no such user"}`)
      expect(error.message).toBe(`${url} answered 404 Not Found`)
    }).pipe(Effect.provide(session)))

  it.scoped("StatusCodeError can be caught by its tag and its body read", () =>
    Effect.gen(function*() {
      const server = yield* answering(500, "text/plain; charset=utf-8", "database down")
      const outcome = yield* URLSession.data(server.url).pipe(
        Effect.flatMap(DataResult.filterStatusOk),
        Effect.flatMap(DataResult.schemaJson(User)),
        Effect.map((user) => user.name),
        Effect.catchTag("StatusCodeError", (error) =>
          DataResult.text({ data: error.data, response: error.response }).pipe(Effect.map((text) =>
            `failed: ${text}`
          )))
      )
      expect(outcome).toBe("failed: database down")
    }).pipe(Effect.provide(session)))

  it.scoped("200 passes filterStatusOk unchanged", () =>
    Effect.gen(function*() {
      const server = yield* answering(200, "application/json", JSON.stringify({ id: 1, name: "Grace" }))
      const user = yield* URLSession.data(server.url).pipe(
        Effect.flatMap(DataResult.filterStatusOk),
        Effect.flatMap(DataResult.schemaJson(User))
      )
      expect(user).toEqual({ id: 1, name: "Grace" })
    }).pipe(Effect.provide(session)))

  it.scoped("a 404 is still a response without filterStatusOk", () =>
    Effect.gen(function*() {
      const server = yield* answering(404, "text/plain", "missing")
      const result = yield* URLSession.data(server.url)
      expect(URLResponse.isHTTPURLResponse(result.response) && result.response.statusCode).toBe(404)
      expect(yield* DataResult.text(result)).toBe("missing")
    }).pipe(Effect.provide(session)))

  it.scoped("a response of another scheme (data:) passes filterStatusOk", () =>
    Effect.gen(function*() {
      const text = yield* URLSession.data("data:text/plain;charset=utf-8,caf%C3%A9").pipe(
        Effect.flatMap(DataResult.filterStatusOk),
        Effect.flatMap(DataResult.text)
      )
      expect(text).toBe("café")
    }).pipe(Effect.provide(session)))
})
