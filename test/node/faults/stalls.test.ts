/**
 * Servers that stop sending part way, from raw `net` peers that keep the connection open: the
 * idle timer (`timeoutIntervalForRequest`) ends each load with `TimedOut` when it runs out,
 * not before, and the resource timer does the same for a server that never stops dripping.
 * A stalled download keeps what it has for its resume data, or leaves nothing.
 */
import { describe, expect, it } from "@effect/vitest"
import { type URLError, URLSession, URLSessionConfiguration } from "@urlsession/core"
import { NodeURLSession } from "@urlsession/node"
import { Effect, Stream } from "effect"
import * as fs from "node:fs"
import * as path from "node:path"
import * as zlib from "node:zlib"
import { patterned, sha256, tempDirectory } from "../../fixtures/files.js"
import {
  failureOf,
  hostileServer,
  outcomeOf,
  type Resource,
  responseHead,
  serveRanges,
  stallAfter,
  wholeFields
} from "../../fixtures/hostile.js"

const idle = 300

const session = (directory: string, overrides: URLSessionConfiguration.Overrides = {}) =>
  NodeURLSession.layer(
    URLSessionConfiguration.default.pipe(URLSessionConfiguration.with({
      timeoutIntervalForRequest: `${idle} millis`,
      ...overrides
    })),
    { downloadsDirectory: directory }
  )

/** The error of a load that must fail, and how long after its start it failed. */
const timedFailure = <R>(load: Effect.Effect<unknown, URLError.URLError, R>) =>
  Effect.gen(function*() {
    const started = Date.now()
    const error = yield* failureOf(load)
    return { error, after: Date.now() - started }
  })

// The timer fires once `idle` has passed without a byte; a loaded machine may add to it,
// never take from it.
const expectIdleTimeout = (after: number, silentFrom = 0) => {
  expect(after).toBeGreaterThanOrEqual(silentFrom + idle - 20)
  expect(after).toBeLessThan(silentFrom + idle + 1500)
}

const body = patterned(100_000)

describe("a server that stops sending", () => {
  const stalls: ReadonlyArray<readonly [string, Buffer]> = [
    ["after its head, before the body", Buffer.from(responseHead(200, { "Content-Length": body.length }))],
    [
      "in the middle of the body",
      Buffer.concat([Buffer.from(responseHead(200, { "Content-Length": body.length })), body.subarray(0, 30_000)])
    ],
    [
      "in the middle of a chunk size line",
      Buffer.from(`${responseHead(200, { "Transfer-Encoding": "chunked" })}5\r\nhello\r\n1`)
    ],
    [
      "before the last chunk of a chunked body",
      Buffer.from(`${responseHead(200, { "Transfer-Encoding": "chunked" })}5\r\nhello\r\n`)
    ],
    [
      "in the middle of a gzip body (the decoder waits; it does not call the body corrupt)",
      (() => {
        const encoded = zlib.gzipSync(body)
        return Buffer.concat([
          Buffer.from(responseHead(200, { "Content-Encoding": "gzip", "Content-Length": encoded.length })),
          encoded.subarray(0, encoded.length >> 1)
        ])
      })()
    ],
    ["in the middle of the head", Buffer.from("HTTP/1.1 200 OK\r\nContent-Len")]
  ]

  // The stalls run side by side: each waits out the same idle timeout.
  it.live("wherever it stops, a data task fails with TimedOut once the idle timeout has passed, not before", () =>
    Effect.gen(function*() {
      const directory = yield* tempDirectory
      const outcomes = yield* Effect.forEach(stalls, ([name, sent]) =>
        Effect.gen(function*() {
          const server = yield* hostileServer((socket) => stallAfter(socket, sent))
          const { after, error } = yield* timedFailure(URLSession.data(server.url))
          expect(error.failingURL).toBe(server.url)
          expectIdleTimeout(after)
          return `${name}: ${error.code}`
        }), { concurrency: "unbounded" }).pipe(Effect.provide(session(directory)))
      expect(outcomes).toEqual(stalls.map(([name]) => `${name}: TimedOut`))
    }).pipe(Effect.scoped))

  it.live("a streamed body delivers what came, then fails with TimedOut; it never ends as if complete", () =>
    Effect.gen(function*() {
      const directory = yield* tempDirectory
      const server = yield* hostileServer((socket) =>
        stallAfter(
          socket,
          Buffer.concat([Buffer.from(responseHead(200, { "Content-Length": body.length })), body.subarray(0, 30_000)])
        )
      )
      const chunks: Array<Uint8Array> = []
      const end = yield* Effect.gen(function*() {
        const { body: stream } = yield* URLSession.bytes(server.url)
        return yield* Effect.exit(Stream.runForEach(stream, (chunk) => Effect.sync(() => void chunks.push(chunk))))
      }).pipe(Effect.scoped, Effect.provide(session(directory)))
      expect(outcomeOf(end)).toBe("TimedOut")
      expect(sha256(Buffer.concat(chunks))).toBe(sha256(body.subarray(0, 30_000)))
    }).pipe(Effect.scoped))

  it.live("the idle timer counts from the last byte: a body that moves, then stalls, times out that long after", () =>
    Effect.gen(function*() {
      const directory = yield* tempDirectory
      const server = yield* hostileServer((socket) => {
        socket.write(responseHead(200, { "Content-Length": 10 }))
        // Four bytes, one every 150 ms (each inside the idle timeout), then silence.
        let sent = 0
        const timer = setInterval(() => {
          socket.write("x")
          if (++sent === 4) clearInterval(timer)
        }, 150)
        socket.on("close", () => clearInterval(timer))
      })
      const { after, error } = yield* timedFailure(URLSession.data(server.url)).pipe(Effect.provide(session(directory)))
      expect(error.code).toBe("TimedOut")
      expectIdleTimeout(after, 600)
    }).pipe(Effect.scoped))
})

