/**
 * Where a session writes its downloads, as the platform provides it: a directory of the
 * session's own, and how to open files in it without following links. The node package
 * gives one to core (`@effect/platform`'s `FileSystem` cannot open without following links).
 *
 * @since 0.1.0
 */
import type { PlatformError } from "@effect/platform/Error"
import type * as FileSystem from "@effect/platform/FileSystem"
import type * as Effect from "effect/Effect"
import type * as Scope from "effect/Scope"

/**
 * How a partial file is opened: `"create"` makes a new one (nothing may exist under its
 * name); `"open"` opens one that exists; `"openOrCreate"` does either.
 *
 * @since 0.1.0
 * @category models
 */
export type PartialFileMode = "create" | "open" | "openOrCreate"

/**
 * A partial file open for writing: every write goes at its end.
 *
 * @since 0.1.0
 * @category models
 */
export interface PartialFile {
  /** Its size in bytes when it was opened. */
  readonly size: number
  /** Cuts it to `length` bytes. */
  readonly truncate: (length: number) => Effect.Effect<void, PlatformError>
  /** Appends all of `chunk`. */
  readonly writeAll: (chunk: Uint8Array) => Effect.Effect<void, PlatformError>
  /** Makes every byte written so far durable (`fsync`): they survive a crash of the
   * process and of the machine. */
  readonly sync: Effect.Effect<void, PlatformError>
}

/**
 * Where a session writes its downloads, as the platform gives it: a directory of the
 * session's own, and how to use it safely. A download writes nowhere else (except the
 * caller's own `to`).
 *
 * @since 0.1.0
 * @category models
 */
export interface DownloadStorage {
  /** Moves and removes finished files. */
  readonly fileSystem: FileSystem.FileSystem
  /** The session's own directory. */
  readonly directory: string
  /** Makes the directory again if it has gone, and checks that it is still private, by the
   * platform's rule; run before each new partial file. A `SystemError`'s `description` says
   * in plain words which directory breaks the rule, and how. */
  readonly prepareDirectory: Effect.Effect<void, PlatformError>
  /** Opens a partial file in the directory without following links: a symbolic link, or
   * anything but a regular file of one link, under its name fails (a `SystemError`'s
   * `description` says why, in plain words: "it is a symbolic link"). Closed with the
   * scope. */
  readonly openPartialFile: (
    path: string,
    mode: PartialFileMode
  ) => Effect.Effect<PartialFile, PlatformError, Scope.Scope>
  /** This process and whether another one still runs, by the platform's process ids: a
   * resumable download's record names the process whose download writes its partial file,
   * and is left alone while that process runs. Without it, every such record is taken to
   * be in use, and a resumable download that finds one starts afresh. */
  readonly processes?: Processes | undefined
}

/**
 * The platform's processes, as a resumable download asks about them.
 *
 * @since 0.1.0
 * @category models
 */
export interface Processes {
  /** This process's id. */
  readonly current: number
  /** Whether the process of this id still runs (for any user). */
  readonly isRunning: (pid: number) => boolean
}
