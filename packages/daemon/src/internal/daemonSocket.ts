import * as NodeSocketServer from "@effect/platform-node/NodeSocketServer"
import type { PlatformError } from "@effect/platform/Error"
import type * as SocketServer from "@effect/platform/SocketServer"
import * as PrivateDirectory from "@urlsession/node/PrivateDirectory"
import * as Data from "effect/Data"
import * as Effect from "effect/Effect"
import * as Layer from "effect/Layer"
import { createHash } from "node:crypto"
import * as fs from "node:fs"
import * as os from "node:os"
import * as path from "node:path"
import type { StateDirectory } from "../StateDirectory.js"
import * as stateDirectory from "./stateDirectory.js"

export class DaemonSocketError extends Data.TaggedError("DaemonSocketError")<{
  readonly reason: "NotPrivate" | "Unavailable"
  readonly message: string
  readonly cause?: unknown
}> {}

export const socketFile = "daemon.sock"

// `sockaddr_un.sun_path` holds 108 bytes on Linux and 104 on macOS and the BSDs, one of
// them the terminating NUL; a longer path cannot be bound or connected to at all.
export const maxPathBytes = (platform: NodeJS.Platform = process.platform): number => platform === "linux" ? 107 : 103

export const pathFor = (
  stateDirectory: string,
  platform: NodeJS.Platform = process.platform,
  temporary: string = os.tmpdir()
): string => {
  const inState = path.join(stateDirectory, socketFile)
  if (Buffer.byteLength(inState) <= maxPathBytes(platform)) return inState
  // Named by the state directory, so that the daemon and its apps find the same one, and
  // each state directory (each user, each test) has a socket of its own.
  const hash = createHash("sha256").update(stateDirectory).digest("hex").slice(0, 24)
  return path.join(temporary, `urlsession-${hash}`, socketFile)
}

const notPrivate = (cause: PlatformError) =>
  new DaemonSocketError({
    reason: "NotPrivate",
    message: cause._tag === "SystemError" ? cause.description ?? cause.message : cause.message,
    cause
  })

// The socket's own directory passes the private-directory rule: the state directory was
// checked when its layer was built, and a fallback directory in the shared temp directory
// is made 0700 here, or refused if someone else made it first.
export const resolve: Effect.Effect<string, DaemonSocketError, StateDirectory> = Effect.gen(function*() {
  const directory = yield* stateDirectory.tag
  const socket = pathFor(directory.path)
  if (path.dirname(socket) !== directory.path) {
    yield* Effect.mapError(PrivateDirectory.ensure(path.dirname(socket)), notPrivate)
  }
  return socket
})

const unavailable = (socket: string, cause: unknown) =>
  new DaemonSocketError({
    reason: "Unavailable",
    message: `the socket ${socket} cannot be served: ${cause instanceof Error ? cause.message : String(cause)}`,
    cause
  })

// A daemon killed with SIGKILL leaves its socket file behind, and binding over it fails
// with EADDRINUSE. Only the holder of the instance lock calls this, so the file it removes
// is never a live daemon's.
const removeStale = (socket: string) =>
  Effect.try({
    try: () => fs.rmSync(socket, { force: true }),
    catch: (cause) => unavailable(socket, cause)
  })

// The socket is made with the process's umask; its directory is 0700, so nobody else can
// reach it in the moment before it is narrowed to 0600.
const restrict = (socket: string) =>
  Effect.try({
    try: () => fs.chmodSync(socket, 0o600),
    catch: (cause) => unavailable(socket, cause)
  })

export const layerServer: Layer.Layer<SocketServer.SocketServer, DaemonSocketError, StateDirectory> = Layer
  .unwrapEffect(
    Effect.gen(function*() {
      const socket = yield* resolve
      yield* removeStale(socket)
      return NodeSocketServer.layer({ path: socket }).pipe(
        Layer.mapError((cause) => unavailable(socket, cause.cause ?? cause)),
        Layer.tap(() => restrict(socket))
      )
    })
  )
