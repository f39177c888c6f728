/**
 * Hostile and careless response heads from raw `net` peers: informational responses, heads
 * that come a byte at a time, bodies a status forbids, and heads that are not HTTP at all.
 */
import { describe, expect, it } from "@effect/vitest"
import type { URLResponse } from "@urlsession/core"
import { URLError, URLRequest, URLSession, URLSessionConfiguration } from "@urlsession/core"
import { NodeURLSession } from "@urlsession/node"
import { Effect, Exit } from "effect"
import type * as net from "node:net"
import * as zlib from "node:zlib"
import { Client } from "undici"
import * as Connector from "../../../packages/node/src/internal/connector.js"
import { sha256 } from "../../fixtures/files.js"
import { tcpServer } from "../../fixtures/servers.js"

const session = (timeout: `${number} seconds` = "5 seconds") =>
  NodeURLSession.layer(URLSessionConfiguration.default.pipe(
    URLSessionConfiguration.with({ timeoutIntervalForRequest: timeout })
  ))

const statusOf = (response: URLResponse.URLResponse) => (response as URLResponse.HTTPURLResponse).statusCode
const text = (data: Uint8Array) => new TextDecoder().decode(data)

/** A peer that answers each request it receives, on any connection, with the next of
 * `answers` (the last one again when they run out). */
const answering = (...answers: ReadonlyArray<string | Buffer>) => {
  let next = 0
  return tcpServer((socket) => {
    socket.on("data", () => {
      const answer = answers[Math.min(next++, answers.length - 1)]!
      socket.write(answer)
    })
  })
}

// undici lends a connection again only a turn of the event loop after its response ends.
const nextTurn = Effect.promise(() => new Promise((resolve) => setTimeout(resolve, 10)))

/** Writes `bytes` one at a time, `every` milliseconds apart, then runs `then`. */
const trickle = (socket: net.Socket, bytes: string, every: number, then: () => void = () => {}) => {
  let offset = 0
  const timer = setInterval(() => {
    if (socket.destroyed) return clearInterval(timer)
    socket.write(bytes[offset++]!)
    if (offset === bytes.length) {
      clearInterval(timer)
      then()
    }
  }, every)
  socket.on("close", () => clearInterval(timer))
}

describe("informational responses", () => {
  it.scoped("an unsolicited 100 Continue is ignored: the final response is delivered", () =>
    Effect.gen(function*() {
      const server = yield* answering(
        "HTTP/1.1 100 Continue\r\n\r\nHTTP/1.1 200 OK\r\nContent-Length: 5\r\n\r\nhello"
      )
      const { data, response } = yield* URLSession.data(server.url)
      expect(statusOf(response)).toBe(200)
      expect(text(data)).toBe("hello")
    }).pipe(Effect.provide(session())))

  it.scoped("several 1xx heads, split across packets, with fields, before the final one", () =>
    Effect.gen(function*() {
      const server = yield* tcpServer((socket) =>
        socket.once("data", () => {
          socket.write("HTTP/1.1 100 Continue\r\nX-A: 1\r\n")
          setTimeout(
            () => socket.write("\r\nHTTP/1.1 102 Processing\r\n\r\nHTTP/1.1 103 Early Hints\r\nLink: </a>"),
            20
          )
          setTimeout(() => socket.write("\r\n\r\nHTTP/1.1 100 Continue\r\n\r\nHTTP/1.1 201 Created\r\n"), 40)
          setTimeout(() => socket.end("Content-Length: 2\r\n\r\nok"), 60)
        })
      )
      const { data, response } = yield* URLSession.data(server.url)
      expect(statusOf(response)).toBe(201)
      expect(text(data)).toBe("ok")
    }).pipe(Effect.provide(session())))

  it.scoped("empty lines before an interim head are skipped, as before a final one", () =>
    Effect.gen(function*() {
      const server = yield* tcpServer((socket) =>
        socket.once("data", () => {
          socket.write("\r\n")
          setTimeout(
            () => socket.write("HTTP/1.1 100 Continue\r\n\r\nHTTP/1.1 200 OK\r\nContent-Length: 2\r\n\r\nok"),
            20
          )
        })
      )
      expect(text((yield* URLSession.data(server.url)).data)).toBe("ok")
    }).pipe(Effect.provide(session())))

  it.scoped("a 100 Continue on a reused connection is ignored too", () =>
    Effect.gen(function*() {
      const server = yield* answering(
        "HTTP/1.1 200 OK\r\nContent-Length: 3\r\n\r\none",
        "HTTP/1.1 100 Continue\r\n\r\nHTTP/1.1 200 OK\r\nContent-Length: 3\r\n\r\ntwo"
      )
      expect(text((yield* URLSession.data(server.url)).data)).toBe("one")
      yield* nextTurn
      expect(text((yield* URLSession.data(server.url)).data)).toBe("two")
      expect(server.connections.accepted()).toBe(1)
    }).pipe(Effect.provide(session())))

  it.live(
    "1xx heads do not re-arm the idle timer: a 1xx trickle that never ends is TimedOut",
    () =>
      Effect.gen(function*() {
        const server = yield* tcpServer((socket) =>
          socket.once("data", () => {
            const timer = setInterval(() => socket.write("HTTP/1.1 102 Processing\r\n\r\n"), 100)
            socket.on("close", () => clearInterval(timer))
          })
        )
        const error = yield* Effect.flip(URLSession.data(server.url))
        expect(error.code).toBe("TimedOut")
      }).pipe(Effect.provide(session("1 seconds")), Effect.scoped),
    { timeout: 10_000 }
  )
})

