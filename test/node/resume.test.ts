import { describe, expect, it } from "@effect/vitest"
import { ResumeData, URLSession, URLSessionConfiguration, URLSessionEvent } from "@urlsession/core"
import { NodeURLSession } from "@urlsession/node"
import { Chunk, Deferred, Effect, Exit, Fiber, Option, Schedule, Stream } from "effect"
import { execFile } from "node:child_process"
import * as fs from "node:fs"
import type * as http from "node:http"
import * as path from "node:path"
import { fileURLToPath } from "node:url"
import { patterned, sha256, tempDirectory } from "../fixtures/files.js"
import { nginxPath, nginxServer } from "../fixtures/nginx.js"
import { httpServer } from "../fixtures/servers.js"

type Misbehaviour = "none" | "wrong-start" | "unsatisfiable"

/**
 * Serves one resource with an ETag and byte ranges (If-Range honoured). The first request
 * without a range gets the first `holdAfter` bytes and then nothing more, until the test
 * cancels; later ones get the whole resource.
 */
const rangeServer = (options: {
  readonly body: Buffer
  readonly holdAfter: number
  readonly validators?: boolean
  readonly acceptRanges?: boolean
}) =>
  Effect.gen(function*() {
    const state = { body: options.body, etag: "\"v1\"", misbehave: "none" as Misbehaviour }
    const requests: Array<http.IncomingHttpHeaders> = []
    const held = yield* Deferred.make<void>()
    let fullRequests = 0
    const heldResponses: Array<http.ServerResponse> = []
    const server = yield* httpServer((request, response) => {
      requests.push(request.headers)
      const { body, etag } = state
      const validators = options.validators === false
        ? {}
        : { ETag: etag, "Last-Modified": "Mon, 02 Nov 2026 10:00:00 GMT" }
      const ranges = options.acceptRanges === false ? {} : { "Accept-Ranges": "bytes" }
      const range = request.headers.range?.match(/^bytes=(\d+)-$/)
      const ifRange = request.headers["if-range"]
      if (range && (ifRange === undefined || ifRange === etag)) {
        const start = Number(range[1])
        if (state.misbehave === "unsatisfiable" || start >= body.length) {
          response.writeHead(416, { "Content-Range": `bytes */${body.length}` })
          return void response.end()
        }
        const served = state.misbehave === "wrong-start" ? 0 : start
        response.writeHead(206, {
          ...validators,
          ...ranges,
          "Content-Range": `bytes ${served}-${body.length - 1}/${body.length}`,
          "Content-Length": String(body.length - served)
        })
        return void response.end(body.subarray(served))
      }
      response.writeHead(200, { ...validators, ...ranges, "Content-Length": String(body.length) })
      if (fullRequests++ > 0) return void response.end(body)
      heldResponses.push(response)
      response.write(body.subarray(0, options.holdAfter), () => Deferred.unsafeDone(held, Exit.void))
    })
    /** Closes the connections of the held responses, as a server that gives up on an idle client. */
    const cut = () => heldResponses.splice(0).forEach((response) => response.socket?.destroy())
    return { url: server.url, state, requests, held, cut }
  })

/** Starts a download, waits until `holdAfter` bytes are written, and cancels it for resume data. */
const interrupted = (url: string, holdAfter: number) =>
  Effect.gen(function*() {
    const task = yield* URLSession.downloadTask(url)
    const written = yield* Deferred.make<void>()
    yield* task.events.pipe(
      Stream.filter(URLSessionEvent.$is("DidWriteData")),
      Stream.runForEach((event) =>
        event.totalBytesWritten >= holdAfter ? Deferred.succeed(written, undefined) : Effect.void
      ),
      Effect.fork
    )
    yield* task.resume
    yield* Deferred.await(written)
    return yield* task.cancelByProducingResumeData
  })

