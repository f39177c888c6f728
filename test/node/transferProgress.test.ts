import { describe, expect, it } from "@effect/vitest"
import { URLSession, URLSessionConfiguration, URLSessionEvent, URLSessionTask } from "@urlsession/core"
import type { TransferProgress } from "@urlsession/core/URLSession"
import { BackgroundSession } from "@urlsession/daemon"
import { NodeURLSession } from "@urlsession/node"
import { Cause, Context, Deferred, Effect, Exit, Layer, Option, Stream } from "effect"
import * as fs from "node:fs"
import * as path from "node:path"
import { patterned, sha256, tempDirectory } from "../fixtures/files.js"
import { bodyServer, httpServer, readBody } from "../fixtures/servers.js"

const sessionWithDirectory = Effect.map(tempDirectory, (directory) => ({
  directory,
  layer: NodeURLSession.layer(URLSessionConfiguration.default, { downloadsDirectory: directory })
}))

/** A server that reads the whole request body and answers with its length. */
const sinkServer = httpServer((request, response) => {
  readBody(request).then((body) => {
    response.writeHead(200, { "Content-Type": "text/plain" })
    response.end(String(body.length))
  })
})

const expectIncreasing = (values: ReadonlyArray<TransferProgress>) => {
  for (let i = 1; i < values.length; i++) {
    expect(values[i]!.bytes).toBeGreaterThanOrEqual(values[i - 1]!.bytes)
  }
}

const complete = (total: number): TransferProgress => ({
  bytes: total,
  totalBytes: Option.some(total),
  fraction: Option.some(1)
})

/** Holds the handler until the session's task has completed. */
const gatedOnCompletion = Effect.gen(function*() {
  const completed = yield* Deferred.make<void>()
  yield* URLSession.events.pipe(
    Stream.filter(URLSessionEvent.$is("DidCompleteWithError")),
    Stream.runForEach(() => Deferred.succeed(completed, undefined)),
    Effect.fork
  )
  const values: Array<TransferProgress> = []
  const handler = (progress: TransferProgress) =>
    Effect.zipRight(Deferred.await(completed), Effect.sync(() => void values.push(progress)))
  return { values, handler }
})

