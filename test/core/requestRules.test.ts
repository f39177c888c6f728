import { describe, expect, it } from "@effect/vitest"
import { URLRequest, URLSessionConfiguration } from "@urlsession/core"
import { Effect, Exit, Option, Stream } from "effect"
import { defaultUserAgent, frame, prepare } from "../../packages/core/src/internal/requestRules.js"

// The request rules as a function: a request and the session's configuration in, the request
// as it goes on the wire out. test/node/requestRules.test.ts checks what a server receives.

const configuration = (httpAdditionalHeaders: Record<string, string> = {}) =>
  URLSessionConfiguration.default.pipe(URLSessionConfiguration.with({ httpAdditionalHeaders }))

const headersSent = (
  request: URLRequest.URLRequest,
  options: { readonly additional?: Record<string, string>; readonly crossOrigin?: boolean } = {}
) =>
  Effect.map(
    prepare(request, configuration(options.additional), { crossOrigin: options.crossOrigin ?? false }),
    (prepared) => prepared.headers
  )

const get = URLRequest.make("http://a.example/")

describe("request rules", () => {
  it("the default User-Agent is urlsession/0.1.0", () => {
    expect(defaultUserAgent).toBe("urlsession/0.1.0")
  })

  it.effect("User-Agent is sent when the request has none; a request's own, in any case, wins", () =>
    Effect.gen(function*() {
      expect(yield* headersSent(get)).toEqual({ "User-Agent": "urlsession/0.1.0" })
      expect(yield* headersSent(URLRequest.setHeader(get, "user-agent", "mine/1.0"))).toEqual({
        "user-agent": "mine/1.0"
      })
    }))

  it.effect("the session's additional fields go under the request's own, whose spelling wins", () =>
    Effect.gen(function*() {
      const request = URLRequest.setHeaders(get, { accept: "text/plain" })
      const headers = yield* headersSent(request, { additional: { Accept: "*/*", "X-Session": "1" } })
      expect(headers).toEqual({ accept: "text/plain", "X-Session": "1", "User-Agent": "urlsession/0.1.0" })
    }))

  it.effect("the session's User-Agent wins over the default", () =>
    Effect.gen(function*() {
      expect(yield* headersSent(get, { additional: { "User-Agent": "session/2.0" } })).toEqual({
        "User-Agent": "session/2.0"
      })
    }))

  it.effect("once a redirect has left the original origin, the session's credentials are not sent", () =>
    Effect.gen(function*() {
      const additional = {
        Authorization: "Basic dTpw",
        "proxy-authorization": "Basic cDpx",
        Cookie: "id=1",
        "X-Session": "1"
      }
      expect(yield* headersSent(get, { additional, crossOrigin: true })).toEqual({
        "X-Session": "1",
        "User-Agent": "urlsession/0.1.0"
      })
      expect(yield* headersSent(get, { additional, crossOrigin: false })).toEqual({
        ...additional,
        "User-Agent": "urlsession/0.1.0"
      })
    }))

  it.effect("a request's own credentials are its own: kept on a cross-origin hop here", () =>
    Effect.gen(function*() {
      const request = URLRequest.setHeader(get, "Authorization", "Bearer own")
      expect(yield* headersSent(request, { crossOrigin: true })).toEqual({
        Authorization: "Bearer own",
        "User-Agent": "urlsession/0.1.0"
      })
    }))

  it.effect("a POST with a body and no Content-Type is sent as a form", () =>
    Effect.gen(function*() {
      const post = get.pipe(URLRequest.setMethod("POST"), URLRequest.setBody("a=1"))
      expect((yield* headersSent(post))["Content-Type"]).toBe("application/x-www-form-urlencoded")
      const streamed = get.pipe(
        URLRequest.setMethod("POST"),
        URLRequest.setBodyStream(Stream.make(new Uint8Array([1])))
      )
      expect((yield* headersSent(streamed))["Content-Type"]).toBe("application/x-www-form-urlencoded")
    }))

  it.effect("a POST's own Content-Type, in any case, is kept", () =>
    Effect.gen(function*() {
      const post = get.pipe(
        URLRequest.setMethod("POST"),
        URLRequest.setBody("{}"),
        URLRequest.setHeader("content-type", "application/json")
      )
      expect(yield* headersSent(post)).toEqual({ "content-type": "application/json", "User-Agent": "urlsession/0.1.0" })
    }))

  it.effect("an empty POST, and a PUT with a body, get no Content-Type", () =>
    Effect.gen(function*() {
      const empty = get.pipe(URLRequest.setMethod("POST"), URLRequest.setBody(""))
      expect(yield* headersSent(empty)).toEqual({ "User-Agent": "urlsession/0.1.0" })
      const put = get.pipe(URLRequest.setMethod("PUT"), URLRequest.setBody("a=1"))
      expect(yield* headersSent(put)).toEqual({ "User-Agent": "urlsession/0.1.0" })
    }))

  it.effect("a GET with a body, or a body stream, fails with DataLengthExceedsMaximum", () =>
    Effect.gen(function*() {
      for (const request of [URLRequest.setBody(get, "x"), URLRequest.setBodyStream(get, Stream.empty)]) {
        const error = yield* Effect.flip(prepare(request, configuration(), { crossOrigin: false }))
        expect(error.code).toBe("DataLengthExceedsMaximum")
        expect(error.failingURL).toBe("http://a.example/")
        expect(error.message).toBe(
          "The data is longer than allowed while loading http://a.example/: a GET request cannot have a body"
        )
      }
    }))

  it.effect("a GET with an empty body is sent", () =>
    Effect.gen(function*() {
      const exit = yield* Effect.exit(prepare(URLRequest.setBody(get, ""), configuration(), { crossOrigin: false }))
      expect(Exit.isSuccess(exit)).toBe(true)
    }))

  it.effect.each(
    [
      ["a value with CR LF", { "X-Test": "a\r\nInjected: yes" }, "X-Test"],
      ["a value with LF", { "X-Test": "a\nb" }, "X-Test"],
      ["a value with NUL", { "X-Test": "a\0b" }, "X-Test"],
      ["a name with CR", { "X-\rTest": "a" }, "X-\rTest"]
    ] as const
  )("a header field with %s fails with BadURL naming the field", ([, headers, name]) =>
    Effect.gen(function*() {
      const error = yield* Effect.flip(
        prepare(URLRequest.setHeaders(get, headers), configuration(), { crossOrigin: false })
      )
      expect(error.code).toBe("BadURL")
      expect(error.failingURL).toBe("http://a.example/")
      expect(error.message).toBe(
        `The URL is not valid while loading http://a.example/: the header field ${
          JSON.stringify(name)
        } contains CR, LF or NUL`
      )
    }))

  it.effect("the URL, method and body are left as they are", () =>
    Effect.gen(function*() {
      const put = URLRequest.make("http://a.example/p?q=1").pipe(URLRequest.setMethod("PUT"), URLRequest.setBody("x"))
      const prepared = yield* prepare(put, configuration(), { crossOrigin: false })
      expect(prepared.url).toBe("http://a.example/p?q=1")
      expect(prepared.method).toBe("PUT")
      expect(prepared.body).toEqual(Option.some(new TextEncoder().encode("x")))
    }))
})

describe("framing", () => {
  const post = URLRequest.make("http://a.example/").pipe(URLRequest.setMethod("POST"))

  it("a body of bytes is sent with its length, and the protocol's codings are asked for", () => {
    const framed = frame(URLRequest.setBody(post, new Uint8Array(5)), "gzip, br")
    expect(framed.headers).toEqual({ "Accept-Encoding": "gzip, br", "Content-Length": "5" })
  })

  it("a request's own Accept-Encoding and Content-Length, in any case, are kept", () => {
    const own = URLRequest.setBody(post, new Uint8Array(5)).pipe(
      URLRequest.setHeaders({ "accept-encoding": "identity", "content-length": "5" })
    )
    expect(frame(own, "gzip, br").headers).toEqual({ "accept-encoding": "identity", "content-length": "5" })
  })

  it("a stream body gets no length (it goes chunked unless the request names one); a protocol that decodes nothing asks for nothing", () => {
    const streamed = URLRequest.setBodyStream(post, Stream.make(new Uint8Array(3)))
    expect(frame(streamed, undefined).headers).toEqual({})
  })
})