const resumeWith = (resumeData: ResumeData.ResumeData) =>
  Effect.gen(function*() {
    const task = yield* URLSession.downloadTaskWithResumeData(resumeData)
    const events = yield* task.events.pipe(Stream.runCollect, Effect.fork)
    yield* task.resume
    const { location } = yield* task.await
    const observed = Chunk.toArray(yield* Fiber.join(events))
    return { data: fs.readFileSync(location), observed }
  })

describe("resume data", () => {
  it.live("cancelByProducingResumeData keeps the partial file; resuming asks for the rest and appends it", () =>
    Effect.gen(function*() {
      const directory = yield* tempDirectory
      const body = patterned(2 * 1024 * 1024)
      const server = yield* rangeServer({ body, holdAfter: 700_000 })
      const layer = NodeURLSession.layer(URLSessionConfiguration.default, { downloadsDirectory: directory })
      yield* Effect.gen(function*() {
        const resumeData = Option.getOrThrow(yield* interrupted(server.url, 700_000))
        const offset = resumeData.bytesReceived
        expect(offset).toBe(700_000)
        expect(resumeData.etag).toBe("\"v1\"")
        expect(resumeData.expectedLength).toBe(body.length)
        const partial = fs.readFileSync(path.join(directory, resumeData.partialFile))
        expect(sha256(partial)).toBe(sha256(body.subarray(0, offset)))

        // Through a string, as across processes.
        const decoded = yield* ResumeData.decode(yield* ResumeData.encode(resumeData))
        const { data, observed } = yield* resumeWith(decoded)
        expect(sha256(data)).toBe(sha256(body))
        const resumed = observed.find(URLSessionEvent.$is("DidResumeAtOffset"))!
        expect(resumed.fileOffset).toBe(offset)
        expect(resumed.expectedTotalBytes).toBe(body.length)
        const last = server.requests.at(-1)!
        expect(last.range).toBe(`bytes=${offset}-`)
        expect(last["if-range"]).toBe("\"v1\"")
        expect(last["accept-encoding"]).toBe("identity")
      }).pipe(Effect.provide(layer))
    }).pipe(Effect.scoped))

  it.live("a download suspended while the server closed the connection goes on from resume data", () =>
    Effect.gen(function*() {
      const directory = yield* tempDirectory
      const body = patterned(1024 * 1024)
      const server = yield* rangeServer({ body, holdAfter: 400_000 })
      const layer = NodeURLSession.layer(URLSessionConfiguration.default, { downloadsDirectory: directory })
      yield* Effect.gen(function*() {
        const task = yield* URLSession.downloadTask(server.url)
        const events = yield* task.events.pipe(Stream.runCollect, Effect.fork)
        yield* task.resume
        yield* Deferred.await(server.held)
        yield* task.suspend
        server.cut()
        yield* Effect.sleep("50 millis")
        yield* task.resume
        const { location } = yield* task.await
        expect(sha256(fs.readFileSync(location))).toBe(sha256(body))
        const resumed = Chunk.toArray(yield* Fiber.join(events)).find(URLSessionEvent.$is("DidResumeAtOffset"))!
        expect(resumed.fileOffset).toBeGreaterThan(0)
        expect(server.requests.at(-1)!.range).toBe(`bytes=${resumed.fileOffset}-`)
      }).pipe(Effect.provide(layer))
    }).pipe(Effect.scoped))

  it.live("a resource that changed meanwhile (200) starts again from zero", () =>
    Effect.gen(function*() {
      const directory = yield* tempDirectory
      const server = yield* rangeServer({ body: patterned(1024 * 1024), holdAfter: 300_000 })
      const layer = NodeURLSession.layer(URLSessionConfiguration.default, { downloadsDirectory: directory })
      yield* Effect.gen(function*() {
        const resumeData = Option.getOrThrow(yield* interrupted(server.url, 300_000))
        const changed = patterned(900_000, 99)
        server.state.body = changed
        server.state.etag = "\"v2\""
        const { data, observed } = yield* resumeWith(resumeData)
        expect(sha256(data)).toBe(sha256(changed))
        expect(observed.find(URLSessionEvent.$is("DidResumeAtOffset"))!.fileOffset).toBe(0)
      }).pipe(Effect.provide(layer))
    }).pipe(Effect.scoped))

  it.live.each<readonly [Misbehaviour]>([["wrong-start"], ["unsatisfiable"]])(
    "a 206 from the wrong offset, or a 416, is never appended: the whole resource is fetched again (%s)",
    ([misbehave]) =>
      Effect.gen(function*() {
        const directory = yield* tempDirectory
        const body = patterned(1024 * 1024)
        const server = yield* rangeServer({ body, holdAfter: 300_000 })
        const layer = NodeURLSession.layer(URLSessionConfiguration.default, { downloadsDirectory: directory })
        yield* Effect.gen(function*() {
          const resumeData = Option.getOrThrow(yield* interrupted(server.url, 300_000))
          server.state.misbehave = misbehave
          const before = server.requests.length
          const { data, observed } = yield* resumeWith(resumeData)
          expect(sha256(data)).toBe(sha256(body))
          expect(data.length).toBe(body.length)
          expect(observed.find(URLSessionEvent.$is("DidResumeAtOffset"))!.fileOffset).toBe(0)
          const [ranged, whole] = server.requests.slice(before)
          expect(ranged!.range).toBe(`bytes=${resumeData.bytesReceived}-`)
          expect(whole!.range).toBeUndefined()
        }).pipe(Effect.provide(layer))
      }).pipe(Effect.scoped)
  )

  it.live.each<readonly [string, { readonly validators?: boolean; readonly acceptRanges?: boolean }]>([
    ["no ETag nor Last-Modified", { validators: false }],
    ["no byte ranges", { acceptRanges: false }]
  ])("no resume data when the server gives %s; the partial file is removed", ([, options]) =>
    Effect.gen(function*() {
      const directory = yield* tempDirectory
      const server = yield* rangeServer({ body: patterned(1024 * 1024), holdAfter: 200_000, ...options })
      const layer = NodeURLSession.layer(URLSessionConfiguration.default, { downloadsDirectory: directory })
      const resumeData = yield* interrupted(server.url, 200_000).pipe(Effect.provide(layer))
      expect(resumeData).toEqual(Option.none())
      expect(fs.readdirSync(directory)).toEqual([])
    }).pipe(Effect.scoped))

  it.live("resume data whose partial file is gone fails with CannotOpenFile", () =>
    Effect.gen(function*() {
      const directory = yield* tempDirectory
      const server = yield* rangeServer({ body: patterned(1024 * 1024), holdAfter: 200_000 })
      const layer = NodeURLSession.layer(URLSessionConfiguration.default, { downloadsDirectory: directory })
      yield* Effect.gen(function*() {
        const resumeData = Option.getOrThrow(yield* interrupted(server.url, 200_000))
        fs.rmSync(path.join(directory, resumeData.partialFile))
        const error = yield* Effect.flip(URLSession.downloadTaskWithResumeData(resumeData))
        expect(error.code).toBe("CannotOpenFile")
      }).pipe(Effect.provide(layer))
    }).pipe(Effect.scoped))
})