describe("transfer progress", () => {
  it.scoped("download(url, { to, progress }) reports growing progress ending at the total, and moves the file atomically", () =>
    Effect.gen(function*() {
      const { directory, layer } = yield* sessionWithDirectory
      const target = yield* tempDirectory
      const body = patterned(2 * 1024 * 1024 + 5)
      const server = yield* bodyServer(body)
      const to = path.join(target, "file.bin")
      const values: Array<TransferProgress> = []
      const { location } = yield* URLSession.download(server.url, {
        to,
        progress: (progress) => Effect.sync(() => void values.push(progress))
      }).pipe(Effect.provide(layer))
      expect(location).toBe(to)
      expect(values.length).toBeGreaterThan(1)
      expectIncreasing(values)
      expect(values[0]!.totalBytes).toEqual(Option.some(body.length))
      expect(values.at(-1)).toEqual(complete(body.length))
      expect(sha256(fs.readFileSync(to))).toBe(sha256(body))
      expect(fs.readdirSync(directory)).toEqual([])
      expect(fs.readdirSync(target)).toEqual(["file.bin"])
    }))

  it.scoped("URLSessionTask.reportProgress tells a task of one's own its progress: an upload's, then a download's", () =>
    Effect.gen(function*() {
      const { layer } = yield* sessionWithDirectory
      const sink = yield* sinkServer
      const sent = new Uint8Array(700_000)
      const uploaded: Array<TransferProgress> = []
      yield* Effect.gen(function*() {
        const upload = yield* URLSession.uploadTask(sink.url, sent)
        yield* Effect.zipRight(upload.resume, upload.await).pipe(
          URLSessionTask.reportProgress(upload, (progress) => Effect.sync(() => void uploaded.push(progress)))
        )
        const body = patterned(1024 * 1024)
        const server = yield* bodyServer(body)
        const downloaded: Array<TransferProgress> = []
        const download = yield* URLSession.downloadTask(server.url)
        yield* Effect.zipRight(download.resume, download.await).pipe(
          URLSessionTask.reportProgress(download, (progress) => Effect.sync(() => void downloaded.push(progress)))
        )
        expectIncreasing(downloaded)
        expect(downloaded.at(-1)).toEqual(complete(body.length))
      }).pipe(Effect.provide(layer))
      expectIncreasing(uploaded)
      expect(uploaded.at(-1)).toEqual(complete(sent.length))
    }))

  it.scoped("a download of unknown length reports no total until it completes, then its size", () =>
    Effect.gen(function*() {
      const { layer } = yield* sessionWithDirectory
      const body = patterned(300_000)
      const server = yield* httpServer((_, response) => {
        response.writeHead(200, { "Transfer-Encoding": "chunked" })
        response.end(body)
      })
      const values: Array<TransferProgress> = []
      yield* URLSession.download(server.url, {
        progress: (progress) => Effect.sync(() => void values.push(progress))
      }).pipe(Effect.provide(layer))
      expect(values.slice(0, -1).every((progress) => Option.isNone(progress.totalBytes))).toBe(true)
      expect(values.at(-1)).toEqual(complete(body.length))
    }))

  it.scoped("upload(url, body, { progress }) reports growing progress ending at the body's length", () =>
    Effect.gen(function*() {
      const { layer } = yield* sessionWithDirectory
      const server = yield* sinkServer
      const file = path.join(yield* tempDirectory, "upload.bin")
      const body = patterned(3 * 1024 * 1024 + 1)
      fs.writeFileSync(file, body)
      const values: Array<TransferProgress> = []
      const { data } = yield* URLSession.upload(server.url, { file }, {
        progress: (progress) => Effect.sync(() => void values.push(progress))
      }).pipe(Effect.provide(layer))
      expect(new TextDecoder().decode(data)).toBe(String(body.length))
      expect(values.length).toBeGreaterThan(1)
      expectIncreasing(values)
      expect(values.at(-1)).toEqual(complete(body.length))
    }))

  it.scoped("a stream upload sent chunked ends at the bytes it sent", () =>
    Effect.gen(function*() {
      const { layer } = yield* sessionWithDirectory
      const server = yield* sinkServer
      const chunks = [patterned(100_000, 1), patterned(50_000, 2)]
      const values: Array<TransferProgress> = []
      yield* URLSession.upload(server.url, Stream.fromIterable(chunks), {
        progress: (progress) => Effect.sync(() => void values.push(progress))
      }).pipe(Effect.provide(layer))
      expect(values.at(-1)).toEqual(complete(150_000))
    }))

  it.scoped("a download's handler held until the task has completed does not hold the transfer; it then gets the latest value", () =>
    Effect.gen(function*() {
      const { layer } = yield* sessionWithDirectory
      const body = patterned(4 * 1024 * 1024)
      const server = yield* bodyServer(body)
      const to = path.join(yield* tempDirectory, "file.bin")
      const values = yield* Effect.gen(function*() {
        const { handler, values } = yield* gatedOnCompletion
        yield* URLSession.download(server.url, { to, progress: handler })
        return values
      }).pipe(Effect.provide(layer))
      // The first value it was given, then only the newest: the complete one.
      expect(values.length).toBeLessThanOrEqual(3)
      expect(values.at(-1)).toEqual(complete(body.length))
      expect(sha256(fs.readFileSync(to))).toBe(sha256(body))
    }))

  it.scoped("an upload's handler held until the task has completed does not hold the transfer", () =>
    Effect.gen(function*() {
      const { layer } = yield* sessionWithDirectory
      const server = yield* sinkServer
      const body = patterned(4 * 1024 * 1024)
      const values = yield* Effect.gen(function*() {
        const { handler, values } = yield* gatedOnCompletion
        yield* URLSession.upload(server.url, body, { progress: handler })
        return values
      }).pipe(Effect.provide(layer))
      expect(values.length).toBeLessThanOrEqual(3)
      expect(values.at(-1)).toEqual(complete(body.length))
    }))

  it.scoped("a resumed download's progress counts the bytes already on disk", () =>
    Effect.gen(function*() {
      const { layer } = yield* sessionWithDirectory
      const body = patterned(1024 * 1024)
      let first = true
      const server = yield* httpServer((request, response) => {
        const headers = { ETag: "\"v1\"", "Accept-Ranges": "bytes" }
        const range = request.headers.range?.match(/^bytes=(\d+)-$/)
        if (range) {
          const start = Number(range[1])
          response.writeHead(206, {
            ...headers,
            "Content-Range": `bytes ${start}-${body.length - 1}/${body.length}`,
            "Content-Length": String(body.length - start)
          })
          return void response.end(body.subarray(start))
        }
        response.writeHead(200, { ...headers, "Content-Length": String(body.length) })
        if (!first) return void response.end(body)
        first = false
        response.write(body.subarray(0, 400_000))
      })
      const to = path.join(yield* tempDirectory, "file.bin")
      const values: Array<TransferProgress> = []
      yield* Effect.gen(function*() {
        const written = yield* Deferred.make<void>()
        yield* URLSession.download(server.url, {
          to,
          resumable: true,
          progress: (progress) => progress.bytes >= 400_000 ? Deferred.succeed(written, undefined) : Effect.void
        }).pipe(Effect.scoped, Effect.raceFirst(Deferred.await(written)))
        yield* URLSession.download(server.url, {
          to,
          resumable: true,
          progress: (progress) => Effect.sync(() => void values.push(progress))
        })
      }).pipe(Effect.provide(layer))
      expect(values[0]!.bytes).toBeGreaterThanOrEqual(400_000)
      expectIncreasing(values)
      expect(values.at(-1)).toEqual(complete(body.length))
    }))
})

