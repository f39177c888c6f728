import { describe, expect, it } from "@effect/vitest"
import {
  URLRequest,
  URLSession,
  URLSessionConfiguration,
  type URLSessionDelegate,
  URLSessionEvent
} from "@urlsession/core"
import { NodeURLSession } from "@urlsession/node"
import { Chunk, Effect, Fiber, Layer, Option, Stream } from "effect"
import { createHash, randomFillSync } from "node:crypto"
import * as fs from "node:fs"
import * as path from "node:path"
import { patterned, sha256, tempDirectory } from "../fixtures/files.js"
import { httpServer, tcpServer } from "../fixtures/servers.js"
import { canSwitchUser, loadAsNobody, rootOnlyFile } from "../fixtures/unprivileged.js"

/** What the server saw of one request. */
interface Received {
  readonly method: string
  readonly url: string
  readonly sha256: string
  readonly length: number
  readonly contentLength: string | null
  readonly transferEncoding: string | null
  readonly contentType: string | null
}

/**
 * Hashes every request body as it streams in and answers with what it saw (JSON). `/307`
 * and `/303` answer, after reading the body, with that redirect to `/upload`.
 */
const hashingServer = Effect.gen(function*() {
  const received: Array<Received> = []
  const server = yield* httpServer((request, response) => {
    const hash = createHash("sha256")
    let length = 0
    request.on("data", (chunk: Buffer) => {
      hash.update(chunk)
      length += chunk.length
    })
    request.on("end", () => {
      const seen: Received = {
        method: request.method ?? "",
        url: request.url ?? "",
        sha256: hash.digest("hex"),
        length,
        contentLength: request.headers["content-length"] ?? null,
        transferEncoding: request.headers["transfer-encoding"] ?? null,
        contentType: request.headers["content-type"] ?? null
      }
      received.push(seen)
      const redirect = request.url?.match(/^\/(30\d)$/)
      if (redirect) {
        response.writeHead(Number(redirect[1]), { Location: "/upload" })
        return void response.end()
      }
      response.writeHead(200, { "Content-Type": "application/json" })
      response.end(JSON.stringify(seen))
    })
  })
  return { url: server.url, connections: server.connections, received }
})

const session = Layer.orDie(NodeURLSession.layer(URLSessionConfiguration.default))
const withDelegate = (delegate: URLSessionDelegate.URLSessionDelegate) =>
  Layer.orDie(NodeURLSession.layer(URLSessionConfiguration.default, { delegate }))

const answer = (data: Uint8Array): Received => JSON.parse(new TextDecoder().decode(data))

/** A stream of `count` chunks of `size` bytes, and its hash. */
const chunked = (count: number, size: number) => {
  const chunks = Array.from({ length: count }, (_, i) => patterned(size, i))
  return { stream: Stream.fromIterable(chunks), sha256: sha256(Buffer.concat(chunks)), length: count * size }
}

/** Writes a file of `size` random bytes in 1 MiB steps; returns its hash. */
const writeRandomFile = (file: string, size: number) => {
  const hash = createHash("sha256")
  const block = Buffer.alloc(1024 * 1024)
  const fd = fs.openSync(file, "w")
  for (let written = 0; written < size; written += block.length) {
    const piece = block.subarray(0, Math.min(block.length, size - written))
    randomFillSync(piece)
    hash.update(piece)
    fs.writeSync(fd, piece)
  }
  fs.closeSync(fd)
  return hash.digest("hex")
}

/** Runs an upload task with a subscriber, returning the result and its events. */
const uploadObserved = (request: string | URLRequest.URLRequest, body: Parameters<typeof URLSession.uploadTask>[1]) =>
  Effect.gen(function*() {
    const task = yield* URLSession.uploadTask(request, body)
    const events = yield* task.events.pipe(Stream.runCollect, Effect.fork)
    yield* task.resume
    const result = yield* task.await
    return {
      result,
      task,
      observed: Chunk.toArray(yield* Fiber.join(events))
    }
  })

const expectProgress = (observed: ReadonlyArray<URLSessionEvent.URLSessionEvent>, total: number, expected: number) => {
  const progress = observed.filter(URLSessionEvent.$is("DidSendBodyData"))
  expect(progress.length).toBeGreaterThan(0)
  const totals = progress.map((event) => event.totalBytesSent)
  expect(totals).toEqual([...totals].sort((a, b) => a - b))
  expect(totals.at(-1)).toBe(total)
  expect(progress.reduce((sum, event) => sum + event.bytesSent, 0)).toBe(total)
  expect(progress.every((event) => event.totalBytesExpectedToSend === expected)).toBe(true)
  // Every byte is sent before the response is reported.
  const tags = observed.map((event) => event._tag)
  expect(tags.lastIndexOf("DidSendBodyData")).toBeLessThan(tags.indexOf("DidReceiveResponse"))
  expect(tags.at(-1)).toBe("DidCompleteWithError")
}