/**
 * Serves a resource with an ETag and byte ranges, but cuts every connection after
 * `cutEvery` body bytes, and counts the body bytes it served.
 */
const cuttingServer = (body: Buffer, cutEvery: number) =>
  Effect.gen(function*() {
    const served = { bytes: 0, requests: 0 }
    const server = yield* httpServer((request, response) => {
      served.requests++
      const range = request.headers.range?.match(/^bytes=(\d+)-$/)
      const start = range && request.headers["if-range"] === "\"v1\"" ? Number(range[1]) : 0
      const headers = { ETag: "\"v1\"", "Accept-Ranges": "bytes", "Content-Length": String(body.length - start) }
      response.writeHead(
        start > 0 ? 206 : 200,
        start > 0 ? { ...headers, "Content-Range": `bytes ${start}-${body.length - 1}/${body.length}` } : headers
      )
      const piece = body.subarray(start, start + cutEvery)
      served.bytes += piece.length
      if (start + piece.length >= body.length) return void response.end(piece)
      response.write(piece, () => setTimeout(() => response.socket?.destroy(), 20))
    })
    return { url: server.url, served }
  })

describe("failed downloads and retryDownload", () => {
  it.live("a download cut part way fails with NetworkConnectionLost carrying resume data", () =>
    Effect.gen(function*() {
      const directory = yield* tempDirectory
      const body = patterned(1024 * 1024)
      const server = yield* cuttingServer(body, 300_000)
      const layer = NodeURLSession.layer(URLSessionConfiguration.default, { downloadsDirectory: directory })
      yield* Effect.gen(function*() {
        const error = yield* Effect.flip(Effect.scoped(URLSession.download(server.url)))
        expect(error.code).toBe("NetworkConnectionLost")
        const resumeData = error.resumeData!
        expect(resumeData.bytesReceived).toBe(300_000)
        expect(fs.existsSync(path.join(directory, resumeData.partialFile))).toBe(true)
        // Each attempt goes on from the last one's resume data, 300 kB further each time.
        let next = resumeData
        const offsets: Array<number> = []
        for (let attempt = 0; attempt < 5; attempt++) {
          const outcome = yield* Effect.either(resumeWith(next))
          if (outcome._tag === "Right") {
            expect(sha256(outcome.right.data)).toBe(sha256(body))
            break
          }
          expect(outcome.left.code).toBe("NetworkConnectionLost")
          next = outcome.left.resumeData!
          offsets.push(next.bytesReceived)
        }
        expect(offsets).toEqual([600_000, 900_000])
      }).pipe(Effect.provide(layer))
    }).pipe(Effect.scoped))

  it.live("retryDownload survives a server that cuts every 300 kB, and each byte is served once", () =>
    Effect.gen(function*() {
      const directory = yield* tempDirectory
      const target = yield* tempDirectory
      const body = patterned(2 * 1024 * 1024)
      const server = yield* cuttingServer(body, 300_000)
      const to = path.join(target, "file.bin")
      yield* URLSession.download(server.url, { to }).pipe(
        URLSession.retryDownload(Schedule.spaced("10 millis").pipe(Schedule.intersect(Schedule.recurs(20)))),
        Effect.scoped,
        Effect.provide(NodeURLSession.layer(URLSessionConfiguration.default, { downloadsDirectory: directory }))
      )
      expect(sha256(fs.readFileSync(to))).toBe(sha256(body))
      expect(server.served.bytes).toBe(body.length)
      expect(server.served.requests).toBe(Math.ceil(body.length / 300_000))
      expect(fs.readdirSync(directory)).toEqual([])
    }).pipe(Effect.scoped))
})

