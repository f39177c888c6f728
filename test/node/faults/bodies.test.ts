/**
 * Bodies that contradict their own heads, from raw `net` peers: shorter or longer than their
 * Content-Length, chunked framing that breaks, bodies cut by a close or a reset. Data tasks,
 * streamed bodies and downloads each fail with the exact code, and a download that fails never
 * leaves its partial bytes where a complete file is expected.
 */
import { describe, expect, it } from "@effect/vitest"
import { URLSession, URLSessionConfiguration } from "@urlsession/core"
import { NodeURLSession } from "@urlsession/node"
import { Effect, Layer, Stream } from "effect"
import * as fs from "node:fs"
import * as path from "node:path"
import { patterned, sha256, tempDirectory } from "../../fixtures/files.js"
import { failureOf, hostileServer, outcomeOf, resetAfter, responseHead } from "../../fixtures/hostile.js"

const text = (data: Uint8Array) => new TextDecoder().decode(data)

/** A session writing its downloads to `directory`, with a short idle timeout. */
const session = (directory: string) =>
  Layer.orDie(NodeURLSession.layer(
    URLSessionConfiguration.default.pipe(URLSessionConfiguration.with({ timeoutIntervalForRequest: "2 seconds" })),
    { downloadsDirectory: directory }
  ))

/** A download's directory and a target beside it, both fresh. */
const downloadPlaces = Effect.gen(function*() {
  const root = yield* tempDirectory
  const directory = path.join(root, "session")
  return { directory, to: path.join(root, "file.bin") }
})

/** What a streamed body delivered before it ended, and how it ended. */
const streamed = (url: string) =>
  Effect.gen(function*() {
    const chunks: Array<Uint8Array> = []
    const { body } = yield* URLSession.bytes(url)
    const end = yield* Effect.exit(Stream.runForEach(body, (chunk) => Effect.sync(() => void chunks.push(chunk))))
    return { delivered: Buffer.concat(chunks), end }
  }).pipe(Effect.scoped)

describe("a body shorter than its Content-Length", () => {
  const body = patterned(64 * 1024)
  // Half the declared body, then the end of the connection: a close (FIN) or a reset (RST).
  const cutShort = (ending: "close" | "reset") =>
    hostileServer((socket) => {
      const head = responseHead(200, { "Content-Length": body.length, "Content-Type": "application/octet-stream" })
      const half = Buffer.concat([Buffer.from(head), body.subarray(0, body.length / 2)])
      if (ending === "close") socket.end(half)
      else resetAfter(socket, half)
    })

  for (const ending of ["close", "reset"] as const) {
    it.scoped(`then a ${ending}: a data task fails with NetworkConnectionLost`, () =>
      Effect.gen(function*() {
        const { directory } = yield* downloadPlaces
        const server = yield* cutShort(ending)
        const error = yield* failureOf(URLSession.data(server.url).pipe(Effect.provide(session(directory))))
        expect(error.code).toBe("NetworkConnectionLost")
        expect(error.failingURL).toBe(server.url)
      }))

    it.scoped(`then a ${ending}: a streamed body delivers a prefix and fails; it never ends as if complete`, () =>
      Effect.gen(function*() {
        const { directory } = yield* downloadPlaces
        const server = yield* cutShort(ending)
        const { delivered, end } = yield* streamed(server.url).pipe(Effect.provide(session(directory)))
        expect(outcomeOf(end)).toBe("NetworkConnectionLost")
        expect(delivered.length).toBeLessThan(body.length)
        expect(sha256(delivered)).toBe(sha256(body.subarray(0, delivered.length)))
      }))

    it.scoped(`then a ${ending}: a download fails, nothing is at \`to\` and no file is left`, () =>
      Effect.gen(function*() {
        const { directory, to } = yield* downloadPlaces
        const server = yield* cutShort(ending)
        const error = yield* failureOf(
          URLSession.download(server.url, { to }).pipe(Effect.scoped, Effect.provide(session(directory)))
        )
        expect(error.code).toBe("NetworkConnectionLost")
        // No validator, no byte ranges: nothing to resume, so nothing is kept.
        expect(error.resumeData).toBeUndefined()
        expect(fs.existsSync(to)).toBe(false)
        expect(fs.existsSync(directory) ? fs.readdirSync(directory) : []).toEqual([])
      }))
  }

  it.scoped("a resumable download cut short keeps exactly the bytes received, for its resume data, and never at `to`", () =>
    Effect.gen(function*() {
      const { directory, to } = yield* downloadPlaces
      const server = yield* hostileServer((socket) =>
        socket.end(Buffer.concat([
          Buffer.from(responseHead(200, { "Content-Length": body.length, ETag: "\"v1\"", "Accept-Ranges": "bytes" })),
          body.subarray(0, 40_000)
        ]))
      )
      const error = yield* failureOf(
        URLSession.download(server.url, { to }).pipe(Effect.scoped, Effect.provide(session(directory)))
      )
      expect(error.code).toBe("NetworkConnectionLost")
      const resumeData = error.resumeData!
      expect(resumeData.bytesReceived).toBe(40_000)
      expect(resumeData.expectedLength).toBe(body.length)
      expect(fs.existsSync(to)).toBe(false)
      expect(fs.readdirSync(directory)).toEqual([resumeData.partialFile])
      expect(sha256(fs.readFileSync(path.join(directory, resumeData.partialFile)))).toBe(
        sha256(body.subarray(0, 40_000))
      )
    }))
})