describe("the idle timer and the response head", () => {
  it.live("a final head trickled a byte at a time re-arms the idle timer with each byte", () =>
    Effect.gen(function*() {
      const head = "HTTP/1.1 200 OK\r\nContent-Length: 2\r\n\r\n"
      const server = yield* tcpServer((socket) =>
        socket.once("data", () => trickle(socket, head, 100, () => socket.end("ok")))
      )
      // The head takes ~4 s to arrive, well past the 2 s idle timeout, but no gap reaches it
      // (the bytes count from the status code on: the 12 before it take 1.2 s).
      const { data, response } = yield* URLSession.data(server.url)
      expect(statusOf(response)).toBe(200)
      expect(text(data)).toBe("ok")
    }).pipe(Effect.provide(session("2 seconds")), Effect.scoped), { timeout: 30_000 })

  it.live("so does the head of a request that waited for a connection", () =>
    Effect.gen(function*() {
      const head = "HTTP/1.1 200 OK\r\nContent-Length: 2\r\n\r\n"
      let requests = 0
      const server = yield* tcpServer((socket) =>
        socket.on("data", () => {
          if (requests++ === 0) setTimeout(() => socket.write("HTTP/1.1 200 OK\r\nContent-Length: 3\r\n\r\none"), 300)
          else trickle(socket, head, 100, () => socket.write("ok"))
        })
      )
      // One connection: the second request waits in undici's queue until the first is done.
      const [first, second] = yield* Effect.all([URLSession.data(server.url), URLSession.data(server.url)], {
        concurrency: 2
      }).pipe(Effect.provide(NodeURLSession.layer(URLSessionConfiguration.default.pipe(
        URLSessionConfiguration.with({ timeoutIntervalForRequest: "2 seconds", httpMaximumConnectionsPerHost: 1 })
      ))))
      expect([text(first.data), text(second.data)]).toEqual(["one", "ok"])
      expect(server.connections.accepted()).toBe(1)
    }).pipe(Effect.scoped), { timeout: 30_000 })

  it.live("a final head that stalls part way is TimedOut", () =>
    Effect.gen(function*() {
      const server = yield* tcpServer((socket) => socket.once("data", () => socket.write("HTTP/1.1 200 OK\r\nConte")))
      expect((yield* Effect.flip(URLSession.data(server.url))).code).toBe("TimedOut")
    }).pipe(Effect.provide(session("1 seconds")), Effect.scoped), { timeout: 10_000 })
})

describe("responses that have no body whatever their fields say", () => {
  for (const status of [204, 304]) {
    it.scoped(`a ${status} with a Content-Length is delivered with 0 bytes, and the next request is answered`, () =>
      Effect.gen(function*() {
        const server = yield* answering(
          `HTTP/1.1 ${status} ${
            status === 204 ? "No Content" : "Not Modified"
          }\r\nContent-Length: 1234\r\nETag: "a"\r\n\r\n`,
          "HTTP/1.1 200 OK\r\nContent-Length: 4\r\n\r\nnext"
        )
        const { data, response } = yield* URLSession.data(server.url)
        expect(statusOf(response)).toBe(status)
        expect(data.byteLength).toBe(0)
        expect(text((yield* URLSession.data(server.url)).data)).toBe("next")
      }).pipe(Effect.provide(session())))
  }

  it.scoped("a HEAD response with a Content-Length is delivered with 0 bytes", () =>
    Effect.gen(function*() {
      const server = yield* answering("HTTP/1.1 200 OK\r\nContent-Length: 1234\r\n\r\n")
      const { data, response } = yield* URLSession.data(URLRequest.make(server.url).pipe(URLRequest.setMethod("HEAD")))
      expect(statusOf(response)).toBe(200)
      expect(response.expectedContentLength).toBe(1234)
      expect(data.byteLength).toBe(0)
    }).pipe(Effect.provide(session())))

  it.scoped("a 304 with Content-Length and Content-Encoding is delivered with 0 bytes", () =>
    Effect.gen(function*() {
      const server = yield* answering(
        "HTTP/1.1 304 Not Modified\r\nContent-Length: 99\r\nContent-Encoding: gzip\r\n\r\n"
      )
      const { data, response } = yield* URLSession.data(server.url)
      expect(statusOf(response)).toBe(304)
      expect(data.byteLength).toBe(0)
    }).pipe(Effect.provide(session())))
})