describe("resume across processes", () => {
  const step = (...args: ReadonlyArray<string>) =>
    Effect.async<string, Error>((resume) => {
      execFile(
        process.execPath,
        ["--import", "tsx", "--conditions=source", "test/fixtures/downloadStep.ts", ...args],
        { cwd: fileURLToPath(new URL("../..", import.meta.url)) },
        (error, stdout, stderr) =>
          resume(error === null ? Effect.succeed(stdout.trim()) : Effect.fail(new Error(stderr)))
      )
    })

  it.live("resume data encoded by one process is decoded and resumed by another", () =>
    Effect.gen(function*() {
      const directory = yield* tempDirectory
      const body = patterned(1536 * 1024)
      const server = yield* rangeServer({ body, holdAfter: 500_000 })
      const encoded = yield* step("start", server.url, directory, "500000")
      const finished = JSON.parse(yield* step("resume", encoded, directory))
      expect(finished).toEqual({ offset: 500_000, sha256: sha256(body) })
      expect(server.requests.at(-1)!.range).toBe("bytes=500000-")
    }).pipe(Effect.scoped), { timeout: 60_000 })
})

describe("resume against nginx, an independent server", () => {
  // CI installs nginx; a developer machine without it skips this one test.
  it.live.skipIf(nginxPath === undefined && process.env.CI === undefined)(
    "a download from nginx, cancelled for resume data and resumed, is byte-identical",
    () =>
      Effect.gen(function*() {
        const directory = yield* tempDirectory
        const body = patterned(3 * 1024 * 1024, 13)
        const server = yield* nginxServer({ "file.bin": body }, "1m")
        const layer = NodeURLSession.layer(URLSessionConfiguration.default, { downloadsDirectory: directory })
        yield* Effect.gen(function*() {
          const resumeData = Option.getOrThrow(yield* interrupted(`${server.url}/file.bin`, 500_000))
          expect(resumeData.etag).toBeDefined()
          expect(resumeData.expectedLength).toBe(body.length)
          const { data, observed } = yield* resumeWith(resumeData)
          expect(sha256(data)).toBe(sha256(body))
          expect(observed.find(URLSessionEvent.$is("DidResumeAtOffset"))!.fileOffset).toBe(resumeData.bytesReceived)
        }).pipe(Effect.provide(layer))
      }).pipe(Effect.scoped),
    60_000
  )
})