describe("upload tasks", () => {
  it.live("bytes: sent whole with their length, as a POST; progress to the total before the response", () =>
    Effect.gen(function*() {
      const server = yield* hashingServer
      const body = patterned(3 * 1024 * 1024 + 3)
      const { observed, result, task } = yield* uploadObserved(`${server.url}/upload`, body)
      const seen = answer(result.data)
      expect(seen).toMatchObject({ method: "POST", sha256: sha256(body), length: body.length })
      expect(seen.contentLength).toBe(String(body.length))
      expectProgress(observed, body.length, body.length)
      expect(yield* task.countOfBytesSent).toBe(body.length)
      expect(yield* task.countOfBytesExpectedToSend).toBe(body.length)
    }).pipe(Effect.provide(session), Effect.scoped))

  it.live(
    "a file of 100 MiB streams from disk: byte-identical, with its length and a Content-Type",
    () =>
      Effect.gen(function*() {
        const directory = yield* tempDirectory
        const file = path.join(directory, "big.bin")
        const size = 100 * 1024 * 1024 + 11
        const hash = writeRandomFile(file, size)
        const server = yield* hashingServer
        const request = URLRequest.make(`${server.url}/upload`).pipe(URLRequest.setMethod("PUT"))
        const { observed, result, task } = yield* uploadObserved(request, { file })
        const seen = answer(result.data)
        expect(seen).toMatchObject({ method: "PUT", sha256: hash, length: size, transferEncoding: null })
        expect(seen.contentLength).toBe(String(size))
        expect(seen.contentType).toBe("application/octet-stream")
        expectProgress(observed, size, size)
        expect(yield* task.countOfBytesSent).toBe(size)
      }).pipe(Effect.provide(session), Effect.scoped),
    { timeout: 120_000 }
  )

  it.live("a file's Content-Type comes from its extension unless the request names one", () =>
    Effect.gen(function*() {
      const directory = yield* tempDirectory
      const file = path.join(directory, "data.json")
      fs.writeFileSync(file, "{\"a\":1}")
      const server = yield* hashingServer
      const guessed = answer((yield* URLSession.upload(`${server.url}/upload`, { file })).data)
      expect(guessed.contentType).toBe("application/json")
      const named = URLRequest.make(`${server.url}/upload`).pipe(URLRequest.setHeader("content-type", "text/x-mine"))
      expect(answer((yield* URLSession.upload(named, { file })).data).contentType).toBe("text/x-mine")
    }).pipe(Effect.provide(session), Effect.scoped))

  it.live("a stream of unknown length goes chunked; its expected length is -1", () =>
    Effect.gen(function*() {
      const server = yield* hashingServer
      const { length, sha256: hash, stream } = chunked(40, 50_000)
      const { observed, result, task } = yield* uploadObserved(`${server.url}/upload`, stream)
      const seen = answer(result.data)
      expect(seen).toMatchObject({ sha256: hash, length, transferEncoding: "chunked", contentLength: null })
      expectProgress(observed, length, -1)
      expect(yield* task.countOfBytesExpectedToSend).toBe(-1)
    }).pipe(Effect.provide(session), Effect.scoped))

  it.live("a stream with a declared Content-Length is sent with it, not chunked", () =>
    Effect.gen(function*() {
      const server = yield* hashingServer
      const { length, sha256: hash, stream } = chunked(10, 10_000)
      const request = URLRequest.make(`${server.url}/upload`).pipe(
        URLRequest.setHeader("Content-Length", String(length))
      )
      const { observed, result } = yield* uploadObserved(request, stream)
      expect(answer(result.data)).toMatchObject({
        sha256: hash,
        length,
        contentLength: String(length),
        transferEncoding: null
      })
      expectProgress(observed, length, length)
    }).pipe(Effect.provide(session), Effect.scoped))

  it.live("a stream that fails, ends short of its declared length, or overruns it: RequestBodyStreamExhausted", () =>
    Effect.gen(function*() {
      const server = yield* hashingServer
      const declared = (length: number) =>
        URLRequest.make(`${server.url}/upload`).pipe(URLRequest.setHeader("Content-Length", String(length)))
      const failing = Stream.concat(chunked(3, 1000).stream, Stream.fail(new Error("disk on fire")))
      const outcomes = yield* Effect.all([
        Effect.flip(URLSession.upload(`${server.url}/upload`, failing)),
        Effect.flip(URLSession.upload(declared(5000), chunked(3, 1000).stream)),
        Effect.flip(URLSession.upload(declared(2000), chunked(3, 1000).stream))
      ])
      expect(outcomes.map((error) => error.code)).toEqual([
        "RequestBodyStreamExhausted",
        "RequestBodyStreamExhausted",
        "RequestBodyStreamExhausted"
      ])
      expect(outcomes[0]!.errorCode).toBe(-1021)
      // Nothing short was taken for a whole body.
      expect(server.received.every((seen) => seen.length !== 3000 || seen.transferEncoding === "chunked")).toBe(true)
    }).pipe(Effect.provide(session), Effect.scoped))

  it.live("a missing file fails with FileDoesNotExist and a directory with FileIsDirectory, before sending", () =>
    Effect.gen(function*() {
      const directory = yield* tempDirectory
      const server = yield* hashingServer
      const missing = yield* Effect.flip(
        URLSession.upload(`${server.url}/upload`, { file: path.join(directory, "nope") })
      )
      expect(missing.code).toBe("FileDoesNotExist")
      const folder = yield* Effect.flip(URLSession.upload(`${server.url}/upload`, { file: directory }))
      expect(folder.code).toBe("FileIsDirectory")
      expect(server.received).toEqual([])
    }).pipe(Effect.provide(session), Effect.scoped))

  it.live(
    "an unreadable file fails with NoPermissionsToReadFile (uploaded as an unprivileged user)",
    () =>
      Effect.gen(function*() {
        if (!canSwitchUser) return
        const file = rootOnlyFile(yield* tempDirectory, "secret.bin")
        const server = yield* hashingServer
        expect(yield* loadAsNobody(`${server.url}/upload`, file)).toEqual({
          ok: false,
          code: "NoPermissionsToReadFile"
        })
        expect(server.received).toEqual([])
      }).pipe(Effect.scoped),
    { timeout: 60_000 }
  )

  it.live("a server that closes the connection part way through the body: NetworkConnectionLost", () =>
    Effect.gen(function*() {
      const server = yield* tcpServer((socket) => {
        let seen = 0
        socket.on("data", (chunk: Buffer) => {
          seen += chunk.length
          if (seen > 200_000) socket.destroy()
        })
      })
      const error = yield* Effect.flip(URLSession.upload(`${server.url}/upload`, patterned(4 * 1024 * 1024)))
      expect(error.code).toBe("NetworkConnectionLost")
    }).pipe(Effect.provide(session), Effect.scoped))

  it.live("bytes sent re-arm the idle timer: a slow but moving upload succeeds, a stalled one times out", () =>
    Effect.gen(function*() {
      const server = yield* hashingServer
      const layer = Layer.orDie(NodeURLSession.layer(
        URLSessionConfiguration.default.pipe(URLSessionConfiguration.with({ timeoutIntervalForRequest: "400 millis" }))
      ))
      const slow = Stream.fromIterable(Array.from({ length: 8 }, (_, i) => patterned(1000, i))).pipe(
        Stream.tap(() => Effect.sleep("150 millis"))
      )
      const { data } = yield* URLSession.upload(`${server.url}/upload`, slow).pipe(Effect.provide(layer))
      expect(answer(data).length).toBe(8000)
      const stalled = Stream.concat(Stream.make(patterned(1000)), Stream.never)
      const error = yield* Effect.flip(URLSession.upload(`${server.url}/upload`, stalled).pipe(Effect.provide(layer)))
      expect(error.code).toBe("TimedOut")
    }).pipe(Effect.scoped))

  it.live("cancelling mid-upload aborts the connection at once", () =>
    Effect.gen(function*() {
      const server = yield* hashingServer
      const endless = Stream.repeatEffect(Effect.succeed(patterned(16 * 1024)))
      const task = yield* URLSession.uploadTask(`${server.url}/upload`, endless)
      const sending = yield* task.events.pipe(
        Stream.filter(URLSessionEvent.$is("DidSendBodyData")),
        Stream.takeUntil((event) => event.totalBytesSent > 1024 * 1024),
        Stream.runDrain,
        Effect.fork
      )
      yield* task.resume
      yield* Fiber.join(sending)
      expect(server.connections.open()).toBe(1)
      const closed = server.connections.nextClose()
      yield* task.cancel
      expect((yield* Effect.flip(task.await)).code).toBe("Cancelled")
      yield* Effect.promise(() => closed)
      // undici may open (and at once close) a spare connection after an abort: wait for it.
      while (server.connections.open() > 0) yield* Effect.promise(() => server.connections.nextClose())
      expect(server.received).toEqual([])
    }).pipe(Effect.provide(session), Effect.scoped))
})

