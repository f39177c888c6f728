import { describe, expect, it } from "@effect/vitest"
import type { URLResponse } from "@urlsession/core"
import {
  URLRequest,
  URLSession,
  URLSessionConfiguration,
  type URLSessionDelegate,
  URLSessionEvent
} from "@urlsession/core"
import { NodeURLSession } from "@urlsession/node"
import { Chunk, Deferred, Effect, Fiber, Layer, Option, Stream, TestClock } from "effect"
import type * as http from "node:http"
import { beforeAll } from "vitest"
import { makeTestCertificates, type TestCertificates } from "../fixtures/certificates.js"
import { httpServer, httpsServer, readBody } from "../fixtures/servers.js"

const text = (data: Uint8Array) => new TextDecoder().decode(data)
const statusOf = (response: URLResponse.URLResponse) => (response as URLResponse.HTTPURLResponse).statusCode
const session = NodeURLSession.layer(URLSessionConfiguration.default)
const withDelegate = (delegate: URLSessionDelegate.URLSessionDelegate) =>
  Layer.orDie(NodeURLSession.layer(URLSessionConfiguration.default, { delegate }))

interface Seen {
  readonly method: string
  readonly url: string
  readonly headers: http.IncomingHttpHeaders
  readonly body: string
}

/**
 * `/redirect/<status>?to=<location>` answers `status` with that Location (none when `to` is
 * absent), and so does any path with `?status=<status>&to=<location>`; `/chain/<n>`
 * redirects n more times; anything else echoes what it received.
 * Every request is recorded in `seen`.
 */
const redirectServer = Effect.gen(function*() {
  const seen: Array<Seen> = []
  const server = yield* httpServer(async (request, response) => {
    const body = (await readBody(request)).toString("utf8")
    seen.push({ method: request.method!, url: request.url!, headers: request.headers, body })
    const url = new URL(request.url!, "http://placeholder")
    const [, kind, argument] = url.pathname.split("/")
    const status = url.searchParams.get("status")
    if (status !== null) {
      response.writeHead(Number(status), { Location: url.searchParams.get("to")! })
      return void response.end()
    }
    if (kind === "redirect") {
      const to = url.searchParams.get("to")
      response.writeHead(Number(argument), to === null ? {} : { Location: to })
      return void response.end(`redirect body ${argument}`)
    }
    if (kind === "chain") {
      const left = Number(argument)
      if (left > 0) {
        response.writeHead(302, { Location: `/chain/${left - 1}` })
        return void response.end()
      }
    }
    response.setHeader("Content-Type", "application/json")
    response.end(JSON.stringify({ method: request.method, url: request.url, body }))
  })
  return { ...server, seen }
})

const redirectTo = (status: number, to?: string) =>
  `/redirect/${status}` + (to === undefined ? "" : `?to=${encodeURIComponent(to)}`)

const post = (url: string, body = "name=value") =>
  URLRequest.make(url).pipe(
    URLRequest.setMethod("POST"),
    URLRequest.setHeader("Content-Type", "text/plain"),
    URLRequest.setBody(body)
  )