// Heads that are not HTTP in substance: each fails with a precise code, never `Unknown`.
const malformedHeads: ReadonlyArray<readonly [string, string]> = [
  ["a status below 100", "HTTP/1.1 099 Odd\r\nContent-Length: 0\r\n\r\n"],
  ["a status of 000", "HTTP/1.1 000 Zero\r\nContent-Length: 0\r\n\r\n"],
  ["a status above 999", "HTTP/1.1 1000 Big\r\nContent-Length: 0\r\n\r\n"],
  ["a status of two digits", "HTTP/1.1 20 OK\r\nContent-Length: 0\r\n\r\n"],
  ["a status that is not a number", "HTTP/1.1 abc OK\r\nContent-Length: 0\r\n\r\n"],
  ["no status at all", "HTTP/1.1\r\n\r\n"],
  ["an unknown protocol", "SPDY/3 200 OK\r\nContent-Length: 0\r\n\r\n"],
  ["HTTP/2 in an HTTP/1 head", "HTTP/2 200 OK\r\nContent-Length: 0\r\n\r\n"],
  ["garbage", "\x00\x01\x02garbage\r\n\r\n"],
  ["a field without a colon", "HTTP/1.1 200 OK\r\nNoColon\r\nContent-Length: 0\r\n\r\n"],
  ["a field name with a space", "HTTP/1.1 200 OK\r\nBad Name: x\r\nContent-Length: 0\r\n\r\n"],
  ["a NUL in a field value", "HTTP/1.1 200 OK\r\nX: a\x00b\r\nContent-Length: 0\r\n\r\n"],
  ["two different Content-Lengths", "HTTP/1.1 200 OK\r\nContent-Length: 1\r\nContent-Length: 2\r\n\r\nab"],
  ["a negative Content-Length", "HTTP/1.1 200 OK\r\nContent-Length: -1\r\n\r\n"],
  ["a Content-Length that is not a number", "HTTP/1.1 200 OK\r\nContent-Length: ten\r\n\r\n"],
  [
    "Content-Length with chunked",
    "HTTP/1.1 200 OK\r\nContent-Length: 3\r\nTransfer-Encoding: chunked\r\n\r\n3\r\nabc\r\n0\r\n\r\n"
  ],
  ["an unknown transfer coding", "HTTP/1.1 200 OK\r\nTransfer-Encoding: bogus\r\n\r\nabc"],
  ["an invalid chunk size", "HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\nzz\r\nabc\r\n0\r\n\r\n"],
  ["a bare LF head", "HTTP/1.1 200 OK\nContent-Length: 0\n\n\x00\x00"],
  ["an obsolete line folding", "HTTP/1.1 200 OK\r\nX: a\r\n b\r\nContent-Length: 0\r\n\r\n"],
  ["a head of 100 KiB", `HTTP/1.1 200 OK\r\nX-Big: ${"a".repeat(100 * 1024)}\r\nContent-Length: 0\r\n\r\n`],
  ["an unsolicited 101", "HTTP/1.1 101 Switching Protocols\r\nUpgrade: nonsense\r\nConnection: Upgrade\r\n\r\n"],
  ["a 1xx head of 100 KiB", `HTTP/1.1 100 Continue\r\nX-Big: ${"a".repeat(100 * 1024)}\r\n\r\nHTTP/1.1 200 OK\r\n\r\n`],
  ["a close in the middle of a 1xx head", "HTTP/1.1 100 Cont"],
  ["a close right after a 1xx head", "HTTP/1.1 100 Continue\r\n\r\n"]
]

describe("malformed heads", () => {
  it.scoped("no malformed head ever fails with Unknown; each fails with a precise code", () =>
    Effect.gen(function*() {
      const outcomes: Array<string> = []
      for (const [name, head] of malformedHeads) {
        const server = yield* tcpServer((socket) => {
          socket.on("error", () => {})
          socket.once("data", () => socket.end(head))
        })
        const exit = yield* Effect.exit(URLSession.data(server.url))
        const outcome = Exit.match(exit, {
          onFailure: (cause) => {
            const error = cause._tag === "Fail" ? cause.error : undefined
            return error === undefined ? `defect ${String(cause)}` : error.code
          },
          onSuccess: ({ response }) => `response ${statusOf(response)}`
        })
        outcomes.push(`${name}: ${outcome}`)
      }
      expect(outcomes.filter((outcome) => outcome.endsWith(": Unknown") || outcome.includes(": defect"))).toEqual([])
      // The status codes the HTTP grammar forbids are the server's fault, in so many words.
      for (const name of ["a status below 100", "a status of 000", "a status above 999", "a status of two digits"]) {
        expect(outcomes).toContain(`${name}: BadServerResponse`)
      }
    }).pipe(Effect.provide(session("2 seconds"))), { timeout: 60_000 })
})

