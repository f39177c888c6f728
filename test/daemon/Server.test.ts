/**
 * The wire: a real `urlsessiond` serving the protocol over its Unix socket, and an
 * `RpcClient` in the test speaking ndjson to it.
 */
import * as NodeSocket from "@effect/platform-node/NodeSocket"
import * as RpcClient from "@effect/rpc/RpcClient"
import * as RpcSerialization from "@effect/rpc/RpcSerialization"
import { describe, expect, it } from "@effect/vitest"
import { DaemonSocket, Protocol } from "@urlsession/daemon"
import { Effect, Layer } from "effect"
import * as fs from "node:fs"
import * as path from "node:path"
import { tempDirectory } from "../fixtures/files.js"
import { startDaemon, waitForOutput } from "./daemonProcess.js"

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

/** A daemon on `directory`, ready, and its socket path. */
const daemonIn = (directory: string) =>
  Effect.gen(function*() {
    const daemon = yield* startDaemon(directory)
    yield* waitForOutput(daemon, "ready in")
    return { daemon, socket: DaemonSocket.pathFor(directory) }
  })

describe("Server", () => {
  it.live("attach with the daemon's protocol version names the session; Status lists it", () =>
    Effect.scoped(Effect.gen(function*() {
      const directory = path.join(yield* tempDirectory, "state")
      const { socket } = yield* daemonIn(directory)
      const client = yield* connect(socket)
      const attached = yield* client.Attach({
        identifier: "com.example.sync",
        protocolVersion: Protocol.version,
        configuration: { timeoutIntervalForResource: 604800 }
      })
      expect(attached).toEqual({ sessionIdentifier: "com.example.sync", protocolVersion: Protocol.version })
      expect(yield* client.Status()).toEqual({
        sessions: [{
          identifier: "com.example.sync",
          configuration: { timeoutIntervalForResource: 604800 },
          tasks: []
        }]
      })
    })), { timeout: 60_000 })

  it.live("attach with another protocol version fails with ProtocolVersionMismatch", () =>
    Effect.scoped(Effect.gen(function*() {
      const directory = path.join(yield* tempDirectory, "state")
      const { socket } = yield* daemonIn(directory)
      const client = yield* connect(socket)
      const error = yield* Effect.flip(
        client.Attach({ identifier: "com.example.sync", protocolVersion: Protocol.version + 1, configuration: {} })
      )
      expect(error).toBeInstanceOf(Protocol.ProtocolVersionMismatch)
      expect(error).toMatchObject({
        _tag: "ProtocolVersionMismatch",
        daemonVersion: Protocol.version,
        clientVersion: Protocol.version + 1
      })
    })), { timeout: 60_000 })

  it.live("the socket is daemon.sock in the state directory, mode 0600", () =>
    Effect.scoped(Effect.gen(function*() {
      const directory = path.join(yield* tempDirectory, "state")
      const { socket } = yield* daemonIn(directory)
      expect(socket).toBe(path.join(directory, "daemon.sock"))
      const stat = fs.lstatSync(socket)
      expect(stat.isSocket()).toBe(true)
      expect(stat.mode & 0o777).toBe(0o600)
    })), { timeout: 60_000 })

  it.live("a state directory too long for a socket path puts the socket in a private temp directory", () =>
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
      const attached = yield* client.Attach({ identifier: "a", protocolVersion: Protocol.version, configuration: {} })
      expect(attached.sessionIdentifier).toBe("a")
    })), { timeout: 60_000 })

  it.live("a socket file left by a daemon killed with SIGKILL is replaced by the next one", () =>
    Effect.scoped(Effect.gen(function*() {
      const directory = path.join(yield* tempDirectory, "state")
      const first = yield* daemonIn(directory)
      process.kill(first.daemon.child.pid!, "SIGKILL")
      yield* Effect.promise(() => first.daemon.exited)
      expect(fs.lstatSync(first.socket).isSocket()).toBe(true)
      const second = yield* daemonIn(directory)
      const client = yield* connect(second.socket)
      const attached = yield* client.Attach({ identifier: "a", protocolVersion: Protocol.version, configuration: {} })
      expect(attached.sessionIdentifier).toBe("a")
    })), { timeout: 60_000 })
})
