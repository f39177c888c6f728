/**
 * Unusual and hostile peers: each case is one that a review found, kept as a rule.
 */
import { describe, expect, it } from "@effect/vitest"
import type { URLResponse } from "@urlsession/core"
import { URLRequest, URLSession, URLSessionConfiguration } from "@urlsession/core"
import { NodeURLSession } from "@urlsession/node"
import { Effect, Layer, Option } from "effect"
import { execFileSync } from "node:child_process"
import * as fs from "node:fs"
import * as os from "node:os"
import * as path from "node:path"
import { pathToFileURL } from "node:url"
import * as zlib from "node:zlib"
import { beforeAll } from "vitest"
import { makeTestCertificates, type TestCertificates } from "../fixtures/certificates.js"
import { httpServer, httpsServer, readBody, tcpServer } from "../fixtures/servers.js"

const session = NodeURLSession.layer(URLSessionConfiguration.default)
const text = (data: Uint8Array) => new TextDecoder().decode(data)

describe("content coding at the edges", () => {
  it.scoped("HEAD and 204 responses that name a coding have no body to decode", () =>
    Effect.gen(function*() {
      const server = yield* httpServer((request, response) => {
        response.writeHead(request.url === "/204" ? 204 : 200, { "Content-Encoding": "gzip" })
        response.end()
      })
      const head = yield* URLSession.data(URLRequest.make(server.url).pipe(URLRequest.setMethod("HEAD")))
      expect(head.data.byteLength).toBe(0)
      const noContent = yield* URLSession.data(`${server.url}/204`)
      expect((noContent.response as URLResponse.HTTPURLResponse).statusCode).toBe(204)
    }).pipe(Effect.provide(session)))

  it.scoped("a corrupt body found while the server is still sending is CannotDecodeContentData", () =>
    Effect.gen(function*() {
      const corrupt = Buffer.from(zlib.gzipSync(Buffer.alloc(1024 * 1024, "q")))
      corrupt.fill(0x55, 20, 200)
      const server = yield* httpServer((_, response) => {
        response.writeHead(200, { "Content-Encoding": "gzip" })
        response.write(corrupt)
        const timer = setInterval(() => response.write(Buffer.alloc(16 * 1024, 7)), 10)
        response.on("close", () => clearInterval(timer))
      })
      expect((yield* Effect.flip(URLSession.data(server.url))).code).toBe("CannotDecodeContentData")
    }).pipe(Effect.provide(session)))

  it.scoped("a deflate body whose connection breaks before its first byte is NetworkConnectionLost", () =>
    Effect.gen(function*() {
      const server = yield* tcpServer((socket) =>
        socket.once(
          "data",
          () =>
            socket.write("HTTP/1.1 200 OK\r\nContent-Encoding: deflate\r\nContent-Length: 500\r\n\r\n", () =>
              setTimeout(() => socket.resetAndDestroy(), 20))
        )
      )
      expect((yield* Effect.flip(URLSession.data(server.url))).code).toBe("NetworkConnectionLost")
    }).pipe(Effect.provide(NodeURLSession.layer(URLSessionConfiguration.default.pipe(
      URLSessionConfiguration.with({ timeoutIntervalForRequest: "30 seconds" })
    )))))
})

describe("the idle timer and bytes sent", () => {
  it.live("a large body read slowly by the server does not time out while it moves", () =>
    Effect.gen(function*() {
      // 24 MiB read at 10 MiB/s: the upload takes ~2.4 s, three idle timeouts, while no gap
      // between bytes sent (nor the final drain of the socket buffers) reaches one.
      const size = 24 * 1024 * 1024
      const server = yield* httpServer((request, response) => {
        let sincePause = 0
        let received = 0
        request.on("data", (chunk: Buffer) => {
          received += chunk.length
          sincePause += chunk.length
          if (sincePause >= 1024 * 1024) {
            sincePause = 0
            request.pause()
            setTimeout(() => request.resume(), 100)
          }
        })
        request.on("end", () => response.end(String(received)))
      })
      const request = URLRequest.make(server.url).pipe(
        URLRequest.setMethod("PUT"),
        URLRequest.setBody(new Uint8Array(size))
      )
      const { data } = yield* URLSession.data(request)
      expect(text(data)).toBe(String(size))
    }).pipe(
      Effect.provide(NodeURLSession.layer(URLSessionConfiguration.default.pipe(
        URLSessionConfiguration.with({ timeoutIntervalForRequest: "1 second" })
      ))),
      Effect.scoped
    ), { timeout: 30_000 })
})

