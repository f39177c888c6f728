import { describe, expect, it } from "@effect/vitest"
import { URLError, URLSession, URLSessionConfiguration } from "@urlsession/core"
import { NodeURLSession } from "@urlsession/node"
import { Effect } from "effect"
import * as dns from "node:dns"
import type { LookupFunction } from "node:net"
import { closedPort, httpServer, nxdomainDNSServer, tcpServer } from "../fixtures/servers.js"

const session = NodeURLSession.layer(URLSessionConfiguration.default)

/** The failure of loading `url`, which must fail. */
const failureOf = (url: string) => URLSession.data(url).pipe(Effect.flip)

const expectCode = (error: URLError.URLError, code: URLError.Code, failingURL: string) => {
  expect(error).toBeInstanceOf(URLError.URLError)
  expect(error.code).toBe(code)
  expect(error.errorCode).toBe(URLError.rawValue(code))
  expect(error.failingURL).toBe(failingURL)
}

describe("every failure maps to its NSURLError code", () => {
  it.scoped.each<readonly [string, string]>([
    ["not a URL at all", "no scheme here"],
    ["a space in the host", "http://exa mple.com/"],
    ["a port out of range", "http://127.0.0.1:99999/"],
    ["a malformed IPv6 literal", "http://[127.0.0.1]/"]
  ])("BadURL: %s", ([, url]) =>
    Effect.gen(function*() {
      expectCode(yield* failureOf(url), "BadURL", url)
    }).pipe(Effect.provide(session)))

  it.scoped("UnsupportedURL: a scheme no protocol loads", () =>
    Effect.gen(function*() {
      expectCode(yield* failureOf("gopher://127.0.0.1/x"), "UnsupportedURL", "gopher://127.0.0.1/x")
    }).pipe(Effect.provide(session)))

  it.scoped("CannotFindHost: the resolver answers that the name does not exist", () =>
    Effect.gen(function*() {
      const dnsServer = yield* nxdomainDNSServer
      const resolver = new dns.Resolver({ timeout: 2000, tries: 1 })
      resolver.setServers([dnsServer.address])
      const lookup: LookupFunction = (hostname, _options, callback) =>
        resolver.resolve4(hostname, (error, addresses) =>
          error === null ? callback(null, addresses[0]!, 4) : callback(error, "", 4))
      const url = "http://no-such-host.example/"
      const error = yield* failureOf(url).pipe(
        Effect.provide(NodeURLSession.layer(URLSessionConfiguration.default, { lookup }))
      )
      expectCode(error, "CannotFindHost", url)
    }))

  it.scoped("CannotConnectToHost: nothing listens on the port", () =>
    Effect.gen(function*() {
      const url = `http://127.0.0.1:${yield* closedPort}/`
      expectCode(yield* failureOf(url), "CannotConnectToHost", url)
    }).pipe(Effect.provide(session)))

  it.scoped("NetworkConnectionLost: the body is shorter than its Content-Length", () =>
    Effect.gen(function*() {
      const server = yield* httpServer((_, response) => {
        response.writeHead(200, { "Content-Length": "1000" })
        response.write("x".repeat(100), () => response.socket!.end())
      })
      expectCode(yield* failureOf(server.url), "NetworkConnectionLost", server.url)
    }).pipe(Effect.provide(session)))

  it.scoped("NetworkConnectionLost: a Connection: close body cut short of its Content-Length", () =>
    Effect.gen(function*() {
      const server = yield* httpServer((_, response) => {
        response.writeHead(200, { "Content-Length": "1000", Connection: "close" })
        response.write("x".repeat(100), () => response.socket!.end())
      })
      expectCode(yield* failureOf(server.url), "NetworkConnectionLost", server.url)
    }).pipe(Effect.provide(session)))

  it.scoped("NetworkConnectionLost: the connection is reset mid-body", () =>
    Effect.gen(function*() {
      const server = yield* httpServer((_, response) => {
        response.writeHead(200, { "Content-Type": "application/octet-stream" })
        response.write(Buffer.alloc(64 * 1024), () => response.socket!.resetAndDestroy())
      })
      expectCode(yield* failureOf(server.url), "NetworkConnectionLost", server.url)
    }).pipe(Effect.provide(session)))

  it.scoped("NetworkConnectionLost: the server closes without answering", () =>
    Effect.gen(function*() {
      const server = yield* tcpServer((socket) => socket.once("data", () => socket.end()))
      expectCode(yield* failureOf(server.url), "NetworkConnectionLost", server.url)
    }).pipe(Effect.provide(session)))

  it.scoped("CannotParseResponse: the server answers with something that is not HTTP", () =>
    Effect.gen(function*() {
      const server = yield* tcpServer((socket) => socket.once("data", () => socket.end("SSH-2.0-OpenSSH_9.2\r\n\r\n")))
      expectCode(yield* failureOf(server.url), "CannotParseResponse", server.url)
    }).pipe(Effect.provide(session)))

  it.scoped("BadServerResponse: a well-formed response with an impossible status code", () =>
    Effect.gen(function*() {
      const server = yield* tcpServer((socket) =>
        socket.once("data", () => socket.end("HTTP/1.1 1000 Too Far\r\nContent-Length: 0\r\n\r\n"))
      )
      expectCode(yield* failureOf(server.url), "BadServerResponse", server.url)
    }).pipe(Effect.provide(session)))

  it.scoped("BadServerResponse: two different Content-Lengths", () =>
    Effect.gen(function*() {
      const server = yield* tcpServer((socket) =>
        socket.once("data", () => socket.end("HTTP/1.1 200 OK\r\nContent-Length: 2\r\nContent-Length: 3\r\n\r\nabc"))
      )
      expectCode(yield* failureOf(server.url), "BadServerResponse", server.url)
    }).pipe(Effect.provide(session)))
})