describe("ResumeData.decode on untrusted input", () => {
  const valid = {
    version: 1,
    originalURL: "http://127.0.0.1:8080/file",
    url: "http://127.0.0.1:8080/file",
    headers: {},
    etag: "\"v1\"",
    bytesReceived: 10,
    expectedLength: 100,
    partialFile: "CFNetworkDownload_0b9a2c5e-1f3d-4c8e-9a7b-2d6e5f4a3b21.tmp"
  }
  const encoded = (value: unknown) => Buffer.from(JSON.stringify(value)).toString("base64url")

  it.effect("accepts what encode writes", () =>
    Effect.gen(function*() {
      const decoded = yield* ResumeData.decode(encoded(valid))
      expect(decoded.bytesReceived).toBe(10)
      expect(yield* ResumeData.decode(yield* ResumeData.encode(decoded))).toEqual(decoded)
    }))

  it.effect.each<readonly [string, string]>([
    ["not base64url", "%%%"],
    ["not JSON", Buffer.from("{oops").toString("base64url")],
    ["another version", encoded({ ...valid, version: 2 })],
    ["a partial file outside the session's directory", encoded({ ...valid, partialFile: "../../etc/passwd" })],
    ["a path as partial file", encoded({ ...valid, partialFile: "/tmp/CFNetworkDownload_x.tmp" })],
    ["a URL that is not http(s)", encoded({ ...valid, url: "file:///etc/passwd" })],
    ["negative byte counts", encoded({ ...valid, bytesReceived: -5 })],
    ["unknown fields", encoded({ ...valid, extra: true })]
  ])("refuses %s with CannotDecodeRawData", ([, input]) =>
    Effect.gen(function*() {
      const error = yield* Effect.flip(ResumeData.decode(input))
      expect(error.code).toBe("CannotDecodeRawData")
      expect(error.message).toContain("the resume data")
    }))
})

