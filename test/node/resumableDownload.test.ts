import { describe, expect, it } from "@effect/vitest"
import { ResumeData, URLSession, URLSessionConfiguration } from "@urlsession/core"
import { NodeURLSession } from "@urlsession/node"
import { Deferred, Duration, Effect, Exit, Fiber, Option, Schedule, TestClock } from "effect"
import { type ChildProcess, spawn } from "node:child_process"
import * as fs from "node:fs"
import type * as http from "node:http"
import * as path from "node:path"
import { fileURLToPath } from "node:url"
import { bundleForNode } from "../fixtures/bundle.js"
import { patterned, sha256, tempDirectory } from "../fixtures/files.js"
import { httpServer } from "../fixtures/servers.js"

/**
 * Serves one resource with an ETag and byte ranges (If-Range honoured). A request without a
 * range gets the first `holdAfter` bytes and then nothing more while `state.hold` is set,
 * until `cut`; otherwise the whole resource. It counts the body bytes it sends.
 */
const rangeServer = (options: { readonly body: Buffer; readonly holdAfter: number }) =>
  Effect.gen(function*() {
    const state = { body: options.body, etag: "\"v1\"", hold: true }
    const requests: Array<http.IncomingHttpHeaders> = []
    const bodyBytesSent: Array<number> = []
    const held: Array<http.ServerResponse> = []
    const server = yield* httpServer((request, response) => {
      requests.push(request.headers)
      const { body, etag } = state
      const headers = { ETag: etag, "Accept-Ranges": "bytes" }
      const range = request.headers.range?.match(/^bytes=(\d+)-$/)
      if (range && request.headers["if-range"] === etag) {
        const start = Number(range[1])
        response.writeHead(206, {
          ...headers,
          "Content-Range": `bytes ${start}-${body.length - 1}/${body.length}`,
          "Content-Length": String(body.length - start)
        })
        bodyBytesSent.push(body.length - start)
        return void response.end(body.subarray(start))
      }
      response.writeHead(200, { ...headers, "Content-Length": String(body.length) })
      if (!state.hold) {
        bodyBytesSent.push(body.length)
        return void response.end(body)
      }
      held.push(response)
      bodyBytesSent.push(options.holdAfter)
      response.write(body.subarray(0, options.holdAfter))
    })
    /** Closes the held responses' connections, as a server that gives up. */
    const cut = () => held.splice(0).forEach((response) => response.socket?.destroy())
    return { url: `${server.url}/file.bin`, state, requests, bodyBytesSent, cut }
  })

const setup = (size: number, holdAfter: number) =>
  Effect.gen(function*() {
    const directory = yield* tempDirectory
    const target = yield* tempDirectory
    const body = patterned(size)
    const server = yield* rangeServer({ body, holdAfter })
    const layer = NodeURLSession.layer(URLSessionConfiguration.default, { downloadsDirectory: directory })
    return { directory, target, to: path.join(target, "file.bin"), body, server, layer }
  })

const records = (directory: string) =>
  fs.readdirSync(directory).filter((name) => name.startsWith("Resumable_") && name.endsWith(".json"))
const partialFiles = (directory: string) =>
  fs.readdirSync(directory).filter((name) => name.startsWith("CFNetworkDownload_"))

const recordedResumeData = (directory: string) =>
  Effect.gen(function*() {
    const [name] = records(directory)
    const record = JSON.parse(fs.readFileSync(path.join(directory, name!), "utf8"))
    return yield* ResumeData.decode(record.resumeData)
  })

/** Forks a resumable download and waits until `bytes` are on disk. */
const started = (url: string, to: string, bytes: number) =>
  Effect.gen(function*() {
    const written = yield* Deferred.make<void>()
    const fiber = yield* URLSession.download(url, {
      to,
      resumable: true,
      progress: (progress) => progress.bytes >= bytes ? Deferred.succeed(written, undefined) : Effect.void
    }).pipe(Effect.scoped, Effect.fork)
    yield* Deferred.await(written)
    return fiber
  })