describe("redirects", () => {
  it.scoped.each([301, 302, 303, 305, 306, 307, 308])("%s is followed", (status) =>
    Effect.gen(function*() {
      const server = yield* redirectServer
      const { data, response } = yield* URLSession.data(server.url + redirectTo(status, "/final"))
      expect(statusOf(response)).toBe(200)
      expect(response.url).toBe(`${server.url}/final`)
      expect(JSON.parse(text(data)).url).toBe("/final")
    }).pipe(Effect.provide(session)))

  it.scoped("300 is not followed: it is the final response, with its body", () =>
    Effect.gen(function*() {
      const server = yield* redirectServer
      const { data, response } = yield* URLSession.data(server.url + redirectTo(300, "/final"))
      expect(statusOf(response)).toBe(300)
      expect(text(data)).toBe("redirect body 300")
      expect(server.seen).toHaveLength(1)
    }).pipe(Effect.provide(session)))

  it.scoped("304 is not followed and delivers no body", () =>
    Effect.gen(function*() {
      const server = yield* redirectServer
      const { data, response } = yield* URLSession.data(server.url + redirectTo(304, "/final"))
      expect(statusOf(response)).toBe(304)
      expect(data.byteLength).toBe(0)
      expect(server.seen).toHaveLength(1)
    }).pipe(Effect.provide(session)))

  it.scoped.each([301, 302])("%s turns POST into GET and drops the body", (status) =>
    Effect.gen(function*() {
      const server = yield* redirectServer
      yield* URLSession.data(post(server.url + redirectTo(status, "/final")))
      const final = server.seen[1]!
      expect(final.method).toBe("GET")
      expect(final.body).toBe("")
      expect(final.headers["content-type"]).toBeUndefined()
      expect(final.headers["content-length"]).toBeUndefined()
    }).pipe(Effect.provide(session)))

  it.scoped("301 keeps a PUT as it is", () =>
    Effect.gen(function*() {
      const server = yield* redirectServer
      yield* URLSession.data(post(server.url + redirectTo(301, "/final")).pipe(URLRequest.setMethod("PUT")))
      expect(server.seen[1]!.method).toBe("PUT")
      expect(server.seen[1]!.body).toBe("name=value")
    }).pipe(Effect.provide(session)))

  it.scoped("303 turns POST and PUT into GET, and keeps HEAD", () =>
    Effect.gen(function*() {
      const server = yield* redirectServer
      const target = server.url + redirectTo(303, "/final")
      yield* URLSession.data(post(target))
      yield* URLSession.data(post(target).pipe(URLRequest.setMethod("PUT")))
      yield* URLSession.data(URLRequest.make(target).pipe(URLRequest.setMethod("HEAD")))
      expect(server.seen.filter((seen) => seen.url === "/final").map((seen) => seen.method)).toEqual([
        "GET",
        "GET",
        "HEAD"
      ])
    }).pipe(Effect.provide(session)))

  it.scoped.each([307, 308])("%s keeps the method and sends the body again", (status) =>
    Effect.gen(function*() {
      const server = yield* redirectServer
      const body = "x".repeat(10_000)
      const { data } = yield* URLSession.data(post(server.url + redirectTo(status, "/final"), body))
      const echoed = JSON.parse(text(data))
      expect(echoed.method).toBe("POST")
      expect(echoed.body).toBe(body)
      expect(server.seen[1]!.headers["content-type"]).toBe("text/plain")
    }).pipe(Effect.provide(session)))

  it.scoped("Location is resolved against the current URL (RFC 3986), query kept as sent", () =>
    Effect.gen(function*() {
      const server = yield* redirectServer
      const cases: ReadonlyArray<readonly [string, string, string]> = [
        ["/dir/sub/redirect-from", "../other?a=1&b=%2F", "/dir/other?a=1&b=%2F"],
        ["/dir/page", "sibling", "/dir/sibling"],
        ["/dir/page", `//127.0.0.1:${server.port}/protocol-relative`, "/protocol-relative"],
        ["/dir/page", "?only=query", "/dir/page?only=query"],
        ["/dir/page", `${server.url}/absolute`, "/absolute"]
      ]
      for (const [from, location, expected] of cases) {
        const { data } = yield* URLSession.data(`${server.url}${from}?status=302&to=${encodeURIComponent(location)}`)
        expect(JSON.parse(text(data)).url).toBe(expected)
      }
    }).pipe(Effect.provide(session)))

  it.scoped("an absolute Location is taken as written: no default port is inserted", () =>
    Effect.gen(function*() {
      const server = yield* redirectServer
      const offered: Array<string> = []
      const layer = withDelegate({
        willPerformHTTPRedirection: (_task, _response, newRequest) =>
          Effect.sync(() => offered.push(newRequest.url)).pipe(Effect.as(Option.none()))
      })
      for (const location of ["https://secure.example/path?q=a%20b", "http://plain.example/p"]) {
        yield* URLSession.data(server.url + redirectTo(302, location)).pipe(Effect.provide(layer))
      }
      expect(offered).toEqual(["https://secure.example/path?q=a%20b", "http://plain.example/p"])
    }))

  it.scoped("a 3xx without a usable Location is the final response, with its body", () =>
    Effect.gen(function*() {
      const server = yield* redirectServer
      const missing = yield* URLSession.data(server.url + redirectTo(302))
      expect(statusOf(missing.response)).toBe(302)
      expect(text(missing.data)).toBe("redirect body 302")
      const unusable = yield* URLSession.data(server.url + redirectTo(307, "http://[not-an-address/"))
      expect(statusOf(unusable.response)).toBe(307)
    }).pipe(Effect.provide(session)))

  it.scoped("20 redirects are followed; the 21st fails with HTTPTooManyRedirects naming that hop", () =>
    Effect.gen(function*() {
      const server = yield* redirectServer
      const twenty = yield* URLSession.data(`${server.url}/chain/20`)
      expect(JSON.parse(text(twenty.data)).url).toBe("/chain/0")
      const error = yield* Effect.flip(URLSession.data(`${server.url}/chain/21`))
      expect(error.code).toBe("HTTPTooManyRedirects")
      expect(error.errorCode).toBe(-1007)
      expect(error.failingURL).toBe(`${server.url}/chain/0`)
    }).pipe(Effect.provide(session)))

  it.scoped("one WillPerformHTTPRedirection event per hop, before the response", () =>
    Effect.gen(function*() {
      const server = yield* redirectServer
      const task = yield* URLSession.dataTask(`${server.url}/chain/2`)
      const events = yield* task.events.pipe(Stream.runCollect, Effect.fork)
      yield* task.resume
      yield* task.await
      const observed = Chunk.toArray(yield* Fiber.join(events)).filter((event) => event._tag !== "DidReceiveData")
      expect(observed.map((event) => event._tag)).toEqual([
        "WillPerformHTTPRedirection",
        "WillPerformHTTPRedirection",
        "DidReceiveResponse",
        "DidCompleteWithError"
      ])
      const hops = observed.filter(URLSessionEvent.$is("WillPerformHTTPRedirection"))
      expect(hops.map((hop) => hop.newRequest.url)).toEqual([`${server.url}/chain/1`, `${server.url}/chain/0`])
      expect(hops.map((hop) => hop.response.statusCode)).toEqual([302, 302])
      expect((yield* task.currentRequest).url).toBe(`${server.url}/chain/0`)
    }).pipe(Effect.provide(session)))

  it.scoped("a delegate answering None gets the redirect response and its body", () =>
    Effect.gen(function*() {
      const server = yield* redirectServer
      const { data, response } = yield* URLSession.data(server.url + redirectTo(301, "/final")).pipe(
        Effect.provide(withDelegate({ willPerformHTTPRedirection: () => Effect.succeedNone }))
      )
      expect(statusOf(response)).toBe(301)
      expect(text(data)).toBe("redirect body 301")
      expect(server.seen).toHaveLength(1)
    }))

  it.scoped("a delegate can change the request it follows", () =>
    Effect.gen(function*() {
      const server = yield* redirectServer
      yield* URLSession.data(server.url + redirectTo(302, "/final")).pipe(
        Effect.provide(withDelegate({
          willPerformHTTPRedirection: (_task, _response, newRequest) =>
            Effect.succeedSome(newRequest.pipe(URLRequest.setHeader("X-Hop", "changed by delegate")))
        }))
      )
      expect(server.seen[1]!.headers["x-hop"]).toBe("changed by delegate")
    }))

  it.scoped("a delegate that never answers is bounded by the request timeout", () =>
    Effect.gen(function*() {
      const server = yield* redirectServer
      const asked = yield* Deferred.make<void>()
      const loading = yield* Effect.fork(
        URLSession.data(server.url + redirectTo(302, "/final")).pipe(
          Effect.provide(withDelegate({
            willPerformHTTPRedirection: () => Effect.zipRight(Deferred.succeed(asked, undefined), Effect.never)
          }))
        )
      )
      yield* Deferred.await(asked)
      yield* TestClock.adjust("61 seconds")
      const error = yield* Effect.flip(Fiber.join(loading))
      expect(error.code).toBe("TimedOut")
    }))

  it.scoped("credentials are dropped on a cross-origin hop and kept on a same-origin one", () =>
    Effect.gen(function*() {
      const first = yield* redirectServer
      const other = yield* redirectServer
      const withCredentials = (url: string) =>
        URLRequest.make(url).pipe(URLRequest.setHeaders({
          Authorization: "Bearer secret",
          "Proxy-Authorization": "Basic c2VjcmV0",
          Cookie: "session=secret",
          "X-Other": "kept"
        }))
      yield* URLSession.data(withCredentials(first.url + redirectTo(302, "/same-origin")))
      expect(first.seen[1]!.headers.authorization).toBe("Bearer secret")
      expect(first.seen[1]!.headers.cookie).toBe("session=secret")
      yield* URLSession.data(withCredentials(first.url + redirectTo(302, `${other.url}/elsewhere`)))
      const elsewhere = other.seen[0]!
      expect(elsewhere.url).toBe("/elsewhere")
      expect(elsewhere.headers.authorization).toBeUndefined()
      expect(elsewhere.headers["proxy-authorization"]).toBeUndefined()
      expect(elsewhere.headers.cookie).toBeUndefined()
      expect(elsewhere.headers["x-other"]).toBe("kept")
    }).pipe(Effect.provide(NodeURLSession.layer(URLSessionConfiguration.default.pipe(
      URLSessionConfiguration.with({ httpAdditionalHeaders: { Authorization: "Bearer secret" } })
    )))))
})