describe("transfer progress in a background session", () => {
  // Daemons a test leaves behind go by themselves too.
  process.env["URLSESSION_IDLE_EXIT_MILLIS"] ??= "30000"

  /** A background session attached in the current scope, with a state directory of its own whose daemons are killed with the scope. */
  const backgroundSession = (identifier: string) =>
    Effect.gen(function*() {
      const directory = path.join(yield* tempDirectory, "state")
      yield* Effect.addFinalizer(() =>
        Effect.sync(() => {
          const log = path.join(directory, "daemon.log")
          if (!fs.existsSync(log)) return
          for (const [, pid] of fs.readFileSync(log, "utf8").matchAll(/urlsessiond (\d+) ready in/g)) {
            try {
              process.kill(Number(pid), "SIGKILL")
            } catch {
              // gone already
            }
          }
        })
      )
      const context = yield* Layer.build(
        BackgroundSession.layer(URLSessionConfiguration.background(identifier), { stateDirectory: directory })
      ).pipe(Effect.orDie)
      return { session: Context.get(context, URLSession.URLSession), directory }
    })

  it.live(
    "download(url, { to, progress }) reports growing progress ending at the total",
    () =>
      Effect.scoped(Effect.gen(function*() {
        const body = patterned(2 * 1024 * 1024, 3)
        const server = yield* bodyServer(body)
        const { directory, session } = yield* backgroundSession("com.example.progress")
        const to = path.join(path.dirname(directory), "saved.bin")
        const values: Array<TransferProgress> = []
        yield* Effect.scoped(session.download(`${server.url}/file`, {
          to,
          progress: (progress) => Effect.sync(() => void values.push(progress))
        }))
        expectIncreasing(values)
        expect(values.at(-1)).toEqual(complete(body.length))
        expect(sha256(fs.readFileSync(to))).toBe(sha256(body))
      })),
    { timeout: 60_000 }
  )

  it.live(
    "upload(url, { file }, { progress }) reports progress ending at the file's length",
    () =>
      Effect.scoped(Effect.gen(function*() {
        const server = yield* sinkServer
        const { directory, session } = yield* backgroundSession("com.example.upload-progress")
        const file = path.join(path.dirname(directory), "upload.bin")
        const body = patterned(1024 * 1024, 9)
        fs.writeFileSync(file, body)
        const values: Array<TransferProgress> = []
        const { data } = yield* session.upload(server.url, { file }, {
          progress: (progress) => Effect.sync(() => void values.push(progress))
        })
        expect(new TextDecoder().decode(data)).toBe(String(body.length))
        expectIncreasing(values)
        expect(values.at(-1)).toEqual(complete(body.length))
      })),
    { timeout: 60_000 }
  )

  it.live(
    "`resumable` is refused with a defect that says why: the daemon already carries downloads on",
    () =>
      Effect.scoped(Effect.gen(function*() {
        const { directory, session } = yield* backgroundSession("com.example.resumable")
        const exit = yield* Effect.exit(Effect.scoped(
          session.download("http://127.0.0.1:9/file", {
            to: path.join(path.dirname(directory), "x.bin"),
            resumable: true
          })
        ))
        expect(Exit.isFailure(exit) && Cause.pretty(exit.cause)).toContain("`resumable` is for foreground sessions")
      })),
    { timeout: 60_000 }
  )
})
