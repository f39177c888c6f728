/**
 * Background sessions from the app's side, against a real `urlsessiond` (started by the
 * layer itself, in a state directory of the test's own, and killed by its PID afterwards) and
 * a real HTTP server.
 */
import { HttpClient, HttpClientRequest } from "@effect/platform"
import { describe, expect, it } from "@effect/vitest"
import * as URLError from "@urlsession/core/URLError"
import * as URLSession from "@urlsession/core/URLSession"
import * as URLSessionConfiguration from "@urlsession/core/URLSessionConfiguration"
import type * as URLSessionDelegate from "@urlsession/core/URLSessionDelegate"
import * as URLSessionEvent from "@urlsession/core/URLSessionEvent"
import * as URLSessionHttpClient from "@urlsession/core/URLSessionHttpClient"
import { BackgroundSession } from "@urlsession/daemon"
import { NodeURLSession } from "@urlsession/node"
import { Cause, Chunk, Context, Effect, Exit, Fiber, Layer, Option, Stream } from "effect"
import { spawn } from "node:child_process"
import * as fs from "node:fs"
import type * as http from "node:http"
import * as path from "node:path"
import { fileURLToPath } from "node:url"
import { patterned, sha256, tempDirectory } from "../fixtures/files.js"
import { answerRange, bodyServer, httpServer, readBody } from "../fixtures/servers.js"
import { runCommand } from "./daemonProcess.js"

// Daemons a test leaves behind (a failed test, an interrupted one) go by themselves too.
process.env["URLSESSION_IDLE_EXIT_MILLIS"] ??= "30000"

const app = fileURLToPath(new URL("./backgroundApp.ts", import.meta.url))

/** The PIDs of the daemons that said they were ready in `directory`'s log, oldest first. */
const daemonPids = (directory: string): Array<number> => {
  const log = path.join(directory, "daemon.log")
  if (!fs.existsSync(log)) return []
  return Array.from(fs.readFileSync(log, "utf8").matchAll(/urlsessiond (\d+) ready in/g), (match) => Number(match[1]))
}

const isDaemon = (pid: number): boolean => {
  try {
    return fs.readFileSync(`/proc/${pid}/cmdline`, "utf8").includes("urlsessiond")
  } catch {
    return process.platform !== "linux"
  }
}

const kill = (pid: number) => {
  try {
    process.kill(pid, "SIGKILL")
  } catch {
    // gone already
  }
}

/** A fresh state directory; every daemon started in it is killed, by PID, with the scope. */
const stateDirectory = Effect.gen(function*() {
  const directory = path.join(yield* tempDirectory, "state")
  yield* Effect.addFinalizer(() => Effect.sync(() => daemonPids(directory).filter(isDaemon).forEach(kill)))
  return directory
})

/** The running daemon's PID (the last one that said it was ready). */
const runningDaemon = (directory: string): number => {
  const pids = daemonPids(directory)
  expect(pids.length).toBeGreaterThan(0)
  return pids[pids.length - 1]!
}

/** A background session attached in the current scope. */
const sessionIn = (directory: string, identifier: string, delegate?: URLSessionDelegate.URLSessionDelegate) =>
  Layer.build(
    BackgroundSession.layer(URLSessionConfiguration.background(identifier), { stateDirectory: directory, delegate })
  ).pipe(Effect.catchTag("InvalidConfiguration", Effect.die), Effect.map(Context.get(URLSession.URLSession)))

/** The events a new subscriber gets before `DidFinishEventsForBackgroundURLSession`. */
const replayed = (session: URLSession.URLSession) =>
  session.events.pipe(
    Stream.takeWhile((event) => event._tag !== "DidFinishEventsForBackgroundURLSession"),
    Stream.runCollect,
    Effect.map(Chunk.toArray)
  )

const completions = (events: ReadonlyArray<URLSessionEvent.URLSessionEvent>) =>
  events.filter((event) => event._tag === "DidFinishDownloadingTo" || event._tag === "DidCompleteWithError")

const waitFor = (predicate: () => boolean): Effect.Effect<void> =>
  Effect.suspend(() => predicate() ? Effect.void : Effect.zipRight(Effect.sleep("20 millis"), waitFor(predicate)))

