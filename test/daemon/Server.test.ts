/**
 * The wire: a real `urlsessiond` serving the protocol over its Unix socket, an `RpcClient`
 * in the test speaking ndjson to it, and real HTTP servers on 127.0.0.1 for its transfers.
 */
import * as NodeSocket from "@effect/platform-node/NodeSocket"
import * as RpcClient from "@effect/rpc/RpcClient"
import * as RpcSerialization from "@effect/rpc/RpcSerialization"
import { describe, expect, it } from "@effect/vitest"
import { DaemonSocket, Protocol } from "@urlsession/daemon"
import { Effect, ExecutionStrategy, Exit, Layer, Option, Queue, Scope, Stream } from "effect"
import * as fs from "node:fs"
import type * as http from "node:http"
import * as path from "node:path"
import { patterned, sha256, tempDirectory } from "../fixtures/files.js"
import { answerRange, httpServer, readBody } from "../fixtures/servers.js"
import { configuration, type Daemon, runCommand, startDaemon, takeThrough, waitForOutput } from "./daemonProcess.js"

const identifier = "com.example.sync"

/** A client of the daemon listening at `socket`, closed with the scope. */
const connect = (socket: string) =>
  // Built in the caller's scope: `Effect.provide` of the layer would close the connection
  // as soon as the client is made.
  Layer.build(
    RpcClient.layerProtocolSocket().pipe(
      Layer.provide(NodeSocket.layerNet({ path: socket })),
      Layer.provide(RpcSerialization.layerNdjson)
    )
  ).pipe(Effect.flatMap((protocol) => Effect.provide(RpcClient.make(Protocol.Protocol), protocol)))

type Client = Effect.Effect.Success<ReturnType<typeof connect>>

/** A daemon on `directory`, ready, and its socket path. */
const daemonIn = (directory: string, environment: Readonly<Record<string, string>> = {}) =>
  Effect.gen(function*() {
    const daemon = yield* startDaemon(directory, environment)
    yield* waitForOutput(daemon, "ready in")
    return { daemon, socket: DaemonSocket.pathFor(directory) }
  })

/** A ready daemon in a fresh state directory, and a client of it. */
const fresh = (environment: Readonly<Record<string, string>> = {}) =>
  Effect.gen(function*() {
    const directory = path.join(yield* tempDirectory, "state")
    const { daemon, socket } = yield* daemonIn(directory, environment)
    return { directory, daemon, socket, client: yield* connect(socket) }
  })

/**
 * Attaches to `identifier`; its items arrive in the queue. The attach lasts until `detach`
 * (or the scope) closes it.
 */
const attach = (client: Client) =>
  Effect.gen(function*() {
    const scope = yield* Scope.fork(yield* Effect.scope, ExecutionStrategy.sequential)
    const items = yield* Queue.unbounded<Protocol.AttachItem>()
    yield* client.Attach({ identifier, protocolVersion: Protocol.version, configuration }).pipe(
      Stream.runForEach((item) => Queue.offer(items, item)),
      Effect.forkIn(scope)
    )
    return { items, detach: Scope.close(scope, Exit.void) }
  })

const isCaughtUp = (item: Protocol.AttachItem) => item._tag === "CaughtUp"

const completes = (item: Protocol.AttachItem) =>
  (item._tag === "Stored" || item._tag === "Live") && item.event._tag === "DidCompleteWithError"

const stored = (items: ReadonlyArray<Protocol.AttachItem>) =>
  items.flatMap((item) => item._tag === "Stored" ? [item.event] : [])

/** Runs `effect` every 50 ms until its result satisfies `done`. */
const poll = <A, E, R>(effect: Effect.Effect<A, E, R>, done: (a: A) => boolean) =>
  Effect.gen(function*() {
    for (;;) {
      const result = yield* effect
      if (done(result)) return result
      yield* Effect.sleep("50 millis")
    }
  })

const taskOf = (client: Client, taskIdentifier: number) =>
  Effect.map(
    client.Status(),
    (status) =>
      status.sessions.find((session) => session.identifier === identifier)?.tasks.find((task) =>
        task.taskIdentifier === taskIdentifier
      )
  )

const get = (url: string): Protocol.WireRequest => ({ url, method: "GET", headers: {} })

const download = (client: Client, url: string, requestId = "r1") =>
  client.CreateTask({ identifier, requestId, kind: "download", request: get(url) })