describe("redirects from https", () => {
  let certificates: TestCertificates
  beforeAll(async () => {
    certificates = await makeTestCertificates()
  })

  const secureRedirect = (to: string) =>
    httpsServer({ cert: certificates.valid.cert, key: certificates.valid.key }, (_, response) => {
      response.writeHead(302, { Location: to })
      response.end()
    })

  const trusting = (overrides: URLSessionConfiguration.Overrides = {}) =>
    Layer.orDie(NodeURLSession.layer(URLSessionConfiguration.default.pipe(URLSessionConfiguration.with({
      trustedCertificates: [certificates.valid.cert],
      ...overrides
    }))))

  it.scoped("https → http is refused with AppTransportSecurityRequiresSecureConnection", () =>
    Effect.gen(function*() {
      const insecure = yield* redirectServer
      const secure = yield* secureRedirect(`${insecure.url}/plain`)
      const error = yield* Effect.flip(URLSession.data(`${secure.url}/`).pipe(Effect.provide(trusting())))
      expect(error.code).toBe("AppTransportSecurityRequiresSecureConnection")
      expect(error.errorCode).toBe(-1022)
      expect(error.failingURL).toBe(`${insecure.url}/plain`)
      expect(insecure.seen).toHaveLength(0)
    }))

  it.scoped("https → http is followed when the configuration allows it", () =>
    Effect.gen(function*() {
      const insecure = yield* redirectServer
      const secure = yield* secureRedirect(`${insecure.url}/plain`)
      const { response } = yield* URLSession.data(`${secure.url}/`).pipe(
        Effect.provide(trusting({ allowsInsecureRedirects: true }))
      )
      expect(response.url).toBe(`${insecure.url}/plain`)
    }))
})
