import { describe, expect, it } from "@effect/vitest"
import type { URLResponse } from "@urlsession/core"
import { URLSession, URLSessionConfiguration, URLSessionEvent } from "@urlsession/core"
import { NodeURLSession } from "@urlsession/node"
import { Chunk, Deferred, Effect, Exit, Fiber, Stream } from "effect"
import { execFileSync } from "node:child_process"
import * as fs from "node:fs"
import * as path from "node:path"
import * as zlib from "node:zlib"
import { patterned, sha256, tempDirectory } from "../fixtures/files.js"
import { httpServer } from "../fixtures/servers.js"

/** A session downloading into a directory of the test's own, and that directory. */
const sessionWithDirectory = Effect.map(tempDirectory, (directory) => ({
  directory,
  layer: NodeURLSession.layer(URLSessionConfiguration.default, { downloadsDirectory: directory })
}))

const bodyServer = (body: Buffer, headers: Record<string, string> = {}, statusCode = 200) =>
  httpServer((_, response) => {
    response.writeHead(statusCode, { "Content-Length": String(body.length), ...headers })
    response.end(body)
  })

describe("download tasks", () => {
  it.scoped("download(url, { to }) moves the finished file to `to`, byte for byte", () =>
    Effect.gen(function*() {
      const { directory, layer } = yield* sessionWithDirectory
      const target = yield* tempDirectory
      const body = patterned(3 * 1024 * 1024 + 17)
      const server = yield* bodyServer(body)
      const to = path.join(target, "file.bin")
      const { location, response } = yield* URLSession.download(server.url, { to }).pipe(Effect.provide(layer))
      expect(location).toBe(to)
      expect((response as URLResponse.HTTPURLResponse).statusCode).toBe(200)
      expect(sha256(fs.readFileSync(to))).toBe(sha256(body))
      expect(fs.readdirSync(directory)).toEqual([])
    }))

  it.scoped("without `to`, the file exists while the scope that received it is open", () =>
    Effect.gen(function*() {
      const { directory, layer } = yield* sessionWithDirectory
      const body = patterned(100_000)
      const server = yield* bodyServer(body)
      const location = yield* Effect.scoped(Effect.gen(function*() {
        const { location } = yield* URLSession.download(server.url)
        expect(path.dirname(location)).toBe(directory)
        expect(sha256(fs.readFileSync(location))).toBe(sha256(body))
        return location
      })).pipe(Effect.provide(layer))
      expect(fs.existsSync(location)).toBe(false)
    }))

  it.scoped("events: the response, DidWriteData with growing totals, DidFinishDownloadingTo, then completion", () =>
    Effect.gen(function*() {
      const { layer } = yield* sessionWithDirectory
      const body = patterned(1024 * 1024)
      const server = yield* bodyServer(body)
      yield* Effect.gen(function*() {
        const task = yield* URLSession.downloadTask(server.url)
        const events = yield* task.events.pipe(Stream.runCollect, Effect.fork)
        yield* task.resume
        const { location } = yield* task.await
        const observed = Chunk.toArray(yield* Fiber.join(events))
        const tags = observed.map((event) => event._tag)
        expect(tags[0]).toBe("DidReceiveResponse")
        expect(tags.slice(-2)).toEqual(["DidFinishDownloadingTo", "DidCompleteWithError"])
        expect(tags).not.toContain("DidReceiveData")
        const progress = observed.filter(URLSessionEvent.$is("DidWriteData"))
        expect(progress.length).toBeGreaterThan(0)
        const totals = progress.map((event) => event.totalBytesWritten)
        expect(totals).toEqual([...totals].sort((a, b) => a - b))
        expect(totals.at(-1)).toBe(body.length)
        expect(progress.every((event) => event.totalBytesExpectedToWrite === body.length)).toBe(true)
        const finished = observed.find(URLSessionEvent.$is("DidFinishDownloadingTo"))!
        expect(finished.location).toBe(location)
      }).pipe(Effect.provide(layer))
    }))

  it.scoped("progress coalesces for a subscriber that lags: fewer events, the last one complete", () =>
    Effect.gen(function*() {
      const { layer } = yield* sessionWithDirectory
      const body = patterned(8 * 1024 * 1024)
      const server = yield* bodyServer(body)
      yield* Effect.gen(function*() {
        const task = yield* URLSession.downloadTask(server.url)
        const started = yield* Deferred.make<void>()
        const events = yield* task.events.pipe(
          Stream.filter(URLSessionEvent.$is("DidWriteData")),
          Stream.tap(() => Deferred.await(started)),
          Stream.runCollect,
          Effect.fork
        )
        yield* task.resume
        yield* task.await
        yield* Deferred.succeed(started, undefined) // the subscriber reads only now
        const progress = Chunk.toArray(yield* Fiber.join(events))
        expect(progress.length).toBeLessThanOrEqual(2)
        expect(progress.at(-1)!.totalBytesWritten).toBe(body.length)
        // Coalesced events still add up: bytesWritten counts everything since the last one seen.
        expect(progress.reduce((sum, event) => sum + event.bytesWritten, 0)).toBe(body.length)
      }).pipe(Effect.provide(layer))
    }))

  it.scoped("a cancel that arrives once the file is complete changes nothing: the download succeeds", () =>
    Effect.gen(function*() {
      const { layer } = yield* sessionWithDirectory
      const body = patterned(200_000)
      const server = yield* bodyServer(body)
      yield* Effect.gen(function*() {
        const task = yield* URLSession.downloadTask(server.url)
        const cancelled = yield* task.events.pipe(
          Stream.filter(URLSessionEvent.$is("DidFinishDownloadingTo")),
          Stream.runForEach(() => task.cancel),
          Effect.fork
        )
        yield* task.resume
        const { location } = yield* task.await
        yield* Fiber.join(cancelled)
        expect(sha256(fs.readFileSync(location))).toBe(sha256(body))
      }).pipe(Effect.provide(layer))
    }))

  it.scoped("an HTTP error status still downloads its body; the response tells", () =>
    Effect.gen(function*() {
      const { layer } = yield* sessionWithDirectory
      const server = yield* bodyServer(Buffer.from("no such thing"), {}, 404)
      yield* Effect.scoped(Effect.gen(function*() {
        const { location, response } = yield* URLSession.download(server.url)
        expect((response as URLResponse.HTTPURLResponse).statusCode).toBe(404)
        expect(fs.readFileSync(location, "utf8")).toBe("no such thing")
      })).pipe(Effect.provide(layer))
    }))

  it.scoped("an encoded body is written decoded", () =>
    Effect.gen(function*() {
      const { layer } = yield* sessionWithDirectory
      const body = patterned(500_000)
      const server = yield* bodyServer(zlib.gzipSync(body), { "Content-Encoding": "gzip" })
      yield* Effect.scoped(Effect.gen(function*() {
        const { location } = yield* URLSession.download(server.url)
        expect(sha256(fs.readFileSync(location))).toBe(sha256(body))
      })).pipe(Effect.provide(layer))
    }))

  it.scoped("a cancelled download leaves no file", () =>
    Effect.gen(function*() {
      const { directory, layer } = yield* sessionWithDirectory
      const firstChunk = yield* Deferred.make<void>()
      const server = yield* httpServer((_, response) => {
        response.writeHead(200, { "Content-Length": String(10 * 1024 * 1024) })
        response.write(Buffer.alloc(256 * 1024), () => Deferred.unsafeDone(firstChunk, Exit.void))
      })
      yield* Effect.gen(function*() {
        const task = yield* URLSession.downloadTask(server.url)
        yield* task.resume
        yield* Deferred.await(firstChunk)
        while ((yield* task.countOfBytesReceived) === 0) {
          yield* Effect.promise(() => new Promise((r) => setTimeout(r, 5)))
        }
        yield* task.cancel
        expect((yield* Effect.flip(task.await)).code).toBe("Cancelled")
        expect(fs.readdirSync(directory)).toEqual([])
      }).pipe(Effect.provide(layer))
    }))

  it.scoped("a connection lost mid-body fails with NetworkConnectionLost and leaves no file", () =>
    Effect.gen(function*() {
      const { directory, layer } = yield* sessionWithDirectory
      const server = yield* httpServer((_, response) => {
        response.writeHead(200, { "Content-Length": String(1024 * 1024) })
        response.write(Buffer.alloc(100_000), () => response.socket!.destroy())
      })
      const error = yield* Effect.flip(Effect.scoped(URLSession.download(server.url))).pipe(Effect.provide(layer))
      expect(error.code).toBe("NetworkConnectionLost")
      expect(fs.readdirSync(directory)).toEqual([])
    }))

  it.scoped("CannotMoveFile (-3005): `to` is in a directory that does not exist; nothing is left at `to`", () =>
    Effect.gen(function*() {
      const { layer } = yield* sessionWithDirectory
      const target = yield* tempDirectory
      const server = yield* bodyServer(Buffer.from("content"))
      const to = path.join(target, "missing", "file.bin")
      const error = yield* Effect.flip(Effect.scoped(URLSession.download(server.url, { to }))).pipe(
        Effect.provide(layer)
      )
      expect(error.code).toBe("CannotMoveFile")
      expect(error.errorCode).toBe(-3005)
      expect(fs.existsSync(to)).toBe(false)
    }))

  it.scoped("CannotWriteToFile (-3003): the disk fills up; no partial file is left", () =>
    Effect.gen(function*() {
      // A 1 MiB tmpfs is a disk that fills up for real (this needs root, as CI has); mode
      // 0700, as a session's directory must be.
      const disk = yield* Effect.acquireRelease(
        Effect.flatMap(tempDirectory, (directory) =>
          Effect.sync(() => {
            execFileSync("mount", ["-t", "tmpfs", "-o", "size=1m,mode=0700", "tmpfs", directory])
            return directory
          })),
        (directory) => Effect.sync(() => execFileSync("umount", [directory]))
      )
      const server = yield* bodyServer(patterned(4 * 1024 * 1024))
      const error = yield* Effect.flip(Effect.scoped(URLSession.download(server.url))).pipe(
        Effect.provide(NodeURLSession.layer(URLSessionConfiguration.default, { downloadsDirectory: disk }))
      )
      expect(error.code).toBe("CannotWriteToFile")
      expect(error.errorCode).toBe(-3003)
      expect(fs.readdirSync(disk)).toEqual([])
    }))

  it.scoped("a downloaded file nobody moved goes when the session ends", () =>
    Effect.gen(function*() {
      const { directory, layer } = yield* sessionWithDirectory
      const server = yield* bodyServer(Buffer.from("content"))
      const location = yield* Effect.gen(function*() {
        const task = yield* URLSession.downloadTask(server.url)
        yield* task.resume
        const { location } = yield* task.await
        expect(fs.existsSync(location)).toBe(true)
        return location
      }).pipe(Effect.provide(layer))
      expect(fs.existsSync(location)).toBe(false)
      expect(fs.readdirSync(directory)).toEqual([])
    }))
})