describe("checkpoint", () => {
  it.live("gives resume data for the bytes on disk while the download goes on; after a crash, truncated to it, the download resumes from it", () =>
    Effect.gen(function*() {
      const directory = yield* tempDirectory
      const body = patterned(1024 * 1024)
      const server = yield* rangeServer({ body, holdAfter: 300_000 })
      const layer = NodeURLSession.layer(URLSessionConfiguration.default, { downloadsDirectory: directory })
      const { resumeData, onDisk } = yield* Effect.gen(function*() {
        const task = yield* URLSession.downloadTask(server.url)
        const written = yield* Deferred.make<void>()
        yield* task.events.pipe(
          Stream.filter(URLSessionEvent.$is("DidWriteData")),
          Stream.runForEach((event) =>
            event.totalBytesWritten >= 300_000 ? Deferred.succeed(written, undefined) : Effect.void
          ),
          Effect.fork
        )
        yield* task.resume
        yield* Deferred.await(written)
        const resumeData = Option.getOrThrow(yield* task.checkpoint)
        expect(yield* task.state).toBe("running")
        expect(resumeData.bytesReceived).toBe(300_000)
        expect(resumeData.etag).toBe("\"v1\"")
        // What a crash would leave: the file as it is now, and later bytes that no
        // checkpoint counts.
        const partial = path.join(directory, resumeData.partialFile)
        const onDisk = Buffer.concat([fs.readFileSync(partial), Buffer.from("not yet counted")])
        yield* task.cancel
        return { resumeData, onDisk }
      }).pipe(Effect.provide(layer), Effect.scoped)

      const partial = path.join(directory, resumeData.partialFile)
      fs.writeFileSync(partial, onDisk)
      fs.truncateSync(partial, resumeData.bytesReceived)
      const { data } = yield* resumeWith(resumeData).pipe(Effect.provide(layer))
      expect(sha256(data)).toBe(sha256(body))
      expect(server.requests.at(-1)!.range).toBe(`bytes=${resumeData.bytesReceived}-`)
    }).pipe(Effect.scoped))

  it.live("gives None when the response cannot be resumed, and once the task has completed", () =>
    Effect.gen(function*() {
      const directory = yield* tempDirectory
      const unresumable = yield* rangeServer({ body: patterned(512 * 1024), holdAfter: 100_000, validators: false })
      const whole = yield* rangeServer({ body: patterned(64 * 1024), holdAfter: 64 * 1024 })
      const layer = NodeURLSession.layer(URLSessionConfiguration.default, { downloadsDirectory: directory })
      yield* Effect.gen(function*() {
        const task = yield* URLSession.downloadTask(unresumable.url)
        yield* task.resume
        yield* Deferred.await(unresumable.held)
        yield* Effect.sleep("50 millis")
        expect(yield* task.checkpoint).toEqual(Option.none())
        yield* task.cancel

        const done = yield* URLSession.downloadTask(whole.url)
        yield* done.resume
        yield* Deferred.await(whole.held)
        whole.cut()
        yield* Effect.exit(done.await)
        expect(yield* done.checkpoint).toEqual(Option.none())
      }).pipe(Effect.provide(layer))
    }).pipe(Effect.scoped))
})

describe("the delegate's didFinishDownloadingTo", () => {
  it.live("has the complete file before DidFinishDownloadingTo; a failure fails the task with CannotMoveFile", () =>
    Effect.gen(function*() {
      const directory = yield* tempDirectory
      const body = patterned(200_000)
      const server = yield* httpServer((_, response) => {
        response.writeHead(200, { "Content-Length": String(body.length) })
        response.end(body)
      })
      const moved = path.join(directory, "moved.bin")
      const seen: Array<string> = []
      let fail = false
      const layer = NodeURLSession.layer(URLSessionConfiguration.default, {
        downloadsDirectory: path.join(directory, "downloads"),
        delegate: {
          didFinishDownloadingTo: (task, location) =>
            Effect.suspend(() => {
              seen.push(`delegate ${task.taskIdentifier}`)
              if (fail) return Effect.fail("no room")
              fs.renameSync(location, moved)
              return Effect.void
            })
        }
      })
      yield* Effect.gen(function*() {
        const task = yield* URLSession.downloadTask(server.url)
        const events = yield* task.events.pipe(
          Stream.runForEach((event) => Effect.sync(() => seen.push(event._tag))),
          Effect.fork
        )
        yield* task.resume
        yield* task.await
        yield* Fiber.join(events)
        // The event is emitted only once the delegate has returned.
        expect(seen.indexOf(`delegate ${task.taskIdentifier}`)).toBeLessThan(seen.indexOf("DidFinishDownloadingTo"))
        expect(seen.slice(-2)).toEqual(["DidFinishDownloadingTo", "DidCompleteWithError"])
        expect(sha256(fs.readFileSync(moved))).toBe(sha256(body))

        fail = true
        const failing = yield* URLSession.downloadTask(server.url)
        yield* failing.resume
        const error = yield* Effect.flip(failing.await)
        expect(error.code).toBe("CannotMoveFile")
        expect(error.cause).toBe("no room")
      }).pipe(Effect.provide(layer))
    }).pipe(Effect.scoped))
})