/**
 * A resource with a strong ETag, served with byte ranges. Its first answer is the whole body
 * (`whole`), the first half and then nothing more (`stall`), or the first half and then the
 * end of the connection (`cut`); later ones answer ranges. Every request's Range is logged.
 */
const resourceServer = (body: Buffer, first: "whole" | "stall" | "cut") =>
  Effect.gen(function*() {
    const ranges: Array<string | undefined> = []
    const headers = { ETag: "\"v1\"", "Accept-Ranges": "bytes", "Content-Type": "application/octet-stream" }
    const server = yield* httpServer((request: http.IncomingMessage, response: http.ServerResponse) => {
      ranges.push(request.headers.range)
      if (answerRange(request, response, body, headers)) return
      response.writeHead(200, { ...headers, "Content-Length": String(body.length) })
      if (ranges.length > 1 || first === "whole") return void response.end(body)
      response.write(body.subarray(0, body.length / 2), () => {
        if (first === "cut") response.socket?.end()
      })
    })
    return { ...server, ranges: () => ranges }
  })

/**
 * A fresh daemon downloading `body` from a server that stalls half way, once its checkpoint
 * has recorded that half.
 */
const stalledHalfWay = (body: Buffer) =>
  Effect.gen(function*() {
    const server = yield* resourceServer(body, "stall")
    const started = yield* fresh()
    const { items } = yield* attach(started.client)
    yield* takeThrough(items, isCaughtUp)
    yield* download(started.client, `${server.url}/big.bin`)
    yield* started.client.Resume({ identifier, taskIdentifier: 1 })
    yield* poll(taskOf(started.client, 1), (task) => task?.countOfBytesReceived === body.length / 2)
    return { ...started, server }
  })

