/**
 * The transfer engine in this process, over a real store in a state directory of the
 * test's own and real HTTP servers: task creation's rules, suspend and cancel with resume
 * data, retries bounded by the resource timeout, and what a start cleans up.
 */
import { describe, expect, it } from "@effect/vitest"
import { Engine, type Protocol, StateDirectory, Store } from "@urlsession/daemon"
import { ConfigProvider, Context, Effect, Layer, Option, Queue, Stream } from "effect"
import * as fs from "node:fs"
import type * as http from "node:http"
import * as path from "node:path"
import { patterned, sha256, tempDirectory } from "../fixtures/files.js"
import { answerRange, closedPort, httpServer } from "../fixtures/servers.js"
import { configuration, takeThrough } from "./daemonProcess.js"

const identifier = "com.example.sync"

/** The engine over the state directory `directory` for the scope, with `settings` as its
 * environment variables. */
const engineIn = (directory: string, settings: Record<string, string> = {}) =>
  Layer.build(
    Engine.layer.pipe(Layer.provideMerge(Store.layer), Layer.provideMerge(StateDirectory.layerPath(directory)))
  ).pipe(
    Effect.map((context) => Context.get(context, Engine.Engine)),
    Effect.withConfigProvider(ConfigProvider.fromMap(new Map(Object.entries(settings))))
  )

/** Attaches to the session with `overrides` of the configuration; its items in a queue. */
const attach = (engine: Engine.Engine, overrides: Partial<Protocol.WireConfiguration> = {}) =>
  Effect.gen(function*() {
    const items = yield* Queue.unbounded<Protocol.AttachItem>()
    yield* engine.attach(identifier, { ...configuration, ...overrides }, 1).pipe(
      Stream.runForEach((item) => Queue.offer(items, item)),
      Effect.forkScoped
    )
    yield* takeThrough(items, (item) => item._tag === "CaughtUp")
    return items
  })

/** The stored events up to the task's completion. */
const completion = (items: Queue.Queue<Protocol.AttachItem>) =>
  Effect.map(
    takeThrough(items, (item) => item._tag === "Stored" && item.event._tag === "DidCompleteWithError"),
    (taken) => taken.flatMap((item) => item._tag === "Stored" ? [item.event] : [])
  )

const get = (url: string): Protocol.WireRequest => ({ url, method: "GET", headers: {} })

/** A resource with a strong ETag and byte ranges whose first answer stops after half the body
 * (and never ends); every request's Range is logged. */
const stallingServer = (body: Buffer) =>
  Effect.gen(function*() {
    const ranges: Array<string | undefined> = []
    const headers = { ETag: "\"v1\"", "Accept-Ranges": "bytes" }
    const server = yield* httpServer((request: http.IncomingMessage, response: http.ServerResponse) => {
      ranges.push(request.headers.range)
      if (answerRange(request, response, body, headers)) return
      response.writeHead(200, { ...headers, "Content-Length": String(body.length) })
      response.write(body.subarray(0, body.length / 2))
    })
    return { ...server, ranges: () => ranges }
  })

const fresh = (settings: Record<string, string> = {}) =>
  Effect.gen(function*() {
    const directory = path.join(yield* tempDirectory, "state")
    return { directory, engine: yield* engineIn(directory, settings) }
  })

/** Polls the task until `done`. */
const until = (engine: Engine.Engine, taskIdentifier: number, done: (task: Protocol.TaskSnapshot) => boolean) =>
  Effect.gen(function*() {
    for (;;) {
      const task = (yield* engine.allTasks(identifier)).find((task) => task.taskIdentifier === taskIdentifier)
      if (task !== undefined && done(task)) return task
      yield* Effect.sleep("50 millis")
    }
  })

