/**
 * Encoded bodies that cannot be decoded, from raw `net` peers: corrupt, truncated, with a
 * checksum that does not match, or not encoded at all. Every one fails with
 * `CannotDecodeContentData` (-1016), for a data task, a streamed body and a download, and
 * never crashes or delivers a shorter body as complete; a connection lost inside an encoded
 * body is still `NetworkConnectionLost`.
 */
import { describe, expect, it } from "@effect/vitest"
import { URLSession, URLSessionConfiguration } from "@urlsession/core"
import { NodeURLSession } from "@urlsession/node"
import { Effect, Stream } from "effect"
import * as fs from "node:fs"
import * as path from "node:path"
import * as zlib from "node:zlib"
import { patterned, sha256, tempDirectory } from "../../fixtures/files.js"
import { failureOf, hostileServer, outcomeOf, resetAfter, responseHead } from "../../fixtures/hostile.js"

// Text that compresses, with a patterned tail so that a misplaced byte shows.
const original = Buffer.concat([
  Buffer.from("the quick brown fox jumps over the lazy dog. ".repeat(2000)),
  patterned(20_000)
])

const codings: ReadonlyArray<readonly [string, Buffer]> = [
  ["gzip", zlib.gzipSync(original)],
  ["x-gzip", zlib.gzipSync(original)],
  ["deflate", zlib.deflateSync(original)],
  ["deflate (raw, without its zlib wrapper)", zlib.deflateRawSync(original)],
  ["br", zlib.brotliCompressSync(original)],
  ["gzip, br", zlib.brotliCompressSync(zlib.gzipSync(original))]
]

const headerValue = (coding: string) => coding.replace(/ \(.*\)$/, "")

/** Each way an encoded body can be spoiled; `null` where the fault does not apply. */
const spoilers: ReadonlyArray<readonly [string, (encoded: Buffer, coding: string) => Buffer | null]> = [
  ["its first bytes overwritten", (encoded) => Buffer.concat([Buffer.from("garbage!"), encoded.subarray(8)])],
  // Raw deflate has no checksum: bytes overwritten inside it may still decode, to other bytes.
  ["a run of bytes in the middle overwritten", (encoded, coding) => {
    if (coding.startsWith("deflate (raw")) return null
    const spoiled = Buffer.from(encoded)
    spoiled.fill(0x55, encoded.length >> 2, (encoded.length >> 2) + 64)
    return spoiled
  }],
  ["cut in half", (encoded) => encoded.subarray(0, encoded.length >> 1)],
  ["cut a few bytes before its end", (encoded) => encoded.subarray(0, encoded.length - 3)],
  // gzip ends with CRC-32 and length; zlib-wrapped deflate with Adler-32; raw deflate and br
  // carry no checksum.
  ["a checksum that does not match", (encoded, coding) => {
    if (!["gzip", "x-gzip", "deflate"].includes(coding)) return null
    const spoiled = Buffer.from(encoded)
    spoiled[spoiled.length - (coding === "deflate" ? 1 : 6)]! ^= 0xff
    return spoiled
  }],
  ["a length that does not match (gzip's ISIZE)", (encoded, coding) => {
    if (coding !== "gzip" && coding !== "x-gzip") return null
    const spoiled = Buffer.from(encoded)
    spoiled[spoiled.length - 2]! ^= 0xff
    return spoiled
  }],
  ["not encoded at all", () => original]
]

const session = (directory: string) =>
  NodeURLSession.layer(
    URLSessionConfiguration.default.pipe(URLSessionConfiguration.with({ timeoutIntervalForRequest: "2 seconds" })),
    { downloadsDirectory: directory }
  )