describe("Server", () => {
  it.live(
    "attach streams Attached then CaughtUp; Status lists the session as attached",
    () =>
      Effect.scoped(Effect.gen(function*() {
        const { client } = yield* fresh()
        const { items } = yield* attach(client)
        expect(yield* takeThrough(items, isCaughtUp)).toEqual([{ _tag: "Attached", tasks: [] }, { _tag: "CaughtUp" }])
        const status = yield* client.Status()
        expect(status.pid).toBeGreaterThan(0)
        expect(status.sessions).toEqual([{ identifier, attached: true, configuration, tasks: [] }])
      })),
    { timeout: 60_000 }
  )

  it.live(
    "attach with another protocol version fails with ProtocolVersionMismatch",
    () =>
      Effect.scoped(Effect.gen(function*() {
        const { client } = yield* fresh()
        const error = yield* Effect.flip(Stream.runHead(
          client.Attach({ identifier, protocolVersion: Protocol.version + 1, configuration })
        ))
        expect(error).toBeInstanceOf(Protocol.ProtocolVersionMismatch)
        expect(error).toMatchObject({
          _tag: "ProtocolVersionMismatch",
          daemonVersion: Protocol.version,
          clientVersion: Protocol.version + 1
        })
      })),
    { timeout: 60_000 }
  )

  it.live(
    "a second attach fails with -996 until the first connection closes",
    () =>
      Effect.scoped(Effect.gen(function*() {
        const { socket } = yield* fresh()
        const firstScope = yield* Scope.make()
        const first = yield* Scope.extend(connect(socket), firstScope)
        const { items } = yield* Scope.extend(attach(first), firstScope)
        yield* takeThrough(items, isCaughtUp)
        const second = yield* connect(socket)
        const refused = yield* Effect.flip(Stream.runHead(
          second.Attach({ identifier, protocolVersion: Protocol.version, configuration })
        ))
        expect(refused).toMatchObject({ _tag: "URLError", code: "BackgroundSessionInUseByAnotherProcess" })
        expect(refused._tag === "URLError" && refused.errorCode).toBe(-996)
        yield* Scope.close(firstScope, Exit.void)
        yield* poll(second.Status(), (status) => status.sessions.every((session) => !session.attached))
        const { items: again } = yield* attach(second)
        expect((yield* Queue.take(again))._tag).toBe("Attached")
      })),
    { timeout: 60_000 }
  )

  it.live(
    "a call about a session this connection has not attached fails with NotAttached",
    () =>
      Effect.scoped(Effect.gen(function*() {
        const { client, socket } = yield* fresh()
        yield* takeThrough((yield* attach(client)).items, isCaughtUp)
        const other = yield* connect(socket)
        const error = yield* Effect.flip(other.AllTasks({ identifier }))
        expect(error).toMatchObject({ _tag: "DaemonError", reason: "NotAttached" })
      })),
    { timeout: 60_000 }
  )

  it.live(
    "only http and https URLs make tasks: others fail with UnsupportedURL",
    () =>
      Effect.scoped(Effect.gen(function*() {
        const { client } = yield* fresh()
        yield* takeThrough((yield* attach(client)).items, isCaughtUp)
        const error = yield* Effect.flip(download(client, "ftp://127.0.0.1/a.bin"))
        expect(error).toMatchObject({ _tag: "URLError", code: "UnsupportedURL" })
      })),
    { timeout: 60_000 }
  )

  it.live(
    "a finished download is stored, replayed at every attach until acknowledged, then gone",
    () =>
      Effect.scoped(Effect.gen(function*() {
        const body = patterned(300_000)
        const server = yield* resourceServer(body, "whole")
        const { client } = yield* fresh()
        const first = yield* attach(client)
        yield* takeThrough(first.items, isCaughtUp)
        const task = yield* download(client, `${server.url}/a.bin`)
        expect(task).toMatchObject({ taskIdentifier: 1, kind: "download", state: "suspended" })
        yield* client.Resume({ identifier, taskIdentifier: 1 })
        const events = stored(yield* takeThrough(first.items, completes))
        expect(events.map((event) => event._tag)).toEqual(["DidFinishDownloadingTo", "DidCompleteWithError"])
        const finished = events[0]!
        if (finished._tag !== "DidFinishDownloadingTo") throw new Error("not a finished download")
        expect(sha256(fs.readFileSync(finished.location))).toBe(sha256(body))
        expect(events[1]).toEqual({ _tag: "DidCompleteWithError", taskIdentifier: 1, error: Option.none() })
        yield* first.detach
        yield* poll(client.Status(), (status) => status.sessions.every((session) => !session.attached))

        const second = yield* attach(client)
        const replayed = yield* takeThrough(second.items, isCaughtUp)
        expect(replayed[0]).toMatchObject({ _tag: "Attached", tasks: [{ taskIdentifier: 1, state: "completed" }] })
        expect(stored(replayed)).toEqual(events)
        yield* client.Acknowledge({ identifier, taskIdentifier: 1 })
        expect(fs.existsSync(finished.location)).toBe(false)
        yield* second.detach
        yield* poll(client.Status(), (status) => status.sessions.every((session) => !session.attached))

        const third = yield* attach(client)
        expect(yield* takeThrough(third.items, isCaughtUp)).toEqual([{ _tag: "Attached", tasks: [] }, {
          _tag: "CaughtUp"
        }])
      })),
    { timeout: 60_000 }
  )

  it.live(
    "an upload from a file completes with no app attached; its events are replayed at the next attach",
    () =>
      Effect.scoped(Effect.gen(function*() {
        const received: Array<Buffer> = []
        const server = yield* httpServer(async (request, response) => {
          received.push(await readBody(request))
          response.writeHead(201, { "Content-Type": "text/plain" })
          response.end("stored")
        })
        const { client, directory } = yield* fresh()
        const file = path.join(path.dirname(directory), "upload.bin")
        fs.writeFileSync(file, patterned(200_000))
        const first = yield* attach(client)
        yield* takeThrough(first.items, isCaughtUp)
        const task = yield* client.CreateTask({
          identifier,
          requestId: "u1",
          kind: "upload",
          request: { url: `${server.url}/upload`, method: "PUT", headers: {} },
          uploadFile: file
        })
        expect(task.countOfBytesExpectedToSend).toBe(200_000)
        yield* client.Resume({ identifier, taskIdentifier: task.taskIdentifier })
        yield* first.detach
        yield* poll(taskOf(client, task.taskIdentifier), (snapshot) => snapshot?.state === "completed")
        expect(received.map(sha256)).toEqual([sha256(fs.readFileSync(file))])

        const second = yield* attach(client)
        const events = stored(yield* takeThrough(second.items, isCaughtUp))
        expect(events.map((event) => event._tag)).toEqual([
          "DidReceiveResponse",
          "DidReceiveData",
          "DidCompleteWithError"
        ])
        expect(events[0]).toMatchObject({ response: { statusCode: 201 } })
        expect(events[1]).toMatchObject({ data: new TextEncoder().encode("stored") })
        expect(events[2]).toEqual({
          _tag: "DidCompleteWithError",
          taskIdentifier: task.taskIdentifier,
          error: Option.none()
        })
      })),
    { timeout: 60_000 }
  )

  it.live(
    "LoadData runs a data task and streams its events; nothing of it is kept",
    () =>
      Effect.scoped(Effect.gen(function*() {
        const body = patterned(100_000)
        const server = yield* resourceServer(body, "whole")
        const { client } = yield* fresh()
        yield* takeThrough((yield* attach(client)).items, isCaughtUp)
        const task = yield* client.CreateTask({
          identifier,
          requestId: "d1",
          kind: "data",
          request: get(`${server.url}/d`)
        })
        const events = yield* Stream.runCollect(client.LoadData({ identifier, taskIdentifier: task.taskIdentifier }))
        const tags = [...new Set(Array.from(events, (event) => event._tag))]
        expect(tags).toEqual(["DidReceiveResponse", "DidReceiveData", "DidCompleteWithError"])
        const data = Buffer.concat(
          Array.from(events).flatMap((event) => event._tag === "DidReceiveData" ? [event.data] : [])
        )
        expect(sha256(data)).toBe(sha256(body))
        expect(Array.from(events).at(-1)).toEqual({
          _tag: "DidCompleteWithError",
          taskIdentifier: task.taskIdentifier,
          error: Option.none()
        })
        expect(yield* client.AllTasks({ identifier })).toEqual([])
      })),
    { timeout: 60_000 }
  )

  it.live("a download cut by the server is retried from where it stopped", () =>
    Effect.scoped(Effect.gen(function*() {
      const body = patterned(1_000_000)
      const server = yield* resourceServer(body, "cut")
      const { client } = yield* fresh({ URLSESSION_RETRY_BASE_MILLIS: "50" })
      const { items } = yield* attach(client)
      yield* takeThrough(items, isCaughtUp)
      yield* download(client, `${server.url}/cut.bin`)
      yield* client.Resume({ identifier, taskIdentifier: 1 })
      const events = stored(yield* takeThrough(items, completes))
      expect(events.map((event) => event._tag)).toEqual(["DidFinishDownloadingTo", "DidCompleteWithError"])
      const finished = events[0]!
      if (finished._tag !== "DidFinishDownloadingTo") throw new Error("not a finished download")
      expect(sha256(fs.readFileSync(finished.location))).toBe(sha256(body))
      expect(server.ranges()).toEqual([undefined, `bytes=${body.length / 2}-`])
    })), { timeout: 60_000 })

  it.live(
    "a daemon killed with SIGKILL mid-download goes on from its partial file at the next start",
    () =>
      Effect.scoped(Effect.gen(function*() {
        const body = patterned(2_000_000)
        const { daemon, directory, server } = yield* stalledHalfWay(body)
        yield* kill(daemon)

        const { socket } = yield* daemonIn(directory)
        const again = yield* connect(socket)
        const events = stored(yield* takeThrough((yield* attach(again)).items, completes))
        const finished = events.find((event) => event._tag === "DidFinishDownloadingTo")
        expect(finished).toBeDefined()
        expect(sha256(fs.readFileSync(finished!.location))).toBe(sha256(body))
        expect(server.ranges()).toEqual([undefined, `bytes=${body.length / 2}-`])
      })),
    { timeout: 60_000 }
  )

  it.live("urlsessiond status lists the sessions and their tasks", () =>
    Effect.scoped(Effect.gen(function*() {
      const { client, directory } = yield* fresh()
      yield* takeThrough((yield* attach(client)).items, isCaughtUp)
      yield* download(client, "http://127.0.0.1:9/a.bin")
      const { code, output } = yield* runCommand(directory, ["status"])
      expect(code).toBe(0)
      expect(output).toMatch(/^urlsessiond \d+ is running \(\d+\.\d MiB resident\)$/m)
      expect(output).toContain(`session ${identifier} attached`)
      expect(output).toContain("task 1 download suspended 0 of ? bytes received GET http://127.0.0.1:9/a.bin")
    })), { timeout: 60_000 })

  it.live("urlsessiond status without a daemon says it is not running", () =>
    Effect.scoped(Effect.gen(function*() {
      const directory = path.join(yield* tempDirectory, "state")
      const { code, output } = yield* runCommand(directory, ["status"])
      expect([code, output.trim()]).toEqual([1, "urlsessiond is not running"])
    })), { timeout: 60_000 })

  it.live(
    "urlsessiond stop exits 0 without failing the transfers, which go on at the next start",
    () =>
      Effect.scoped(Effect.gen(function*() {
        const body = patterned(1_000_000)
        const { daemon, directory, server } = yield* stalledHalfWay(body)
        const stop = yield* runCommand(directory, ["stop"])
        expect(stop.code).toBe(0)
        expect(yield* Effect.promise(() => daemon.exited)).toBe(0)
        expect(daemon.output()).toContain("stopping as asked")

        const { socket } = yield* daemonIn(directory)
        const again = yield* connect(socket)
        const events = stored(yield* takeThrough((yield* attach(again)).items, completes))
        expect(events.map((event) => event._tag)).toEqual(["DidFinishDownloadingTo", "DidCompleteWithError"])
        const finished = events[0]!
        if (finished._tag !== "DidFinishDownloadingTo") throw new Error("not a finished download")
        expect(sha256(fs.readFileSync(finished.location))).toBe(sha256(body))
        expect(server.ranges()).toEqual([undefined, `bytes=${body.length / 2}-`])
      })),
    { timeout: 60_000 }
  )

  it.live(
    "a daemon with no app and nothing to do exits after URLSESSION_IDLE_EXIT_MILLIS",
    () =>
      Effect.scoped(Effect.gen(function*() {
        const { client, daemon } = yield* fresh({ URLSESSION_IDLE_EXIT_MILLIS: "500" })
        const { detach, items } = yield* attach(client)
        yield* takeThrough(items, isCaughtUp)
        yield* detach
        expect(yield* Effect.promise(() => daemon.exited)).toBe(0)
        expect(daemon.output()).toContain("idle for 500 ms; exiting")
      })),
    { timeout: 60_000 }
  )

  it.live("the socket is daemon.sock in the state directory, mode 0600", () =>
    Effect.scoped(Effect.gen(function*() {
      const directory = path.join(yield* tempDirectory, "state")
      const { socket } = yield* daemonIn(directory)
      expect(socket).toBe(path.join(directory, "daemon.sock"))
      const stat = fs.lstatSync(socket)
      expect(stat.isSocket()).toBe(true)
      expect(stat.mode & 0o777).toBe(0o600)
    })), { timeout: 60_000 })

  it.live(
    "a state directory too long for a socket path puts the socket in a private temp directory",
    () =>
      Effect.scoped(Effect.gen(function*() {
        const directory = path.join(yield* tempDirectory, "s".repeat(60), "t".repeat(60))
        const socket = DaemonSocket.pathFor(directory)
        yield* Effect.addFinalizer(() =>
          Effect.sync(() => fs.rmSync(path.dirname(socket), { recursive: true, force: true }))
        )
        expect(Buffer.byteLength(path.join(directory, "daemon.sock"))).toBeGreaterThan(DaemonSocket.maxPathBytes())
        expect(Buffer.byteLength(socket)).toBeLessThanOrEqual(DaemonSocket.maxPathBytes())
        yield* daemonIn(directory)
        expect(fs.lstatSync(path.dirname(socket)).mode & 0o777).toBe(0o700)
        expect(fs.lstatSync(socket).mode & 0o777).toBe(0o600)
        const client = yield* connect(socket)
        const status = yield* client.Status()
        expect(status.sessions).toEqual([])
      })),
    { timeout: 60_000 }
  )

  it.live(
    "a socket file left by a daemon killed with SIGKILL is replaced by the next one",
    () =>
      Effect.scoped(Effect.gen(function*() {
        const directory = path.join(yield* tempDirectory, "state")
        const first = yield* daemonIn(directory)
        yield* kill(first.daemon)
        expect(fs.lstatSync(first.socket).isSocket()).toBe(true)
        const second = yield* daemonIn(directory)
        const client = yield* connect(second.socket)
        const { items } = yield* attach(client)
        expect((yield* Queue.take(items))._tag).toBe("Attached")
      })),
    { timeout: 60_000 }
  )
})

const kill = (daemon: Daemon) =>
  Effect.promise(() => {
    process.kill(daemon.child.pid!, "SIGKILL")
    return daemon.exited
  })