describe("Engine", () => {
  it.live("creating a task again with its request id returns the first task", () =>
    Effect.scoped(Effect.gen(function*() {
      const { engine } = yield* fresh()
      yield* attach(engine)
      const options = { requestId: "r1", kind: "download" as const, request: get("http://127.0.0.1:9/a") }
      const first = yield* engine.createTask(identifier, options)
      const again = yield* engine.createTask(identifier, { ...options, request: get("http://127.0.0.1:9/b") })
      expect(again).toEqual(first)
      expect((yield* engine.allTasks(identifier)).map((task) => task.taskIdentifier)).toEqual([1])
    })))

  it.live("an upload needs an absolute path to a regular file", () =>
    Effect.scoped(Effect.gen(function*() {
      const { directory, engine } = yield* fresh()
      yield* attach(engine)
      const upload = (uploadFile: string | undefined) =>
        Effect.flip(engine.createTask(identifier, {
          requestId: String(uploadFile),
          kind: "upload",
          request: get("http://127.0.0.1:9/u"),
          uploadFile
        }))
      expect(yield* upload(undefined)).toMatchObject({ code: "FileDoesNotExist" })
      expect(yield* upload("relative.bin")).toMatchObject({ code: "FileDoesNotExist" })
      expect(yield* upload(path.join(directory, "missing.bin"))).toMatchObject({ code: "FileDoesNotExist" })
      expect(yield* upload(directory)).toMatchObject({ code: "FileIsDirectory" })
    })))

  it.live(
    "suspending a download keeps its partial file; resuming goes on from it with a Range",
    () =>
      Effect.scoped(Effect.gen(function*() {
        const body = patterned(400_000)
        const server = yield* stallingServer(body)
        const { engine } = yield* fresh()
        const items = yield* attach(engine)
        yield* engine.createTask(identifier, { requestId: "r1", kind: "download", request: get(`${server.url}/s`) })
        yield* engine.resume(identifier, 1)
        yield* until(engine, 1, (task) => task.countOfBytesReceived === body.length / 2)
        expect(yield* engine.suspend(identifier, 1)).toMatchObject({ state: "suspended" })
        yield* engine.resume(identifier, 1)
        const [finished] = yield* completion(items)
        if (finished?._tag !== "DidFinishDownloadingTo") throw new Error("not a finished download")
        expect(sha256(fs.readFileSync(finished.location))).toBe(sha256(body))
        expect(server.ranges()).toEqual([undefined, `bytes=${body.length / 2}-`])
      })),
    { timeout: 30_000 }
  )

  it.live(
    "cancel by producing resume data stores Cancelled with it; a new task goes on from it",
    () =>
      Effect.scoped(Effect.gen(function*() {
        const body = patterned(400_000)
        const server = yield* stallingServer(body)
        const { engine } = yield* fresh()
        const items = yield* attach(engine)
        yield* engine.createTask(identifier, { requestId: "r1", kind: "download", request: get(`${server.url}/c`) })
        yield* engine.resume(identifier, 1)
        yield* until(engine, 1, (task) => task.countOfBytesReceived === body.length / 2)
        const resumeData = yield* engine.cancel(identifier, 1, true)
        expect(Option.map(resumeData, (data) => data.bytesReceived)).toEqual(Option.some(body.length / 2))
        const [cancelled] = yield* completion(items)
        expect(cancelled).toMatchObject({
          _tag: "DidCompleteWithError",
          taskIdentifier: 1,
          error: Option.some({ code: "Cancelled", resumeData: Option.getOrThrow(resumeData) })
        })
        yield* engine.createTask(identifier, {
          requestId: "r2",
          kind: "download",
          request: get(`${server.url}/c`),
          resumeData: Option.getOrThrow(resumeData)
        })
        yield* engine.resume(identifier, 2)
        const [finished] = yield* completion(items)
        if (finished?._tag !== "DidFinishDownloadingTo") throw new Error("not a finished download")
        expect(sha256(fs.readFileSync(finished.location))).toBe(sha256(body))
        expect(server.ranges()).toEqual([undefined, `bytes=${body.length / 2}-`])
      })),
    { timeout: 30_000 }
  )

  it.live("resume data whose partial file is gone is refused with CannotOpenFile", () =>
    Effect.scoped(Effect.gen(function*() {
      const { engine } = yield* fresh()
      yield* attach(engine)
      const error = yield* Effect.flip(engine.createTask(identifier, {
        requestId: "r1",
        kind: "download",
        request: get("http://127.0.0.1:9/a"),
        resumeData: {
          version: 1,
          originalURL: "http://127.0.0.1:9/a",
          url: "http://127.0.0.1:9/a",
          headers: {},
          etag: "\"v1\"",
          bytesReceived: 10,
          expectedLength: 20,
          partialFile: "CFNetworkDownload_00000000-0000-4000-8000-000000000000.tmp"
        } as never
      }))
      expect(error).toMatchObject({ _tag: "URLError", code: "CannotOpenFile" })
    })))

  it.live("a failure a network change explains is retried until the resource timeout, then stored", () =>
    Effect.scoped(Effect.gen(function*() {
      const port = yield* closedPort
      const { engine } = yield* fresh({ URLSESSION_RETRY_BASE_MILLIS: "20" })
      const items = yield* attach(engine, { timeoutIntervalForResourceMillis: 500 })
      yield* engine.createTask(identifier, {
        requestId: "r1",
        kind: "download",
        request: get(`http://127.0.0.1:${port}/x`)
      })
      yield* engine.resume(identifier, 1)
      const [failed] = yield* completion(items)
      expect(failed).toMatchObject({
        _tag: "DidCompleteWithError",
        error: Option.some({ code: "CannotConnectToHost" })
      })
      expect(yield* engine.allTasks(identifier)).toMatchObject([{ taskIdentifier: 1, state: "completed" }])
    })))

  it.live("a start forgets what nobody acknowledged within the retention period, with its file", () =>
    Effect.scoped(Effect.gen(function*() {
      const body = patterned(10_000)
      const server = yield* httpServer((_, response) => response.end(body))
      const directory = path.join(yield* tempDirectory, "state")
      const location = yield* Effect.scoped(Effect.gen(function*() {
        const engine = yield* engineIn(directory)
        const items = yield* attach(engine)
        yield* engine.createTask(identifier, { requestId: "r1", kind: "download", request: get(`${server.url}/f`) })
        yield* engine.resume(identifier, 1)
        const [finished] = yield* completion(items)
        if (finished?._tag !== "DidFinishDownloadingTo") throw new Error("not a finished download")
        return finished.location
      }))
      expect(fs.existsSync(location)).toBe(true)
      yield* Effect.sleep("5 millis")
      const engine = yield* engineIn(directory, { URLSESSION_RETENTION_MILLIS: "1" })
      expect(fs.existsSync(location)).toBe(false)
      expect(yield* engine.allTasks(identifier)).toEqual([])
    })))

  it.live("a start removes finished and partial files no task refers to", () =>
    Effect.scoped(Effect.gen(function*() {
      const directory = path.join(yield* tempDirectory, "state")
      yield* Effect.scoped(Effect.flatMap(engineIn(directory), attach))
      const stray = path.join(directory, "sessions", identifier, "finished", "9")
      const cut = path.join(
        directory,
        "sessions",
        identifier,
        "partial",
        "CFNetworkDownload_00000000-0000-4000-8000-000000000009.tmp"
      )
      fs.writeFileSync(stray, "left over")
      fs.writeFileSync(cut, "a download cut before its first checkpoint")
      yield* engineIn(directory)
      expect(fs.existsSync(stray)).toBe(false)
      expect(fs.existsSync(cut)).toBe(false)
    })))

  it.live(
    "a cancelled download's partial file outlives the acknowledgement and a restart, for its resume data",
    () =>
      Effect.scoped(Effect.gen(function*() {
        const body = patterned(64 * 1024)
        const server = yield* httpServer((_, response) => {
          response.writeHead(200, { "Content-Length": String(body.length), ETag: "\"v1\"", "Accept-Ranges": "bytes" })
          response.write(body.subarray(0, body.length / 2))
        })
        const directory = path.join(yield* tempDirectory, "state")
        const resumeData = yield* Effect.scoped(Effect.gen(function*() {
          const engine = yield* engineIn(directory)
          yield* attach(engine)
          yield* engine.createTask(identifier, { requestId: "r1", kind: "download", request: get(`${server.url}/p`) })
          yield* engine.resume(identifier, 1)
          yield* until(engine, 1, (task) => task.countOfBytesReceived === body.length / 2)
          const resumeData = Option.getOrThrow(yield* engine.cancel(identifier, 1, true))
          yield* engine.acknowledge(identifier, 1)
          return resumeData
        }))
        yield* engineIn(directory)
        const partial = path.join(directory, "sessions", identifier, "partial", resumeData.partialFile)
        expect(fs.statSync(partial).size).toBe(body.length / 2)
      })),
    { timeout: 30_000 }
  )
})
