import { describe, expect, it } from "@effect/vitest"
import type { URLResponse } from "@urlsession/core"
import { URLRequest, URLSession, URLSessionConfiguration } from "@urlsession/core"
import { NodeURLSession } from "@urlsession/node"
import { Effect, Layer } from "effect"
import type * as http from "node:http"
import * as net from "node:net"
import type { AddressInfo } from "node:net"
import { httpServer, readBody } from "../fixtures/servers.js"

const session = NodeURLSession.layer(URLSessionConfiguration.default)

const recordingServer = Effect.gen(function*() {
  const seen: Array<
    { readonly headers: http.IncomingHttpHeaders; readonly rawHeaders: Array<string>; readonly body: string }
  > = []
  const server = yield* httpServer(async (request, response) => {
    seen.push({ headers: request.headers, rawHeaders: request.rawHeaders, body: (await readBody(request)).toString() })
    response.end("ok")
  })
  return { ...server, seen }
})

describe("request rules", () => {
  it.scoped("User-Agent and Accept-Encoding are sent when the request has none", () =>
    Effect.gen(function*() {
      const server = yield* recordingServer
      yield* URLSession.data(server.url)
      expect(server.seen[0]!.headers["user-agent"]).toBe("urlsession/0.1.0")
      expect(server.seen[0]!.headers["accept-encoding"]).toBe("gzip, deflate, br")
      yield* URLSession.data(
        URLRequest.make(server.url).pipe(
          URLRequest.setHeaders({ "user-agent": "mine/1.0", "ACCEPT-ENCODING": "identity" })
        )
      )
      expect(server.seen[1]!.headers["user-agent"]).toBe("mine/1.0")
      expect(server.seen[1]!.headers["accept-encoding"]).toBe("identity")
      expect(server.seen[1]!.rawHeaders).toContain("ACCEPT-ENCODING")
    }).pipe(Effect.provide(session)))

  it.scoped("a POST with a body and no Content-Type is sent as a form; an empty one gets none", () =>
    Effect.gen(function*() {
      const server = yield* recordingServer
      yield* URLSession.data(URLRequest.make(server.url).pipe(URLRequest.setMethod("POST"), URLRequest.setBody("a=1")))
      expect(server.seen[0]!.headers["content-type"]).toBe("application/x-www-form-urlencoded")
      expect(server.seen[0]!.body).toBe("a=1")
      yield* URLSession.data(URLRequest.make(server.url).pipe(URLRequest.setMethod("POST"), URLRequest.setBody("")))
      expect(server.seen[1]!.headers["content-type"]).toBeUndefined()
    }).pipe(Effect.provide(session)))

  it.scoped("a GET with a body fails with DataLengthExceedsMaximum before anything is sent", () =>
    Effect.gen(function*() {
      const server = yield* recordingServer
      const error = yield* Effect.flip(URLSession.data(URLRequest.make(server.url).pipe(URLRequest.setBody("x"))))
      expect(error.code).toBe("DataLengthExceedsMaximum")
      expect(error.errorCode).toBe(-1103)
      expect(server.connections.accepted()).toBe(0)
    }).pipe(Effect.provide(session)))

  it.scoped.each<readonly [string, Record<string, string>]>([
    ["CR LF in a value", { "X-Injected": "a\r\nX-Evil: 1" }],
    ["a bare LF in a value", { "X-Injected": "a\nb" }],
    ["NUL in a value", { "X-Injected": "a\u0000b" }],
    ["CR LF in a name", { "X-A\r\nX-Evil": "1" }]
  ])("header fields with %s are refused with BadURL before any byte is sent", ([, headers]) =>
    Effect.gen(function*() {
      const server = yield* recordingServer
      const error = yield* Effect.flip(
        URLSession.data(URLRequest.make(server.url).pipe(URLRequest.setHeaders(headers)))
      )
      expect(error.code).toBe("BadURL")
      expect(error.message).toContain("CR, LF or NUL")
      expect(server.connections.accepted()).toBe(0)
    }).pipe(Effect.provide(session)))

  it.scoped("session header fields with CR LF fail the session layer with InvalidConfiguration", () =>
    Effect.gen(function*() {
      const server = yield* recordingServer
      const error = yield* Effect.flip(
        URLSession.data(server.url).pipe(
          Effect.provide(NodeURLSession.layer(URLSessionConfiguration.default.pipe(
            URLSessionConfiguration.with({ httpAdditionalHeaders: { "X-Bad": "1\r\n2" } })
          )))
        )
      )
      expect(error).toMatchObject({ _tag: "InvalidConfiguration", field: `httpAdditionalHeaders["X-Bad"]` })
      expect(server.connections.accepted()).toBe(0)
    }))

  it.scoped("an IPv6 literal host works", () =>
    Effect.gen(function*() {
      const server = yield* Effect.acquireRelease(
        Effect.async<net.Server>((resume) => {
          const server = net.createServer((socket) =>
            socket.once("data", () => socket.end("HTTP/1.1 200 OK\r\nContent-Length: 4\r\n\r\nv6ok"))
          )
          server.listen(0, "::1", () => resume(Effect.succeed(server)))
        }),
        (server) => Effect.async<void>((resume) => void server.close(() => resume(Effect.void)))
      )
      const url = `http://[::1]:${(server.address() as AddressInfo).port}/`
      const { data, response } = yield* URLSession.data(url)
      expect(new TextDecoder().decode(data)).toBe("v6ok")
      expect(response.url).toBe(url)
      expect((response as URLResponse.HTTPURLResponse).statusCode).toBe(200)
    }).pipe(Effect.provide(session)))
})

describe("response disposition", () => {
  it.scoped("a delegate that cancels on the response ends the task with Cancelled", () =>
    Effect.gen(function*() {
      const server = yield* recordingServer
      const error = yield* Effect.flip(
        URLSession.data(server.url).pipe(
          Effect.provide(Layer.orDie(NodeURLSession.layer(URLSessionConfiguration.default, {
            delegate: {
              didReceiveResponse: (_task, response) =>
                Effect.succeed((response as URLResponse.HTTPURLResponse).statusCode === 200 ? "cancel" : "allow")
            }
          })))
        )
      )
      expect(error.code).toBe("Cancelled")
    }))

  it.scoped("a delegate that allows lets the body through", () =>
    Effect.gen(function*() {
      const server = yield* recordingServer
      const { data } = yield* URLSession.data(server.url).pipe(
        Effect.provide(NodeURLSession.layer(URLSessionConfiguration.default, {
          delegate: { didReceiveResponse: () => Effect.succeed("allow") }
        }))
      )
      expect(new TextDecoder().decode(data)).toBe("ok")
    }))
})