describe("resumable downloads", () => {
  it.scoped("interrupted, it keeps its partial file and record in the session's directory, and `to` does not exist", () =>
    Effect.gen(function*() {
      const { directory, target, to, server, layer } = yield* setup(1024 * 1024, 300_000)
      yield* Effect.gen(function*() {
        const fiber = yield* started(server.url, to, 300_000)
        yield* Fiber.interrupt(fiber)
      }).pipe(Effect.provide(layer))
      expect(fs.existsSync(to)).toBe(false)
      expect(fs.readdirSync(target)).toEqual([])
      expect(records(directory)).toHaveLength(1)
      const [partial] = partialFiles(directory)
      expect(fs.statSync(path.join(directory, partial!)).size).toBe(300_000)
      const resumeData = yield* recordedResumeData(directory)
      expect(resumeData.bytesReceived).toBe(300_000)
      expect(resumeData.partialFile).toBe(partial)
    }))

  it.scoped("the next call for the same URL and `to` transfers only the rest, and the file is byte-identical", () =>
    Effect.gen(function*() {
      const { directory, to, body, server, layer } = yield* setup(1024 * 1024, 300_000)
      const { location } = yield* Effect.gen(function*() {
        const fiber = yield* started(server.url, to, 300_000)
        yield* Fiber.interrupt(fiber)
        return yield* Effect.scoped(URLSession.download(server.url, { to, resumable: true }))
      }).pipe(Effect.provide(layer))
      expect(location).toBe(to)
      expect(server.requests.map((headers) => headers.range)).toEqual([undefined, "bytes=300000-"])
      expect(server.requests[1]?.["if-range"]).toBe("\"v1\"")
      expect(server.bodyBytesSent).toEqual([300_000, body.length - 300_000])
      expect(sha256(fs.readFileSync(to))).toBe(sha256(body))
      expect(fs.readdirSync(directory)).toEqual([])
    }))

  it.scoped("a download that loses a race keeps what it got, and the next call goes on from it", () =>
    Effect.gen(function*() {
      const { directory, to, body, server, layer } = yield* setup(1024 * 1024, 400_000)
      yield* Effect.gen(function*() {
        const written = yield* Deferred.make<void>()
        const winner = Effect.zipRight(Deferred.await(written), Effect.succeed("gave up" as const))
        const download = URLSession.download(server.url, {
          to,
          resumable: true,
          progress: (progress) => progress.bytes >= 400_000 ? Deferred.succeed(written, undefined) : Effect.void
        }).pipe(Effect.scoped)
        expect(yield* Effect.raceFirst(download, winner)).toBe("gave up")
        expect(fs.existsSync(to)).toBe(false)
        expect(records(directory)).toHaveLength(1)
        yield* Effect.scoped(URLSession.download(server.url, { to, resumable: true }))
      }).pipe(Effect.provide(layer))
      expect(server.requests.map((headers) => headers.range)).toEqual([undefined, "bytes=400000-"])
      expect(sha256(fs.readFileSync(to))).toBe(sha256(body))
      expect(fs.readdirSync(directory)).toEqual([])
    }))

  it.scoped("a download that fails with resume data keeps it, and the next call goes on from it", () =>
    Effect.gen(function*() {
      const { directory, to, body, server, layer } = yield* setup(1024 * 1024, 200_000)
      const exit = yield* Effect.gen(function*() {
        const fiber = yield* started(server.url, to, 200_000)
        server.cut()
        return yield* Fiber.await(fiber)
      }).pipe(Effect.provide(layer))
      expect(Exit.isFailure(exit) && exit.cause._tag === "Fail" && exit.cause.error.code).toBe("NetworkConnectionLost")
      expect((yield* recordedResumeData(directory)).bytesReceived).toBe(200_000)
      yield* Effect.scoped(URLSession.download(server.url, { to, resumable: true })).pipe(Effect.provide(layer))
      expect(server.requests.map((headers) => headers.range)).toEqual([undefined, "bytes=200000-"])
      expect(sha256(fs.readFileSync(to))).toBe(sha256(body))
      expect(fs.readdirSync(directory)).toEqual([])
    }))

  it.scoped("a changed resource (another ETag) starts again from zero and gives the new resource", () =>
    Effect.gen(function*() {
      const { directory, to, server, layer } = yield* setup(1024 * 1024, 300_000)
      const changed = patterned(900_000, 11)
      yield* Effect.gen(function*() {
        const fiber = yield* started(server.url, to, 300_000)
        yield* Fiber.interrupt(fiber)
        Object.assign(server.state, { body: changed, etag: "\"v2\"", hold: false })
        yield* Effect.scoped(URLSession.download(server.url, { to, resumable: true }))
      }).pipe(Effect.provide(layer))
      // If-Range with the old ETag: the server answers 200 with the whole new resource.
      expect(server.requests[1]?.range).toBe("bytes=300000-")
      expect(server.requests[1]?.["if-range"]).toBe("\"v1\"")
      expect(server.bodyBytesSent).toEqual([300_000, changed.length])
      expect(sha256(fs.readFileSync(to))).toBe(sha256(changed))
      expect(fs.readdirSync(directory)).toEqual([])
    }))

  it.scoped("a corrupted record is not trusted: the download starts again from zero", () =>
    Effect.gen(function*() {
      const { directory, to, body, server, layer } = yield* setup(1024 * 1024, 300_000)
      yield* Effect.gen(function*() {
        const fiber = yield* started(server.url, to, 300_000)
        yield* Fiber.interrupt(fiber)
        const [name] = records(directory)
        fs.writeFileSync(path.join(directory, name!), "{\"version\":1,\"url\":")
        server.state.hold = false
        yield* Effect.scoped(URLSession.download(server.url, { to, resumable: true }))
      }).pipe(Effect.provide(layer))
      expect(server.requests.map((headers) => headers.range)).toEqual([undefined, undefined])
      expect(sha256(fs.readFileSync(to))).toBe(sha256(body))
      expect(records(directory)).toEqual([])
    }))

  it.scoped("a record whose partial file is shorter than recorded starts again from zero, and the short file goes", () =>
    Effect.gen(function*() {
      const { directory, to, body, server, layer } = yield* setup(1024 * 1024, 300_000)
      yield* Effect.gen(function*() {
        const fiber = yield* started(server.url, to, 300_000)
        yield* Fiber.interrupt(fiber)
        const [partial] = partialFiles(directory)
        fs.truncateSync(path.join(directory, partial!), 1000)
        server.state.hold = false
        yield* Effect.scoped(URLSession.download(server.url, { to, resumable: true }))
      }).pipe(Effect.provide(layer))
      expect(server.requests.map((headers) => headers.range)).toEqual([undefined, undefined])
      expect(sha256(fs.readFileSync(to))).toBe(sha256(body))
      expect(fs.readdirSync(directory)).toEqual([])
    }))

  it.scoped("a record nobody came back for in 7 days is removed with its partial file when a resumable download starts", () =>
    Effect.gen(function*() {
      const { directory, target, to, server, layer } = yield* setup(1024 * 1024, 300_000)
      yield* Effect.gen(function*() {
        const fiber = yield* started(server.url, to, 300_000)
        yield* Fiber.interrupt(fiber)
        server.state.hold = false
        // Other destinations: the record is nobody's to take, only to expire.
        yield* TestClock.adjust(Duration.subtract(Duration.days(7), Duration.millis(1)))
        yield* Effect.scoped(URLSession.download(server.url, { to: path.join(target, "a.bin"), resumable: true }))
        expect(records(directory)).toHaveLength(1)
        expect(partialFiles(directory)).toHaveLength(1)
        yield* TestClock.adjust("1 millis")
        yield* Effect.scoped(URLSession.download(server.url, { to: path.join(target, "b.bin"), resumable: true }))
      }).pipe(Effect.provide(layer))
      expect(fs.readdirSync(directory)).toEqual([])
      expect(fs.existsSync(to)).toBe(false)
    }))

  it.scoped("another destination is another download: its record is not taken", () =>
    Effect.gen(function*() {
      const { directory, target, to, server, layer } = yield* setup(1024 * 1024, 300_000)
      yield* Effect.gen(function*() {
        const fiber = yield* started(server.url, to, 300_000)
        yield* Fiber.interrupt(fiber)
        server.state.hold = false
        yield* Effect.scoped(URLSession.download(server.url, { to: path.join(target, "other.bin"), resumable: true }))
      }).pipe(Effect.provide(layer))
      expect(server.requests.map((headers) => headers.range)).toEqual([undefined, undefined])
      expect(records(directory)).toHaveLength(1)
      expect(partialFiles(directory)).toHaveLength(1)
    }))

  it.scoped("without `resumable`, an interrupted download keeps nothing", () =>
    Effect.gen(function*() {
      const { directory, target, to, server, layer } = yield* setup(1024 * 1024, 300_000)
      yield* Effect.gen(function*() {
        const written = yield* Deferred.make<void>()
        const fiber = yield* URLSession.download(server.url, {
          to,
          progress: (progress) => progress.bytes >= 300_000 ? Deferred.succeed(written, undefined) : Effect.void
        }).pipe(Effect.scoped, Effect.fork)
        yield* Deferred.await(written)
        yield* Fiber.interrupt(fiber)
      }).pipe(Effect.provide(layer))
      expect(fs.readdirSync(directory)).toEqual([])
      expect(fs.readdirSync(target)).toEqual([])
    }))

  it.scoped("`resumable` without `to` is a defect", () =>
    Effect.gen(function*() {
      const { server, layer } = yield* setup(1000, 100)
      const exit = yield* Effect.exit(Effect.scoped(URLSession.download(server.url, { resumable: true }))).pipe(
        Effect.provide(layer)
      )
      expect(Exit.isFailure(exit) && exit.cause._tag === "Die").toBe(true)
    }))
})