describe("a download that stalls", () => {
  const resource: Resource = { body, etag: "\"s1\"" }

  it.live("with validators: TimedOut with resume data for the bytes received; resuming finishes byte for byte", () =>
    Effect.gen(function*() {
      const directory = yield* tempDirectory
      const target = yield* tempDirectory
      const to = path.join(target, "file.bin")
      // The first answer stalls after 30 000 bytes; the resumed one is served in full.
      const server = yield* hostileServer((socket, request, index) =>
        index === 0
          ? stallAfter(
            socket,
            Buffer.concat([Buffer.from(responseHead(200, wholeFields(resource))), body.subarray(0, 30_000)])
          )
          : serveRanges(socket, request, resource)
      )
      yield* Effect.gen(function*() {
        const { after, error } = yield* timedFailure(Effect.scoped(URLSession.download(server.url, { to })))
        expect(error.code).toBe("TimedOut")
        expectIdleTimeout(after)
        expect(fs.existsSync(to)).toBe(false)
        const resumeData = error.resumeData!
        expect(resumeData.bytesReceived).toBe(30_000)
        expect(fs.readdirSync(directory)).toEqual([resumeData.partialFile])
        const task = yield* URLSession.downloadTaskWithResumeData(resumeData)
        yield* task.resume
        const { location } = yield* task.await
        expect(server.requests[1]!.rangeStart).toBe(30_000)
        expect(sha256(fs.readFileSync(location))).toBe(sha256(body))
      }).pipe(Effect.provide(session(directory)))
    }).pipe(Effect.scoped))

  it.live("without validators: TimedOut, nothing at `to` and no file left", () =>
    Effect.gen(function*() {
      const directory = yield* tempDirectory
      const target = yield* tempDirectory
      const to = path.join(target, "file.bin")
      const server = yield* hostileServer((socket) =>
        stallAfter(
          socket,
          Buffer.concat([Buffer.from(responseHead(200, { "Content-Length": body.length })), body.subarray(0, 30_000)])
        )
      )
      const error = yield* failureOf(Effect.scoped(URLSession.download(server.url, { to }))).pipe(
        Effect.provide(session(directory))
      )
      expect(error.code).toBe("TimedOut")
      expect(error.resumeData).toBeUndefined()
      expect(fs.existsSync(to)).toBe(false)
      expect(fs.readdirSync(target)).toEqual([])
      expect(fs.existsSync(directory) ? fs.readdirSync(directory) : []).toEqual([])
    }).pipe(Effect.scoped))
})

describe("a server that never stops dripping", () => {
  // A byte every 50 ms keeps the idle timer from ever firing; only the resource timer can.
  const dripping = (fields: Readonly<Record<string, string | number>>) =>
    hostileServer((socket) => {
      socket.write(responseHead(200, fields))
      let offset = 0
      const timer = setInterval(() => socket.write(body.subarray(offset, ++offset)), 50)
      socket.on("close", () => clearInterval(timer))
    })
  const resource = 600

  it.live("a data task fails with TimedOut at timeoutIntervalForResource, not before", () =>
    Effect.gen(function*() {
      const directory = yield* tempDirectory
      const server = yield* dripping({ "Content-Length": body.length })
      const { after, error } = yield* timedFailure(URLSession.data(server.url)).pipe(
        Effect.provide(session(directory, { timeoutIntervalForResource: `${resource} millis` }))
      )
      expect(error.code).toBe("TimedOut")
      expect(error.message).toContain("resource")
      expect(after).toBeGreaterThanOrEqual(resource - 20)
      expect(after).toBeLessThan(resource + 1500)
    }).pipe(Effect.scoped))

  it.live("a download fails with TimedOut at timeoutIntervalForResource, with resume data for what came", () =>
    Effect.gen(function*() {
      const directory = yield* tempDirectory
      const server = yield* dripping(wholeFields({ body, etag: "\"d1\"" }))
      const error = yield* failureOf(Effect.scoped(URLSession.download(server.url))).pipe(
        Effect.provide(session(directory, { timeoutIntervalForResource: `${resource} millis` }))
      )
      expect(error.code).toBe("TimedOut")
      const resumeData = error.resumeData!
      expect(resumeData.bytesReceived).toBeGreaterThan(0)
      expect(sha256(fs.readFileSync(path.join(directory, resumeData.partialFile)))).toBe(
        sha256(body.subarray(0, resumeData.bytesReceived))
      )
    }).pipe(Effect.scoped))
})
