import { describe, expect, it } from "@effect/vitest"
import { URLSession, URLSessionConfiguration, URLSessionEvent } from "@urlsession/core"
import { NodeURLSession } from "@urlsession/node"
import { Chunk, Effect, Fiber, Layer, Stream } from "effect"
import * as zlib from "node:zlib"
import { httpServer } from "../fixtures/servers.js"

const session = NodeURLSession.layer(URLSessionConfiguration.default)
const original = Buffer.from("The quick brown fox jumps over the lazy dog. ".repeat(2000))

const encodedServer = (encoding: string, body: Buffer) =>
  httpServer((_, response) => {
    response.writeHead(200, { "Content-Encoding": encoding, "Content-Length": String(body.length) })
    response.end(body)
  })

describe("content coding", () => {
  it.scoped.each<readonly [string, Buffer]>([
    ["gzip", zlib.gzipSync(original)],
    ["x-gzip", zlib.gzipSync(original)],
    ["deflate", zlib.deflateSync(original)],
    ["deflate", zlib.deflateRawSync(original)],
    ["br", zlib.brotliCompressSync(original)],
    ["deflate, gzip", zlib.gzipSync(zlib.deflateSync(original))]
  ])("%s is decoded transparently", ([encoding, body]) =>
    Effect.gen(function*() {
      const server = yield* encodedServer(encoding, body)
      const task = yield* URLSession.dataTask(server.url)
      const events = yield* task.events.pipe(Stream.runCollect, Effect.fork)
      yield* task.resume
      const { data, response } = yield* task.await
      expect(Buffer.from(data).equals(original)).toBe(true)
      expect(response.expectedContentLength).toBe(-1)
      expect(yield* task.countOfBytesExpectedToReceive).toBe(-1)
      expect(yield* task.countOfBytesReceived).toBe(original.length)
      const delivered = Buffer.concat(
        Chunk.toArray(yield* Fiber.join(events)).filter(URLSessionEvent.$is("DidReceiveData")).map((event) =>
          event.data
        )
      )
      expect(delivered.equals(original)).toBe(true)
    }).pipe(Effect.provide(session)))

  it.scoped("a corrupt encoded body fails with CannotDecodeContentData", () =>
    Effect.gen(function*() {
      const corrupt = Buffer.from(zlib.gzipSync(original))
      corrupt.fill(0x55, 20, 60)
      const server = yield* encodedServer("gzip", corrupt)
      const error = yield* Effect.flip(URLSession.data(server.url))
      expect(error.code).toBe("CannotDecodeContentData")
      expect(error.errorCode).toBe(-1016)
    }).pipe(Effect.provide(session)))

  it.scoped("a gzip body that ends before its trailer fails with CannotDecodeContentData", () =>
    Effect.gen(function*() {
      const whole = zlib.gzipSync(original)
      const server = yield* encodedServer("gzip", whole.subarray(0, whole.length - 20))
      expect((yield* Effect.flip(URLSession.data(server.url))).code).toBe("CannotDecodeContentData")
    }).pipe(Effect.provide(session)))

  it.scoped("a connection lost in an encoded body is still NetworkConnectionLost", () =>
    Effect.gen(function*() {
      const whole = zlib.gzipSync(Buffer.alloc(8 * 1024 * 1024, "a"))
      const server = yield* httpServer((_, response) => {
        response.writeHead(200, { "Content-Encoding": "gzip", "Content-Length": String(whole.length) })
        response.write(whole.subarray(0, whole.length / 2), () => response.socket!.destroy())
      })
      expect((yield* Effect.flip(URLSession.data(server.url))).code).toBe("NetworkConnectionLost")
    }).pipe(Effect.provide(session)))

  it.scoped("a decompression bomb stops at maximumDecodedContentLength with DataLengthExceedsMaximum", () =>
    Effect.gen(function*() {
      const bomb = zlib.gzipSync(Buffer.alloc(64 * 1024 * 1024))
      const server = yield* encodedServer("gzip", bomb)
      const error = yield* Effect.flip(
        URLSession.data(server.url).pipe(
          Effect.provide(Layer.orDie(NodeURLSession.layer(URLSessionConfiguration.default.pipe(
            URLSessionConfiguration.with({ maximumDecodedContentLength: 1024 * 1024 })
          ))))
        )
      )
      expect(bomb.length).toBeLessThan(100 * 1024)
      expect(error.code).toBe("DataLengthExceedsMaximum")
    }))

  it.scoped("an unknown coding is delivered as it came", () =>
    Effect.gen(function*() {
      const server = yield* encodedServer("x-custom", original)
      const { data, response } = yield* URLSession.data(server.url)
      expect(Buffer.from(data).equals(original)).toBe(true)
      expect(response.expectedContentLength).toBe(-1)
    }).pipe(Effect.provide(session)))
})
