/**
 * The daemon's state directory: one per OS user, private by the same rule as the downloads
 * directory, holding the database, the instance lock and (later) partial and staged files.
 *
 * @since 0.1.0
 */
import type * as Context from "effect/Context"
import type * as Effect from "effect/Effect"
import type * as Layer from "effect/Layer"
import * as internal from "./internal/stateDirectory.js"

/**
 * The directory the daemon keeps its state in, made and checked when the layer is built.
 *
 * @since 0.1.0
 * @category models
 */
export interface StateDirectory {
  readonly path: string
}

/**
 * @since 0.1.0
 * @category tags
 */
export const StateDirectory: Context.Tag<StateDirectory, StateDirectory> = internal.tag

/**
 * Why a state directory cannot be used: `NotAbsolute` for an environment variable that
 * names a relative path, `NotPrivate` for a directory that cannot be made or breaks the
 * private-directory rule (its `message` names it and says how).
 *
 * @since 0.1.0
 * @category errors
 */
export type StateDirectoryError = internal.StateDirectoryError

/**
 * @since 0.1.0
 * @category errors
 */
export const StateDirectoryError: typeof internal.StateDirectoryError = internal.StateDirectoryError

/**
 * The environment variable that moves the state directory (an absolute path): the one
 * switch a test, or a user with two daemons, needs.
 *
 * @since 0.1.0
 * @category constants
 */
export const variable: string = internal.variable

/**
 * Where the state directory is unless the variable moves it: `$XDG_STATE_HOME/urlsession`,
 * else `~/.local/state/urlsession` (`~/Library/Application Support/urlsession` on macOS,
 * `%LOCALAPPDATA%\urlsession` on Windows). A relative `XDG_STATE_HOME` is ignored, as the
 * XDG Base Directory specification asks.
 *
 * @since 0.1.0
 * @category constructors
 */
export const defaultPath: (
  environment: Readonly<Record<string, string | undefined>>,
  platform?: NodeJS.Platform,
  home?: string
) => string = internal.defaultPath

/**
 * The state directory at `path`, made 0700 if missing and checked.
 *
 * @since 0.1.0
 * @category layers
 */
export const layerPath: (path: string) => Layer.Layer<StateDirectory, StateDirectoryError> = internal.layerPath

/**
 * The state directory where `URLSESSION_STATE_DIRECTORY` says (read through Effect's
 * `Config`), else at `defaultPath`, made 0700 if missing and checked.
 *
 * @example
 * ```ts
 * import { StateDirectory } from "@urlsession/daemon"
 * import { Effect } from "effect"
 *
 * const where = Effect.map(StateDirectory.StateDirectory, (directory) => directory.path).pipe(
 *   Effect.provide(StateDirectory.layer)
 * )
 * ```
 *
 * @since 0.1.0
 * @category layers
 */
export const layer: Layer.Layer<StateDirectory, StateDirectoryError> = internal.layer

/**
 * The path `layer` would use, without making or checking anything.
 *
 * @since 0.1.0
 * @category accessors
 */
export const resolve: Effect.Effect<string, StateDirectoryError> = internal.resolve