describe("a body longer than its Content-Length", () => {
  // The bytes past the declared length come on a connection kept alive: they can only be the
  // start of a next response, which nobody asked for.
  const overlong = (extra: string) =>
    hostileServer((socket, request) =>
      socket.write(
        request.target === "/next"
          ? `${responseHead(200, { "Content-Length": 4 })}next`
          : `${responseHead(200, { "Content-Length": 5 })}hello${extra}`
      )
    )

  it.scoped("a data task gets exactly Content-Length bytes; the next request gets its own answer", () =>
    Effect.gen(function*() {
      const { directory } = yield* downloadPlaces
      const server = yield* overlong("EXTRA BYTES")
      yield* Effect.gen(function*() {
        expect(text((yield* URLSession.data(server.url)).data)).toBe("hello")
        expect(text((yield* URLSession.data(`${server.url}/next`)).data)).toBe("next")
      }).pipe(Effect.provide(session(directory)))
    }))

  it.scoped("a download holds exactly Content-Length bytes", () =>
    Effect.gen(function*() {
      const { directory, to } = yield* downloadPlaces
      const server = yield* overlong("EXTRA BYTES")
      yield* URLSession.download(server.url, { to }).pipe(Effect.scoped, Effect.provide(session(directory)))
      expect(fs.readFileSync(to, "latin1")).toBe("hello")
    }))

  it.scoped("bytes past Content-Length shaped as a response are never taken for the next request's answer", () =>
    Effect.gen(function*() {
      const { directory } = yield* downloadPlaces
      const server = yield* overlong(`${responseHead(200, { "Content-Length": 6 })}forged`)
      yield* Effect.gen(function*() {
        expect(text((yield* URLSession.data(server.url)).data)).toBe("hello")
        expect(text((yield* URLSession.data(`${server.url}/next`)).data)).toBe("next")
        // The connection that carried the forged bytes was not used again.
        expect(server.connections.accepted()).toBe(2)
      }).pipe(Effect.provide(session(directory)))
    }))
})

describe("chunked bodies whose framing breaks", () => {
  const chunked = responseHead(200, { "Transfer-Encoding": "chunked" })
  const cases: ReadonlyArray<readonly [string, string, "close" | "keep", string]> = [
    [
      "a chunk size that is not hex, after a good chunk",
      "3\r\nabc\r\nzz\r\nabc\r\n0\r\n\r\n",
      "keep",
      "CannotParseResponse"
    ],
    ["a negative chunk size", "-3\r\nabc\r\n0\r\n\r\n", "keep", "CannotParseResponse"],
    ["a chunk size past 64 bits", "ffffffffffffffffff\r\nabc\r\n0\r\n\r\n", "keep", "CannotParseResponse"],
    ["chunk data longer than its size", "3\r\nabcdef\r\n0\r\n\r\n", "keep", "CannotParseResponse"],
    ["a control character in a chunk extension", "3;\x01\r\nabc\r\n0\r\n\r\n", "keep", "CannotParseResponse"],
    ["no terminating chunk, then a close", "3\r\nabc\r\n", "close", "NetworkConnectionLost"],
    ["a close inside a chunk", "a\r\nabc", "close", "NetworkConnectionLost"],
    ["a close inside a chunk size line", "3\r\nabc\r\n1", "close", "NetworkConnectionLost"],
    ["a close between the last chunk and the final CRLF", "3\r\nabc\r\n0\r\n", "close", "NetworkConnectionLost"]
  ]

  for (const [name, framing, ending, code] of cases) {
    it.scoped(`${name}: ${code}, for a data task and a download, with no file left`, () =>
      Effect.gen(function*() {
        const { directory, to } = yield* downloadPlaces
        const server = yield* hostileServer((socket) =>
          ending === "close" ? socket.end(chunked + framing) : socket.write(chunked + framing)
        )
        yield* Effect.gen(function*() {
          expect((yield* failureOf(URLSession.data(server.url))).code).toBe(code)
          expect((yield* failureOf(Effect.scoped(URLSession.download(server.url, { to })))).code).toBe(code)
        }).pipe(Effect.provide(session(directory)))
        expect(fs.existsSync(to)).toBe(false)
        expect(fs.existsSync(directory) ? fs.readdirSync(directory) : []).toEqual([])
      }))
  }

  it.scoped("a chunked body whose terminator came is complete, whatever the socket does next", () =>
    Effect.gen(function*() {
      const { directory } = yield* downloadPlaces
      const server = yield* hostileServer((socket) => resetAfter(socket, `${chunked}3\r\nabc\r\n2\r\nde\r\n0\r\n\r\n`))
      const { data } = yield* URLSession.data(server.url).pipe(Effect.provide(session(directory)))
      expect(text(data)).toBe("abcde")
    }))
})

