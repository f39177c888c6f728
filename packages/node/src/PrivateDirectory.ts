/**
 * The rule for a directory of our own, and for the files written in it: made 0700 where it
 * is missing, used only if it is a real directory (not a symbolic link) owned by this
 * process's user and writable by nobody else; files in it opened without following links.
 * The downloads directory follows it, and so does the transfer daemon's state directory.
 *
 * @since 0.1.0
 */
import type { PlatformError } from "@effect/platform/Error"
import type { PartialFile, PartialFileMode } from "@urlsession/core/DownloadStorage"
import type * as Effect from "effect/Effect"
import type * as Scope from "effect/Scope"
import * as internal from "./internal/privateDirectory.js"

/**
 * Makes `directory` (mode 0700, with any missing parents) unless it exists, then checks it:
 * a directory, not a link to one, owned by this user, writable by neither its group nor
 * others. A directory that breaks the rule is refused, never repaired: the `SystemError`'s
 * `description` names it and says what is wrong.
 *
 * @example
 * ```ts
 * import * as PrivateDirectory from "@urlsession/node/PrivateDirectory"
 *
 * const ready = PrivateDirectory.ensure("/tmp/my-app-state")
 * ```
 *
 * @since 0.1.0
 * @category constructors
 */
export const ensure: (directory: string) => Effect.Effect<void, PlatformError> = internal.ensure

/**
 * Opens `path` for writing at its end, without following a link under its name, and only if
 * it is a regular file with one hard link; closed with the scope.
 *
 * @since 0.1.0
 * @category constructors
 */
export const openFile: (path: string, mode: PartialFileMode) => Effect.Effect<PartialFile, PlatformError, Scope.Scope> =
  internal.openFile
