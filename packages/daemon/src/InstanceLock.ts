/**
 * One daemon per state directory, so one per OS user: an exclusive lock in the state
 * directory, held for the daemon's life. A second daemon that finds it taken exits cleanly.
 *
 * The lock is SQLite's exclusive lock (the kernel's fcntl record lock) on `daemon.lock`.
 * Rejected alternatives: a lock file made with `O_EXCL` and holding a PID outlives a
 * `kill -9` and must be judged stale by a PID check, which PID reuse fools and which two
 * starters can both pass; binding the Unix socket needs a stale socket unlinked first, and
 * two starters can each unlink the other's, and the socket may have to live outside the
 * state directory when its path is too long. A kernel lock has neither problem. It is not
 * to be trusted on NFS: keep the state directory on a local file system.
 *
 * @since 0.1.0
 */
import type * as Effect from "effect/Effect"
import type * as Scope from "effect/Scope"
import * as internal from "./internal/instanceLock.js"
import type { StateDirectory } from "./StateDirectory.js"

/**
 * `AlreadyRunning`: another daemon holds the lock; `Unavailable`: the lock file cannot be
 * opened or written (the SQLite error is the `cause`).
 *
 * @since 0.1.0
 * @category errors
 */
export type InstanceLockError = internal.InstanceLockError

/**
 * @since 0.1.0
 * @category errors
 */
export const InstanceLockError: typeof internal.InstanceLockError = internal.InstanceLockError

/**
 * Takes the lock, trying for about a second while it is taken (two daemons started together may
 * each hold part of it for a moment), and holds it until the scope closes.
 *
 * @since 0.1.0
 * @category constructors
 */
export const acquire: Effect.Effect<void, InstanceLockError, Scope.Scope | StateDirectory> = internal.acquire

/**
 * The name of the lock file in the state directory.
 *
 * @since 0.1.0
 * @category constants
 */
export const lockFile: string = internal.lockFile