describe("redirects a delegate chooses", () => {
  let certificates: TestCertificates
  beforeAll(async () => {
    certificates = await makeTestCertificates()
  })

  const redirecting = (to: string) => (_: unknown, response: { writeHead: Function; end: () => void }) => {
    response.writeHead(302, { Location: to })
    response.end()
  }

  it.scoped("a delegate's http request after an https response is refused like a Location", () =>
    Effect.gen(function*() {
      const plain = yield* httpServer((_, response) => response.end("plain"))
      const secure = yield* httpsServer(
        { cert: certificates.valid.cert, key: certificates.valid.key },
        redirecting("/next")
      )
      const error = yield* Effect.flip(
        URLSession.data(`${secure.url}/`).pipe(
          Effect.provide(Layer.orDie(NodeURLSession.layer(
            URLSessionConfiguration.default.pipe(URLSessionConfiguration.with({
              trustedCertificates: [certificates.valid.cert]
            })),
            {
              delegate: {
                willPerformHTTPRedirection: (_task, _response, newRequest) =>
                  Effect.succeedSome(URLRequest.setURL(newRequest, `${plain.url}/downgraded`))
              }
            }
          )))
        )
      )
      expect(error.code).toBe("AppTransportSecurityRequiresSecureConnection")
    }))

  it.scoped("a delegate that sends a same-origin redirect elsewhere does not carry the credentials", () =>
    Effect.gen(function*() {
      const seen: Array<Record<string, unknown>> = []
      const elsewhere = yield* httpServer(async (request, response) => {
        seen.push({ ...request.headers })
        await readBody(request)
        response.end("elsewhere")
      })
      const origin = yield* httpServer(redirecting("/same-origin"))
      const request = URLRequest.make(origin.url).pipe(
        URLRequest.setHeaders({ Authorization: "Bearer secret", Cookie: "session=secret" })
      )
      yield* URLSession.data(request).pipe(
        Effect.provide(NodeURLSession.layer(URLSessionConfiguration.default, {
          delegate: {
            willPerformHTTPRedirection: (_task, _response, newRequest) =>
              Effect.succeedSome(newRequest.pipe(
                URLRequest.setURL(`${elsewhere.url}/moved`),
                URLRequest.setHeader("X-Chosen", "by delegate")
              ))
          }
        }))
      )
      expect(seen[0]!.authorization).toBeUndefined()
      expect(seen[0]!.cookie).toBeUndefined()
      expect(seen[0]!["x-chosen"]).toBe("by delegate")
    }))

  it.scoped("a delegate cannot redirect to a file: URL", () =>
    Effect.gen(function*() {
      const origin = yield* httpServer(redirecting("/next"))
      const error = yield* Effect.flip(
        URLSession.data(origin.url).pipe(
          Effect.provide(Layer.orDie(NodeURLSession.layer(URLSessionConfiguration.default, {
            delegate: {
              willPerformHTTPRedirection: (_task, _response, newRequest) =>
                Effect.succeedSome(URLRequest.setURL(newRequest, "file:///etc/passwd"))
            }
          })))
        )
      )
      expect(error.code).toBe("UnsupportedURL")
    }))
})

describe("Location at the edges", () => {
  const rawRedirect = (location: Buffer) =>
    tcpServer((socket) =>
      socket.once("data", (request: Buffer) => {
        const target = request.toString("latin1").split(" ")[1]!
        if (target === "/start") {
          socket.end(Buffer.concat([
            Buffer.from("HTTP/1.1 302 Found\r\nConnection: close\r\nContent-Length: 8\r\nLocation: "),
            location,
            Buffer.from("\r\n\r\nredirect")
          ]))
        } else {
          socket.end(`HTTP/1.1 200 OK\r\nConnection: close\r\nContent-Length: ${target.length}\r\n\r\n${target}`)
        }
      })
    )

  it.scoped("a Location sent as UTF-8 is read as UTF-8", () =>
    Effect.gen(function*() {
      const server = yield* rawRedirect(Buffer.from("/café", "utf8"))
      const { data } = yield* URLSession.data(`${server.url}/start`)
      expect(text(data)).toBe("/caf%C3%A9")
    }).pipe(Effect.provide(session)))

  it.scoped("an empty Location is no redirect: the 3xx is the final response", () =>
    Effect.gen(function*() {
      const server = yield* rawRedirect(Buffer.from(""))
      const { data, response } = yield* URLSession.data(`${server.url}/start`)
      expect((response as URLResponse.HTTPURLResponse).statusCode).toBe(302)
      expect(text(data)).toBe("redirect")
    }).pipe(Effect.provide(session)))
})

describe("files and data at the edges", () => {
  it.scoped("a FIFO is not opened: CannotOpenFile", () =>
    Effect.gen(function*() {
      const directory = yield* Effect.acquireRelease(
        Effect.sync(() => fs.mkdtempSync(path.join(os.tmpdir(), "urlsession-fifo-"))),
        (directory) => Effect.sync(() => fs.rmSync(directory, { recursive: true, force: true }))
      )
      const fifo = path.join(directory, "pipe")
      execFileSync("mkfifo", [fifo])
      expect((yield* Effect.flip(URLSession.data(pathToFileURL(fifo)))).code).toBe("CannotOpenFile")
    }).pipe(Effect.provide(session)))

  it.scoped("a quoted data: charset loses its quotes", () =>
    Effect.gen(function*() {
      const { response } = yield* URLSession.data("data:text/plain;charset=\"utf-8\",x")
      expect(response.textEncodingName).toEqual(Option.some("utf-8"))
    }).pipe(Effect.provide(session)))
})