describe("a complete body followed by the server's close", () => {
  // undici pauses its parser while a body's buffer is full. A body exactly as long as the
  // buffer pauses it on its last byte, before the message is complete; the peer's close then
  // reaches a paused parser. (Plain undici: an assertion that crashes the process, or
  // "other side closed" on a keep-alive connection.)
  const bufferSize = 16 * 1024
  const closes = {
    "a FIN after a Connection: close response": (socket: net.Socket) => socket.end(),
    "a reset after a Connection: close response": (socket: net.Socket) => socket.resetAndDestroy(),
    "a FIN after a keep-alive response": (socket: net.Socket) => socket.end()
  }
  for (const [name, close] of Object.entries(closes)) {
    it.live(`the session's connections read a body that filled its buffer to the end before ${name}`, () =>
      Effect.gen(function*() {
        const body = Buffer.alloc(bufferSize, 1)
        const connection = name.includes("keep-alive") ? "" : "Connection: close\r\n"
        const server = yield* tcpServer((socket) =>
          socket.once("data", () => {
            socket.write(`HTTP/1.1 200 OK\r\nContent-Length: ${bufferSize}\r\n${connection}\r\n`)
            socket.write(body, () => close(socket))
          })
        )
        const client = yield* Effect.acquireRelease(
          Effect.sync(() => new Client(server.url, { connect: Connector.make({}).connect })),
          (client) => Effect.promise(() => client.destroy())
        )
        const received = yield* Effect.promise(async () => {
          const response = await client.request({ path: "/", method: "GET", highWaterMark: bufferSize })
          // Nothing is read until the peer has closed.
          await new Promise((resolve) => setTimeout(resolve, 100))
          return Buffer.from(await response.body.arrayBuffer())
        })
        expect(sha256(received)).toBe(sha256(body))
      }).pipe(Effect.scoped))
  }

  it.scoped(
    "a gzip body decoded slower than it arrives, from a Connection: close server, is complete",
    () =>
      Effect.gen(function*() {
        const plain = Buffer.alloc(64 * 1024 * 1024, 7)
        const encoded = zlib.gzipSync(plain, { level: 1 })
        const server = yield* tcpServer((socket) =>
          socket.once("data", () => {
            socket.write(
              `HTTP/1.1 200 OK\r\nContent-Encoding: gzip\r\nContent-Length: ${encoded.length}\r\nConnection: close\r\n\r\n`
            )
            socket.end(encoded)
          })
        )
        const { data } = yield* URLSession.data(server.url)
        expect(sha256(data)).toBe(sha256(plain))
      }).pipe(Effect.provide(session())),
    { timeout: 60_000 }
  )

  it.scoped("a chunked gzip body whose terminator came before the close is complete", () =>
    Effect.gen(function*() {
      const plain = Buffer.alloc(64 * 1024 * 1024, 9)
      const encoded = zlib.gzipSync(plain, { level: 1 })
      const server = yield* tcpServer((socket) =>
        socket.once("data", () => {
          socket.write(
            "HTTP/1.1 200 OK\r\nContent-Encoding: gzip\r\nTransfer-Encoding: chunked\r\nConnection: close\r\n\r\n"
          )
          socket.write(`${encoded.length.toString(16)}\r\n`)
          socket.write(encoded)
          socket.end("\r\n0\r\n\r\n")
        })
      )
      const { data } = yield* URLSession.data(server.url)
      expect(sha256(data)).toBe(sha256(plain))
    }).pipe(Effect.provide(session())), { timeout: 60_000 })

  it.scoped("a body cut short before its Content-Length, then closed, is still NetworkConnectionLost", () =>
    Effect.gen(function*() {
      const server = yield* tcpServer((socket) =>
        socket.once(
          "data",
          () => socket.end("HTTP/1.1 200 OK\r\nContent-Length: 100\r\nConnection: close\r\n\r\nonly some")
        )
      )
      const error = yield* Effect.flip(URLSession.data(server.url))
      expect(error.code).toBe("NetworkConnectionLost")
      expect(URLError.isURLError(error)).toBe(true)
    }).pipe(Effect.provide(session())))
})