/** A server answering `/small` with "hello", and `/slow` with a head and 1 KiB of a 1 MiB body, then nothing. */
const stallingServer = httpServer((request, response) => {
  if (request.url === "/slow") {
    response.writeHead(200, { "Content-Length": String(1024 * 1024) })
    response.write(Buffer.alloc(1024, 1))
    return
  }
  response.writeHead(200, { "Content-Length": "5" })
  response.end("hello")
})

describe("BackgroundSession", () => {
  it.live(
    "a download runs in the daemon: DidFinishDownloadingTo, then DidCompleteWithError; the file is byte-identical",
    () =>
      Effect.scoped(Effect.gen(function*() {
        const body = patterned(512 * 1024)
        const server = yield* bodyServer(body)
        const directory = yield* stateDirectory
        const session = yield* sessionIn(directory, "com.example.one")
        const task = yield* session.downloadTask(`${server.url}/file`)
        const events = yield* Effect.fork(Stream.runCollect(task.events))
        yield* task.resume
        const result = yield* task.await
        expect(sha256(fs.readFileSync(result.location))).toBe(sha256(body))
        expect(completions(Chunk.toArray(yield* Fiber.join(events)))).toEqual([
          URLSessionEvent.DidFinishDownloadingTo({ taskIdentifier: task.taskIdentifier, location: result.location }),
          URLSessionEvent.DidCompleteWithError({ taskIdentifier: task.taskIdentifier, error: Option.none() })
        ])
        yield* BackgroundSession.acknowledge(task).pipe(Effect.provideService(URLSession.URLSession, session))
        expect(fs.existsSync(result.location)).toBe(false)
      })),
    { timeout: 60_000 }
  )

  it.live(
    "download(url, { to }) moves the daemon's file there and hands it over",
    () =>
      Effect.scoped(Effect.gen(function*() {
        const body = patterned(256 * 1024, 3)
        const server = yield* bodyServer(body)
        const directory = yield* stateDirectory
        const session = yield* sessionIn(directory, "com.example.to")
        const to = path.join(path.dirname(directory), "saved.bin")
        const result = yield* Effect.scoped(session.download(`${server.url}/file`, { to }))
        expect(result.location).toBe(to)
        expect(sha256(fs.readFileSync(to))).toBe(sha256(body))
        // Handed over: a new subscriber is told of nothing left to take.
        expect(yield* replayed(session)).toEqual([])
      })),
    { timeout: 60_000 }
  )

  it.live(
    "NodeURLSession.layer with a background configuration is a background session",
    () =>
      Effect.scoped(Effect.gen(function*() {
        const server = yield* bodyServer(Buffer.from("through the daemon"))
        const directory = yield* stateDirectory
        // The variable decides where the daemon is, for the layer and the daemon it starts.
        const previous = process.env["URLSESSION_STATE_DIRECTORY"]
        yield* Effect.acquireRelease(
          Effect.sync(() => void (process.env["URLSESSION_STATE_DIRECTORY"] = directory)),
          () =>
            Effect.sync(() => {
              if (previous === undefined) delete process.env["URLSESSION_STATE_DIRECTORY"]
              else process.env["URLSESSION_STATE_DIRECTORY"] = previous
            })
        )
        const session = yield* Layer.build(NodeURLSession.layer(URLSessionConfiguration.background("com.example.node")))
          .pipe(Effect.map(Context.get(URLSession.URLSession)))
        const to = path.join(path.dirname(directory), "node.txt")
        yield* Effect.scoped(session.download(`${server.url}/`, { to }))
        expect(fs.readFileSync(to, "utf8")).toBe("through the daemon")
        expect(daemonPids(directory).length).toBe(1)
      })),
    { timeout: 60_000 }
  )

  it.live(
    "a second layer with the same identifier fails with -996; another identifier works side by side",
    () =>
      Effect.scoped(Effect.gen(function*() {
        const server = yield* bodyServer(Buffer.from("side by side"))
        const directory = yield* stateDirectory
        yield* sessionIn(directory, "com.example.held")
        const error = yield* Effect.flip(sessionIn(directory, "com.example.held"))
        expect(error).toBeInstanceOf(URLError.URLError)
        expect(error.code).toBe("BackgroundSessionInUseByAnotherProcess")
        expect(error.errorCode).toBe(-996)
        const other = yield* sessionIn(directory, "com.example.other")
        const to = path.join(path.dirname(directory), "other.txt")
        yield* Effect.scoped(other.download(`${server.url}/`, { to }))
        expect(fs.readFileSync(to, "utf8")).toBe("side by side")
      })),
    { timeout: 60_000 }
  )

  it.live(
    "an identifier held by an app in another process: building a layer with it fails with -996 until that app dies",
    () =>
      Effect.scoped(Effect.gen(function*() {
        const directory = yield* stateDirectory
        const child = spawn(
          process.execPath,
          ["--conditions=source", "--import", "tsx", app, "com.example.elsewhere"],
          {
            env: { ...process.env, URLSESSION_STATE_DIRECTORY: directory },
            stdio: ["ignore", "pipe", "pipe"]
          }
        )
        let output = ""
        child.stdout!.on("data", (chunk) => output += chunk)
        child.stderr!.on("data", (chunk) => output += chunk)
        const exited = new Promise<void>((resolve) => child.on("exit", () => resolve()))
        yield* Effect.addFinalizer(() => Effect.sync(() => kill(child.pid!)))
        yield* waitFor(() => output.includes("started")).pipe(
          Effect.timeoutFail({ duration: "30 seconds", onTimeout: () => new Error(`the app said: ${output}`) })
        )
        const error = yield* Effect.flip(sessionIn(directory, "com.example.elsewhere"))
        expect(error.code).toBe("BackgroundSessionInUseByAnotherProcess")
        process.kill(child.pid!, "SIGKILL")
        yield* Effect.promise(() => exited)
        // The kernel closed the dead app's connection: its lease is free.
        yield* sessionIn(directory, "com.example.elsewhere")
      })),
    { timeout: 60_000 }
  )

  it.live(
    "the redirect limit holds in the daemon: a 21st redirect fails the download with HTTPTooManyRedirects",
    () =>
      Effect.scoped(Effect.gen(function*() {
        const server = yield* httpServer((request, response) => {
          const hop = Number(request.url!.slice(1))
          response.writeHead(302, { Location: `/${hop + 1}` })
          response.end()
        })
        const directory = yield* stateDirectory
        const session = yield* sessionIn(directory, "com.example.loop")
        const task = yield* session.downloadTask(`${server.url}/0`)
        yield* task.resume
        const error = yield* Effect.flip(task.await)
        expect(error.code).toBe("HTTPTooManyRedirects")
        expect(error.failingURL).toBe(`${server.url}/21`)
      })),
    { timeout: 60_000 }
  )

  it.live(
    "an app killed with SIGKILL: a new layer gets each completion once, byte-identical; once handed over, never again",
    () =>
      Effect.scoped(Effect.gen(function*() {
        const bodies = { "/a": patterned(300 * 1024, 11), "/b": patterned(700 * 1024, 13) }
        const server = yield* httpServer((request, response) => {
          const body = bodies[request.url as keyof typeof bodies]
          // Late enough that the app is gone before the bodies come.
          setTimeout(() => {
            response.writeHead(200, { "Content-Length": String(body.length) })
            response.end(body)
          }, 300)
        })
        const directory = yield* stateDirectory
        const child = spawn(
          process.execPath,
          ["--conditions=source", "--import", "tsx", app, "com.example.killed", `${server.url}/a`, `${server.url}/b`],
          { env: { ...process.env, URLSESSION_STATE_DIRECTORY: directory }, stdio: ["ignore", "pipe", "pipe"] }
        )
        let output = ""
        child.stdout!.on("data", (chunk) => output += chunk)
        child.stderr!.on("data", (chunk) => output += chunk)
        const exited = new Promise<void>((resolve) => child.on("exit", () => resolve()))
        yield* Effect.addFinalizer(() => Effect.sync(() => kill(child.pid!)))
        yield* waitFor(() => /started \d+ \d+/.test(output)).pipe(
          Effect.timeoutFail({ duration: "30 seconds", onTimeout: () => new Error(`the app said: ${output}`) })
        )
        const [a, b] = output.match(/started (\d+) (\d+)/)!.slice(1).map(Number)
        process.kill(child.pid!, "SIGKILL")
        yield* Effect.promise(() => exited)

        const taken = new Map<number, string>()
        const delegate: URLSessionDelegate.URLSessionDelegate = {
          didFinishDownloadingTo: (task, location) =>
            Effect.sync(() => {
              taken.set(task.taskIdentifier, sha256(fs.readFileSync(location)))
            })
        }
        const seen = yield* Effect.scoped(Effect.gen(function*() {
          const session = yield* sessionIn(directory, "com.example.killed", delegate)
          let completed = 0
          const events = yield* session.events.pipe(
            Stream.filter((event) => event._tag === "DidFinishDownloadingTo" || event._tag === "DidCompleteWithError"),
            Stream.tap((event) => Effect.sync(() => event._tag === "DidCompleteWithError" && completed++)),
            Stream.takeUntil(() => completed === 2),
            Stream.runCollect
          )
          // Long enough for a duplicate to show, and for the hand-offs to be acknowledged.
          yield* Effect.sleep("500 millis")
          return Chunk.toArray(events)
        }))
        for (const id of [a!, b!]) {
          expect(seen.filter((event) => "taskIdentifier" in event && event.taskIdentifier === id).map((e) => e._tag))
            .toEqual(["DidFinishDownloadingTo", "DidCompleteWithError"])
        }
        expect(taken.get(a!)).toBe(sha256(bodies["/a"]))
        expect(taken.get(b!)).toBe(sha256(bodies["/b"]))

        const again = yield* Effect.scoped(Effect.flatMap(sessionIn(directory, "com.example.killed"), replayed))
        expect(again).toEqual([])
      })),
    { timeout: 90_000 }
  )

  it.live(
    "an app that detaches before acknowledging gets the events again; after acknowledging, never",
    () =>
      Effect.scoped(Effect.gen(function*() {
        const body = patterned(64 * 1024, 5)
        const server = yield* bodyServer(body)
        const directory = yield* stateDirectory
        const identifier = "com.example.unacknowledged"
        const first = yield* Effect.scoped(Effect.gen(function*() {
          const session = yield* sessionIn(directory, identifier)
          const task = yield* session.downloadTask(`${server.url}/file`)
          yield* task.resume
          const result = yield* task.await
          return { taskIdentifier: task.taskIdentifier, location: result.location }
        }))
        const expected = [
          URLSessionEvent.DidFinishDownloadingTo(first),
          URLSessionEvent.DidCompleteWithError({ taskIdentifier: first.taskIdentifier, error: Option.none() })
        ]
        yield* Effect.scoped(Effect.gen(function*() {
          const session = yield* sessionIn(directory, identifier)
          const events = yield* replayed(session)
          expect(events).toEqual(expected)
          // Every subscriber gets the replay, whenever it subscribes.
          expect(yield* replayed(session)).toEqual(expected)
          expect(sha256(fs.readFileSync(first.location))).toBe(sha256(body))
          yield* BackgroundSession.acknowledge(events[0] as { readonly taskIdentifier: number }).pipe(
            Effect.provideService(URLSession.URLSession, session)
          )
          expect(yield* replayed(session)).toEqual([])
        }))
        const third = yield* Effect.scoped(Effect.flatMap(sessionIn(directory, identifier), replayed))
        expect(third).toEqual([])
        expect(fs.existsSync(first.location)).toBe(false)
      })),
    { timeout: 60_000 }
  )

  it.live(
    "a file the delegate took before its app died unacknowledged is not delivered again, only acknowledged",
    () =>
      Effect.scoped(Effect.gen(function*() {
        const body = patterned(64 * 1024, 6)
        const server = yield* bodyServer(body)
        const directory = yield* stateDirectory
        const identifier = "com.example.taken"
        const kept = path.join(path.dirname(directory), "kept.bin")
        const took = yield* Effect.makeLatch(false)
        // The delegate moves the file, then the app "dies" before its acknowledgement is sent.
        const dying: URLSessionDelegate.URLSessionDelegate = {
          didFinishDownloadingTo: (_, location) =>
            Effect.zipRight(Effect.sync(() => fs.renameSync(location, kept)), Effect.zipRight(took.open, Effect.never))
        }
        yield* Effect.scoped(Effect.gen(function*() {
          const session = yield* sessionIn(directory, identifier, dying)
          const task = yield* session.downloadTask(`${server.url}/file`)
          yield* task.resume
          yield* took.await
        }))
        expect(sha256(fs.readFileSync(kept))).toBe(sha256(body))
        let asked = 0
        const counting: URLSessionDelegate.URLSessionDelegate = {
          didFinishDownloadingTo: () => Effect.sync(() => void asked++)
        }
        yield* Effect.scoped(Effect.gen(function*() {
          const session = yield* sessionIn(directory, identifier, counting)
          expect(yield* replayed(session)).toEqual([])
        }))
        // Acknowledged by the second attach: a third gets nothing either.
        yield* Effect.scoped(Effect.gen(function*() {
          const session = yield* sessionIn(directory, identifier, counting)
          expect(yield* replayed(session)).toEqual([])
        }))
        expect(asked).toBe(0)
      })),
    { timeout: 60_000 }
  )

  it.live(
    "a data task loads while connected, and fails with -997 when the daemon is killed mid-body; the session goes on",
    () =>
      Effect.scoped(Effect.gen(function*() {
        const server = yield* stallingServer
        const directory = yield* stateDirectory
        const session = yield* sessionIn(directory, "com.example.data")
        const { data } = yield* URLSession.data(`${server.url}/small`).pipe(
          Effect.provideService(URLSession.URLSession, session)
        )
        expect(new TextDecoder().decode(data)).toBe("hello")

        const task = yield* session.dataTask(`${server.url}/slow`)
        const firstData = yield* task.events.pipe(
          Stream.filter((event) => event._tag === "DidReceiveData"),
          Stream.take(1),
          Stream.runDrain,
          Effect.fork
        )
        // Its events end too, with the failure.
        const all = yield* Effect.fork(Stream.runCollect(task.events))
        yield* task.resume
        yield* Fiber.join(firstData)
        kill(runningDaemon(directory))
        const error = yield* Effect.flip(task.await)
        expect(error.code).toBe("BackgroundSessionWasDisconnected")
        expect(error.errorCode).toBe(-997)
        const last = Chunk.last(yield* Fiber.join(all))
        expect(Option.map(last, (event) => event._tag)).toEqual(Option.some("DidCompleteWithError"))

        // The layer started the daemon again and attached again.
        const to = path.join(path.dirname(directory), "after.txt")
        yield* Effect.scoped(session.download(`${server.url}/small`, { to }))
        expect(fs.readFileSync(to, "utf8")).toBe("hello")
        expect(daemonPids(directory).length).toBe(2)
      })),
    { timeout: 60_000 }
  )

  it.live(
    "urlsessiond stop while an app is attached: the layer starts it again, and the download completes",
    () =>
      Effect.scoped(Effect.gen(function*() {
        const body = patterned(600 * 1024, 9)
        let release = () => {}
        const released = new Promise<void>((resolve) => release = resolve)
        const server = yield* httpServer((request, response) => {
          const headers = { ETag: "\"s1\"", "Accept-Ranges": "bytes" }
          if (answerRange(request, response, body, headers)) return
          response.writeHead(200, { ...headers, "Content-Length": String(body.length) })
          response.write(body.subarray(0, body.length / 2))
          void released.then(() => response.end(body.subarray(body.length / 2)))
        })
        const directory = yield* stateDirectory
        const session = yield* sessionIn(directory, "com.example.stopped")
        const task = yield* session.downloadTask(`${server.url}/file`)
        const half = yield* task.events.pipe(
          Stream.filter((event) => event._tag === "DidWriteData" && event.totalBytesWritten === body.length / 2),
          Stream.take(1),
          Stream.runDrain,
          Effect.fork
        )
        yield* task.resume
        yield* Fiber.join(half)
        const stop = yield* runCommand(directory, ["stop"])
        expect(stop.code).toBe(0)
        release()
        const result = yield* task.await
        expect(sha256(fs.readFileSync(result.location))).toBe(sha256(body))
        expect(daemonPids(directory).length).toBe(2)
      })),
    { timeout: 60_000 }
  )

  it.live("bytes streams a data task's body after its head", () =>
    Effect.scoped(Effect.gen(function*() {
      const server = yield* stallingServer
      const directory = yield* stateDirectory
      const session = yield* sessionIn(directory, "com.example.bytes-stream")
      const { body, response } = yield* session.bytes(`${server.url}/small`)
      expect(response.expectedContentLength).toBe(5)
      const chunks = yield* Stream.runCollect(body)
      expect(Buffer.concat(Chunk.toArray(chunks)).toString()).toBe("hello")
    })), { timeout: 60_000 })

  it.live(
    "the daemon killed mid-download: the download goes on from its partial file, byte-identical",
    () =>
      Effect.scoped(Effect.gen(function*() {
        const body = patterned(8 * 1024 * 1024, 17)
        const ranges: Array<string> = []
        const headers = { "Content-Type": "application/octet-stream", ETag: "\"v1\"", "Accept-Ranges": "bytes" }
        const server = yield* httpServer((request: http.IncomingMessage, response: http.ServerResponse) => {
          if (request.headers.range !== undefined) {
            ranges.push(request.headers.range)
            return void answerRange(request, response, body, headers)
          }
          // 64 KiB every 40 ms: about five seconds for the whole body.
          response.writeHead(200, { ...headers, "Content-Length": String(body.length) })
          let offset = 0
          const timer = setInterval(() => {
            response.write(body.subarray(offset, offset += 64 * 1024))
            if (offset >= body.length) {
              clearInterval(timer)
              response.end()
            }
          }, 40)
          response.on("close", () => clearInterval(timer))
        })
        const directory = yield* stateDirectory
        const session = yield* sessionIn(directory, "com.example.crash")
        const task = yield* session.downloadTask(`${server.url}/big`)
        yield* task.resume
        // Past the daemon's first checkpoint (every 2 s).
        yield* Effect.sleep("3 seconds")
        kill(runningDaemon(directory))
        const result = yield* task.await
        expect(sha256(fs.readFileSync(result.location))).toBe(sha256(body))
        expect(ranges.length).toBeGreaterThan(0)
      })),
    { timeout: 90_000 }
  )

  it.live(
    "a re-attached session lists the tasks still alive, with their descriptions; invalidateAndCancel cancels them in the daemon",
    () =>
      Effect.scoped(Effect.gen(function*() {
        const server = yield* stallingServer
        const directory = yield* stateDirectory
        const identifier = "com.example.alive"
        const url = `${server.url}/slow`
        const started = yield* Effect.scoped(Effect.gen(function*() {
          const session = yield* sessionIn(directory, identifier)
          const task = yield* session.downloadTask(url)
          yield* task.setTaskDescription(Option.some("the slow one"))
          const firstBytes = yield* task.events.pipe(
            Stream.filter((event) => event._tag === "DidWriteData"),
            Stream.take(1),
            Stream.runDrain,
            Effect.fork
          )
          yield* task.resume
          yield* Fiber.join(firstBytes)
          return task.taskIdentifier
        }))
        const session = yield* sessionIn(directory, identifier)
        const tasks = yield* session.allTasks
        expect(tasks.map((task) => [task.taskIdentifier, task.originalRequest.url])).toEqual([[started, url]])
        expect(yield* tasks[0]!.state).toBe("running")
        expect(yield* tasks[0]!.taskDescription).toEqual(Option.some("the slow one"))
        const events = yield* Effect.fork(Stream.runCollect(session.events))
        yield* session.invalidateAndCancel
        const error = yield* Effect.flip(tasks[0]!.await)
        expect(error.code).toBe("Cancelled")
        const last = Chunk.last(yield* Fiber.join(events))
        expect(Option.map(last, (event) => event._tag)).toEqual(Option.some("DidBecomeInvalidWithError"))
      })),
    { timeout: 60_000 }
  )

  it.live("an upload sends a file and collects the response", () =>
    Effect.scoped(Effect.gen(function*() {
      const server = yield* httpServer(async (request, response) => {
        const received = await readBody(request)
        response.writeHead(200, { "Content-Type": "text/plain" })
        response.end(`${request.method} ${received.length} ${sha256(received)}`)
      })
      const directory = yield* stateDirectory
      const file = path.join(path.dirname(directory), "upload.bin")
      const content = patterned(100 * 1024, 9)
      fs.writeFileSync(file, content)
      const session = yield* sessionIn(directory, "com.example.upload")
      const { data, response } = yield* session.upload(`${server.url}/up`, { file })
      expect(new TextDecoder().decode(data)).toBe(`POST ${content.length} ${sha256(content)}`)
      expect(response.url).toBe(`${server.url}/up`)
    })), { timeout: 60_000 })

  it.live(
    "an upload of bytes or of a stream is a defect: background sessions upload files only",
    () =>
      Effect.scoped(Effect.gen(function*() {
        const directory = yield* stateDirectory
        const session = yield* sessionIn(directory, "com.example.bytes")
        for (
          const attempt of [
            session.uploadTask("http://127.0.0.1:1/", new Uint8Array([1, 2, 3])),
            session.uploadTask("http://127.0.0.1:1/", Stream.make(new Uint8Array([1]))),
            session.uploadTaskWithStreamedRequest("http://127.0.0.1:1/")
          ]
        ) {
          const exit = yield* Effect.exit(attempt)
          expect(Exit.isFailure(exit) && Cause.isDie(exit.cause)).toBe(true)
          expect(Exit.isFailure(exit) && Cause.pretty(exit.cause)).toContain("upload from a file only")
        }
      })),
    { timeout: 60_000 }
  )

  it.live(
    "HttpClient and the request options run over a background session by its data-task rules",
    () =>
      Effect.scoped(Effect.gen(function*() {
        const server = yield* httpServer(async (request, response) => {
          const received = await readBody(request)
          response.writeHead(200, { "Content-Type": "application/json" })
          response.end(JSON.stringify({ method: request.method, url: request.url, body: received.toString() }))
        })
        const directory = yield* stateDirectory
        const configuration = URLSessionConfiguration.background("com.example.http-client").pipe(
          URLSessionConfiguration.with({ baseURL: `${server.url}/api/` })
        )
        const session = yield* Layer.build(BackgroundSession.layer(configuration, { stateDirectory: directory })).pipe(
          Effect.map(Context.get(URLSession.URLSession))
        )
        const { data } = yield* session.data("users", { method: "POST", json: { name: "Ada" }, query: { v: 1 } })
        expect(JSON.parse(new TextDecoder().decode(data))).toEqual({
          method: "POST",
          url: "/api/users?v=1",
          body: `{"name":"Ada"}`
        })
        const viaClient = yield* HttpClientRequest.post(`${server.url}/client`).pipe(
          HttpClientRequest.bodyJson({ id: 7 }),
          Effect.flatMap(HttpClient.execute),
          Effect.flatMap((response) => response.json),
          Effect.provide(URLSessionHttpClient.layer),
          Effect.provideService(URLSession.URLSession, session)
        )
        expect(viaClient).toEqual({ method: "POST", url: "/client", body: `{"id":7}` })
        // A body stream cannot be handed to the daemon.
        const exit = yield* Effect.exit(
          session.data("streamed", { method: "PUT", body: Stream.make(new Uint8Array([1])) })
        )
        expect(Exit.isFailure(exit) && Cause.pretty(exit.cause)).toContain("upload from a file only")
      })),
    { timeout: 60_000 }
  )

  it.live("an ftp: URL fails with UnsupportedURL", () =>
    Effect.scoped(Effect.gen(function*() {
      const directory = yield* stateDirectory
      const session = yield* sessionIn(directory, "com.example.ftp")
      const task = yield* session.downloadTask("ftp://127.0.0.1/file")
      yield* task.resume
      const error = yield* Effect.flip(task.await)
      expect(error.code).toBe("UnsupportedURL")
      expect(yield* task.state).toBe("completed")
    })), { timeout: 60_000 })

  it.live(
    "a redirect is followed without asking the delegate's willPerformHTTPRedirection",
    () =>
      Effect.scoped(Effect.gen(function*() {
        const server = yield* httpServer((request, response) => {
          if (request.url === "/start") {
            response.writeHead(302, { Location: "/end", "Content-Length": "0" })
            return void response.end()
          }
          response.writeHead(200, { "Content-Length": "7" })
          response.end("arrived")
        })
        let asked = 0
        const delegate: URLSessionDelegate.URLSessionDelegate = {
          willPerformHTTPRedirection: () =>
            Effect.sync(() => {
              asked++
              return Option.none()
            })
        }
        const directory = yield* stateDirectory
        const session = yield* sessionIn(directory, "com.example.redirect", delegate)
        const to = path.join(path.dirname(directory), "arrived.txt")
        const result = yield* Effect.scoped(session.download(`${server.url}/start`, { to }))
        expect(fs.readFileSync(to, "utf8")).toBe("arrived")
        expect(result.response.url).toBe(`${server.url}/end`)
        expect(asked).toBe(0)
      })),
    { timeout: 60_000 }
  )
})
