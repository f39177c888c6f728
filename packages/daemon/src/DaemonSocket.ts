/**
 * Where the daemon listens: a Unix socket, mode 0600, named `daemon.sock` in the state
 * directory, or, when that path is longer than a Unix socket path may be, in a private
 * directory under the OS temp directory named by a hash of the state directory. The app
 * side computes the same path with `pathFor`.
 *
 * @since 0.1.0
 */
import type * as SocketServer from "@effect/platform/SocketServer"
import type * as Effect from "effect/Effect"
import type * as Layer from "effect/Layer"
import * as internal from "./internal/daemonSocket.js"
import type { StateDirectory } from "./StateDirectory.js"

/**
 * `NotPrivate`: the fallback directory breaks the private-directory rule (its `message` says
 * how); `Unavailable`: the socket cannot be bound, replaced or narrowed to 0600.
 *
 * @since 0.1.0
 * @category errors
 */
export type DaemonSocketError = internal.DaemonSocketError

/**
 * @since 0.1.0
 * @category errors
 */
export const DaemonSocketError: typeof internal.DaemonSocketError = internal.DaemonSocketError

/**
 * The name of the socket file.
 *
 * @since 0.1.0
 * @category constants
 */
export const socketFile: string = internal.socketFile

/**
 * The longest socket path the platform can bind, in bytes: 107 on Linux, 103 elsewhere.
 *
 * @since 0.1.0
 * @category constants
 */
export const maxPathBytes: (platform?: NodeJS.Platform) => number = internal.maxPathBytes

/**
 * The socket path for a state directory, without making or checking anything.
 *
 * @example
 * ```ts
 * import { DaemonSocket } from "@urlsession/daemon"
 *
 * DaemonSocket.pathFor("/home/ada/.local/state/urlsession") // "/home/ada/.local/state/urlsession/daemon.sock"
 * ```
 *
 * @since 0.1.0
 * @category constructors
 */
export const pathFor: (stateDirectory: string, platform?: NodeJS.Platform, temporary?: string) => string =
  internal.pathFor

/**
 * The socket path for the state directory, with a fallback directory made 0700 and checked.
 *
 * @since 0.1.0
 * @category constructors
 */
export const resolve: Effect.Effect<string, DaemonSocketError, StateDirectory> = internal.resolve

/**
 * Listens on the socket, replacing a stale socket file, and narrows it to 0600. Only the
 * holder of the instance lock may build it.
 *
 * @since 0.1.0
 * @category layers
 */
export const layerServer: Layer.Layer<SocketServer.SocketServer, DaemonSocketError, StateDirectory> =
  internal.layerServer