describe("upload bodies and redirects", () => {
  it.live("a 307 sends bytes and files again; a 303 turns the upload into a GET without a body", () =>
    Effect.gen(function*() {
      const directory = yield* tempDirectory
      const file = path.join(directory, "photo.png")
      const hash = writeRandomFile(file, 300_000)
      const server = yield* hashingServer
      const body = patterned(100_000)
      const bytes = answer((yield* URLSession.upload(`${server.url}/307`, body)).data)
      expect(bytes).toMatchObject({ url: "/upload", method: "POST", sha256: sha256(body), length: body.length })
      const fromFile = answer((yield* URLSession.upload(`${server.url}/307`, { file })).data)
      expect(fromFile).toMatchObject({ url: "/upload", sha256: hash, length: 300_000, contentType: "image/png" })
      const seeOther = answer((yield* URLSession.upload(`${server.url}/303`, body)).data)
      expect(seeOther).toMatchObject({ url: "/upload", method: "GET", length: 0, contentLength: null })
      expect(server.received.map((seen) => `${seen.url} ${seen.length}`)).toEqual([
        "/307 100000",
        "/upload 100000",
        "/307 300000",
        "/upload 300000",
        "/303 100000",
        "/upload 0"
      ])
    }).pipe(Effect.provide(session), Effect.scoped))

  it.live("a 307 asks needNewBodyStream for a stream body; without one it fails with RequestBodyStreamExhausted", () =>
    Effect.gen(function*() {
      const server = yield* hashingServer
      const { length, sha256: hash, stream } = chunked(8, 10_000)
      let asked = 0
      const delegate: URLSessionDelegate.URLSessionDelegate = {
        needNewBodyStream: () =>
          Effect.sync(() => {
            asked++
            return Option.some(chunked(8, 10_000).stream)
          })
      }
      const resent = answer(
        (yield* URLSession.upload(`${server.url}/307`, stream).pipe(
          Effect.provide(withDelegate(delegate))
        )).data
      )
      expect(resent).toMatchObject({ url: "/upload", sha256: hash, length })
      expect(asked).toBe(1)
      const error = yield* Effect.flip(
        URLSession.upload(`${server.url}/307`, chunked(8, 10_000).stream).pipe(
          Effect.provide(session)
        )
      )
      expect(error.code).toBe("RequestBodyStreamExhausted")
    }).pipe(Effect.scoped))

  it.live("uploadTaskWithStreamedRequest takes every stream from needNewBodyStream", () =>
    Effect.gen(function*() {
      const server = yield* hashingServer
      const { length, sha256: hash } = chunked(5, 20_000)
      let asked = 0
      const delegate: URLSessionDelegate.URLSessionDelegate = {
        needNewBodyStream: () =>
          Effect.sync(() => {
            asked++
            return Option.some(chunked(5, 20_000).stream)
          })
      }
      const result = yield* Effect.gen(function*() {
        const task = yield* URLSession.uploadTaskWithStreamedRequest(`${server.url}/307`)
        yield* task.resume
        return yield* task.await
      }).pipe(Effect.provide(withDelegate(delegate)))
      expect(answer(result.data)).toMatchObject({ url: "/upload", sha256: hash, length })
      expect(asked).toBe(2)
      const withoutDelegate = yield* Effect.gen(function*() {
        const task = yield* URLSession.uploadTaskWithStreamedRequest(`${server.url}/upload`)
        yield* task.resume
        return yield* Effect.flip(task.await)
      }).pipe(Effect.provide(session))
      expect(withoutDelegate.code).toBe("RequestBodyStreamExhausted")
    }).pipe(Effect.scoped))

  it.live("a data task's request may carry a body stream too", () =>
    Effect.gen(function*() {
      const server = yield* hashingServer
      const { length, sha256: hash, stream } = chunked(4, 30_000)
      const request = URLRequest.make(`${server.url}/upload`).pipe(
        URLRequest.setMethod("PUT"),
        URLRequest.setBodyStream(stream)
      )
      expect(answer((yield* URLSession.data(request)).data)).toMatchObject({ method: "PUT", sha256: hash, length })
      const get = yield* Effect.flip(URLSession.data(URLRequest.setBodyStream(URLRequest.make(server.url), stream)))
      expect(get.code).toBe("DataLengthExceedsMaximum")
    }).pipe(Effect.provide(session), Effect.scoped))
})