describe("encoded bodies that cannot be decoded", () => {
  for (const [coding, encoded] of codings) {
    const spoiled = spoilers.flatMap(([fault, spoil]) => {
      const bytes = spoil(encoded, coding)
      return bytes === null ? [] : [[fault, bytes] as const]
    })
    it.scoped(`${coding}: a corrupt, cut, mis-summed or unencoded body is CannotDecodeContentData, no file left`, () =>
      Effect.gen(function*() {
        const root = yield* tempDirectory
        const directory = path.join(root, "session")
        const to = path.join(root, "file.bin")
        const outcomes = yield* Effect.forEach(spoiled, ([fault, bytes]) =>
          Effect.gen(function*() {
            const head = responseHead(200, { "Content-Encoding": headerValue(coding), "Content-Length": bytes.length })
            const server = yield* hostileServer((socket) => socket.write(Buffer.concat([Buffer.from(head), bytes])))
            const data = outcomeOf(yield* Effect.exit(URLSession.data(server.url)))
            const stream = outcomeOf(
              yield* Effect.exit(
                Effect.scoped(Effect.flatMap(URLSession.bytes(server.url), ({ body }) => Stream.runDrain(body)))
              )
            )
            const download = outcomeOf(yield* Effect.exit(Effect.scoped(URLSession.download(server.url, { to }))))
            return `${fault}: data ${data}, stream ${stream}, download ${download}`
          })).pipe(Effect.provide(session(directory)))
        const expected =
          "data CannotDecodeContentData, stream CannotDecodeContentData, download CannotDecodeContentData"
        expect(outcomes).toEqual(spoiled.map(([fault]) => `${fault}: ${expected}`))
        expect(fs.existsSync(to)).toBe(false)
        expect(fs.existsSync(directory) ? fs.readdirSync(directory) : []).toEqual([])
      }))
  }

  it.scoped("a chunked gzip body cut before its trailer, with a well-formed terminating chunk: CannotDecodeContentData", () =>
    Effect.gen(function*() {
      const directory = yield* tempDirectory
      const encoded = zlib.gzipSync(original)
      const cut = encoded.subarray(0, encoded.length - 8)
      const server = yield* hostileServer((socket) =>
        socket.write(Buffer.concat([
          Buffer.from(responseHead(200, { "Content-Encoding": "gzip", "Transfer-Encoding": "chunked" })),
          Buffer.from(`${cut.length.toString(16)}\r\n`),
          cut,
          Buffer.from("\r\n0\r\n\r\n")
        ]))
      )
      const error = yield* failureOf(URLSession.data(server.url)).pipe(Effect.provide(session(directory)))
      expect(error.code).toBe("CannotDecodeContentData")
    }))
})

describe("encoded bodies that decode", () => {
  it.scoped("a gzip body of two members decodes to both, in order", () =>
    Effect.gen(function*() {
      const directory = yield* tempDirectory
      const first = original.subarray(0, 50_000)
      const second = original.subarray(50_000)
      const encoded = Buffer.concat([zlib.gzipSync(first), zlib.gzipSync(second)])
      const server = yield* hostileServer((socket) =>
        socket.write(Buffer.concat([
          Buffer.from(responseHead(200, { "Content-Encoding": "gzip", "Content-Length": encoded.length })),
          encoded
        ]))
      )
      const { data } = yield* URLSession.data(server.url).pipe(Effect.provide(session(directory)))
      expect(sha256(data)).toBe(sha256(original))
    }))

  it.scoped("coding names are case-insensitive and identity is skipped", () =>
    Effect.gen(function*() {
      const directory = yield* tempDirectory
      const encoded = zlib.gzipSync(original)
      const server = yield* hostileServer((socket) =>
        socket.write(Buffer.concat([
          Buffer.from(responseHead(200, { "Content-Encoding": "Identity, GZIP", "Content-Length": encoded.length })),
          encoded
        ]))
      )
      const { data } = yield* URLSession.data(server.url).pipe(Effect.provide(session(directory)))
      expect(sha256(data)).toBe(sha256(original))
    }))
})

describe("an empty body that names a coding", () => {
  it.scoped("with Content-Length: 0 it is delivered empty", () =>
    Effect.gen(function*() {
      const directory = yield* tempDirectory
      const server = yield* hostileServer((socket) =>
        socket.write(responseHead(200, { "Content-Encoding": "gzip", "Content-Length": 0 }))
      )
      const { data } = yield* URLSession.data(server.url).pipe(Effect.provide(session(directory)))
      expect(data.byteLength).toBe(0)
    }))

  // An empty body has nothing to decode whatever its framing (browsers and curl deliver it
  // empty too).
  for (
    const [framing, answer] of [
      [
        "as a single terminating chunk",
        `${responseHead(200, { "Content-Encoding": "gzip", "Transfer-Encoding": "chunked" })}0\r\n\r\n`
      ],
      ["ended by the close", responseHead(200, { "Content-Encoding": "br", Connection: "close" })]
    ] as const
  ) {
    it.scoped(`${framing} it is delivered empty too`, () =>
      Effect.gen(function*() {
        const directory = yield* tempDirectory
        const server = yield* hostileServer((socket) => socket.end(answer))
        const exit = yield* Effect.exit(URLSession.data(server.url)).pipe(Effect.provide(session(directory)))
        expect(outcomeOf(exit)).toBe("success")
      }))
  }
})

describe("a connection lost inside an encoded body", () => {
  for (const [coding, encoded] of codings) {
    it.scoped(`${coding}: a reset half way is NetworkConnectionLost, not a decoding failure`, () =>
      Effect.gen(function*() {
        const directory = yield* tempDirectory
        const server = yield* hostileServer((socket) =>
          resetAfter(
            socket,
            Buffer.concat([
              Buffer.from(
                responseHead(200, { "Content-Encoding": headerValue(coding), "Content-Length": encoded.length })
              ),
              encoded.subarray(0, encoded.length >> 1)
            ])
          )
        )
        const error = yield* failureOf(URLSession.data(server.url)).pipe(Effect.provide(session(directory)))
        expect(error.code).toBe("NetworkConnectionLost")
      }))
  }
})