describe("a body delimited by the connection's close", () => {
  const head = responseHead(200, { Connection: "close" })
  const body = patterned(200_000)

  it.scoped("ends at a clean close: every byte is delivered", () =>
    Effect.gen(function*() {
      const { directory } = yield* downloadPlaces
      const server = yield* hostileServer((socket) => socket.end(Buffer.concat([Buffer.from(head), body])))
      const { data, response } = yield* URLSession.data(server.url).pipe(Effect.provide(session(directory)))
      expect(response.expectedContentLength).toBe(-1)
      expect(sha256(data)).toBe(sha256(body))
    }))

  // undici takes a reset on a connection that is not kept alive as the end of the body;
  // RFC 9112 §8: such a body is complete "unless an error was indicated by the underlying
  // connection". The reset comes once the bytes before it have been read: on Linux, a reset
  // that finds bytes still queued is reported to Node as a plain end of stream, which no
  // client above the socket can tell from a complete body (README, "body length").
  it.scoped("a reset is no end: NetworkConnectionLost for a data task, a streamed body and a download", () =>
    Effect.gen(function*() {
      const { directory, to } = yield* downloadPlaces
      const server = yield* hostileServer((socket) =>
        socket.write(Buffer.concat([Buffer.from(head), body]), () => setTimeout(() => socket.resetAndDestroy(), 100))
      )
      yield* Effect.gen(function*() {
        expect(outcomeOf(yield* Effect.exit(URLSession.data(server.url)))).toBe("NetworkConnectionLost")
        const { delivered, end } = yield* streamed(server.url)
        expect(sha256(delivered)).toBe(sha256(body.subarray(0, delivered.length)))
        expect(outcomeOf(end)).toBe("NetworkConnectionLost")
        expect(outcomeOf(yield* Effect.exit(Effect.scoped(URLSession.download(server.url, { to }))))).toBe(
          "NetworkConnectionLost"
        )
        expect(fs.existsSync(to)).toBe(false)
      }).pipe(Effect.provide(session(directory)))
    }))
})

describe("a streamed body cut short", () => {
  it.scoped("delivers each byte it received once, in order, before its failure", () =>
    Effect.gen(function*() {
      const { directory } = yield* downloadPlaces
      const body = patterned(512 * 1024)
      const server = yield* hostileServer((socket) => {
        socket.write(responseHead(200, { "Content-Length": body.length }))
        // Pieces a few milliseconds apart, so the stream sees several chunks before the cut.
        let offset = 0
        const timer = setInterval(() => {
          if (offset >= 300 * 1024) {
            clearInterval(timer)
            return void socket.end()
          }
          socket.write(body.subarray(offset, offset += 50 * 1024))
        }, 5)
        socket.on("close", () => clearInterval(timer))
      })
      const { delivered, end } = yield* streamed(server.url).pipe(Effect.provide(session(directory)))
      expect(outcomeOf(end)).toBe("NetworkConnectionLost")
      expect(delivered.length).toBe(300 * 1024)
      expect(sha256(delivered)).toBe(sha256(body.subarray(0, 300 * 1024)))
    }))
})