describe("resumable downloads across processes", () => {
  const bundled = Effect.gen(function*() {
    const directory = yield* tempDirectory
    const bundle = path.join(directory, "resumableDownload.mjs")
    yield* bundleForNode(
      { entryPoint: fileURLToPath(new URL("../fixtures/resumableDownload.ts", import.meta.url)) },
      bundle
    )
    return bundle
  })

  const spawned = (bundle: string, args: ReadonlyArray<string>) =>
    Effect.acquireRelease(
      Effect.sync(() => spawn(process.execPath, [bundle, ...args], { stdio: ["ignore", "pipe", "pipe"] })),
      (child) => Effect.sync(() => child.exitCode === null && child.signalCode === null && child.kill("SIGKILL"))
    )

  const printed = (child: ChildProcess, line: string) =>
    Effect.async<void, Error>((resume) => {
      let output = ""
      child.stdout!.on("data", (data) => {
        output += data
        if (output.split("\n").some((printed) => printed.startsWith(line))) resume(Effect.void)
      })
      child.once("exit", () => resume(Effect.fail(new Error(`the child exited before printing ${line}: ${output}`))))
    })

  const exited = (child: ChildProcess) =>
    Effect.async<void>((resume) => {
      if (child.exitCode !== null || child.signalCode !== null) return resume(Effect.void)
      child.once("exit", () => resume(Effect.void))
    })

  for (const signal of ["SIGINT", "SIGTERM"] as const) {
    it.live(
      `a child process stopped by ${signal} keeps its partial download; this process goes on from it with a Range request`,
      () =>
        Effect.gen(function*() {
          const bundle = yield* bundled
          const { directory, to, body, server, layer } = yield* setup(1024 * 1024, 500_000)
          const child = yield* spawned(bundle, [server.url, to, directory, "500000"])
          yield* printed(child, "written")
          child.kill(signal)
          yield* exited(child)
          expect(fs.existsSync(to)).toBe(false)
          expect((yield* recordedResumeData(directory)).bytesReceived).toBe(500_000)
          server.state.hold = false
          yield* Effect.scoped(URLSession.download(server.url, { to, resumable: true })).pipe(Effect.provide(layer))
          expect(server.requests.map((headers) => headers.range)).toEqual([undefined, "bytes=500000-"])
          expect(server.bodyBytesSent).toEqual([500_000, body.length - 500_000])
          expect(sha256(fs.readFileSync(to))).toBe(sha256(body))
          expect(fs.readdirSync(directory)).toEqual([])
        }).pipe(Effect.scoped),
      { timeout: 60_000 }
    )
  }

  it.live(
    "a child process killed outright (SIGKILL) leaves its last checkpoint; another process goes on from it",
    () =>
      Effect.gen(function*() {
        const bundle = yield* bundled
        const { directory, to, body, server, layer } = yield* setup(1024 * 1024, 500_000)
        const child = yield* spawned(bundle, [server.url, to, directory, "500000"])
        yield* printed(child, "written")
        // The transfer stalls at 500 000 bytes: the next checkpoint records all of them.
        const checkpointed = Effect.suspend(() =>
          records(directory).length === 1
            ? Effect.map(
              Effect.option(recordedResumeData(directory)),
              Option.exists((resumeData) => resumeData.bytesReceived === 500_000)
            )
            : Effect.succeed(false)
        )
        yield* Effect.repeat(checkpointed, { until: (done) => done, schedule: spacedPoll })
        child.kill("SIGKILL")
        yield* exited(child)
        expect(fs.existsSync(to)).toBe(false)
        server.state.hold = false
        yield* Effect.scoped(URLSession.download(server.url, { to, resumable: true })).pipe(Effect.provide(layer))
        expect(server.requests.map((headers) => headers.range)).toEqual([undefined, "bytes=500000-"])
        expect(sha256(fs.readFileSync(to))).toBe(sha256(body))
        expect(fs.readdirSync(directory)).toEqual([])
      }).pipe(Effect.scoped),
    { timeout: 60_000 }
  )

  it.live(
    "a record held by a running download in another process is left to it: a second download starts afresh",
    () =>
      Effect.gen(function*() {
        const bundle = yield* bundled
        const { directory, to, body, server, layer } = yield* setup(1024 * 1024, 500_000)
        const child = yield* spawned(bundle, [server.url, to, directory, "500000"])
        yield* printed(child, "written")
        yield* Effect.repeat(Effect.sync(() => records(directory).length === 1), {
          until: (done) => done,
          schedule: spacedPoll
        })
        server.state.hold = false
        yield* Effect.scoped(URLSession.download(server.url, { to, resumable: true })).pipe(Effect.provide(layer))
        expect(server.requests.map((headers) => headers.range)).toEqual([undefined, undefined])
        expect(sha256(fs.readFileSync(to))).toBe(sha256(body))
        // The child's partial file is still its own.
        expect(partialFiles(directory)).toHaveLength(1)
      }).pipe(Effect.scoped),
    { timeout: 60_000 }
  )
})

// How often a test looks again for what another process has done; not a bound on how long it takes.
const spacedPoll = Schedule.spaced("20 millis")
