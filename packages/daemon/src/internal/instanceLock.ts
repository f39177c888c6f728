import * as Reactivity from "@effect/experimental/Reactivity"
import * as SqliteClient from "@effect/sql-sqlite-node/SqliteClient"
import type { SqlError } from "@effect/sql/SqlError"
import * as Data from "effect/Data"
import * as Effect from "effect/Effect"
import * as Exit from "effect/Exit"
import * as Schedule from "effect/Schedule"
import * as Scope from "effect/Scope"
import * as path from "node:path"
import type { StateDirectory } from "../StateDirectory.js"
import * as stateDirectory from "./stateDirectory.js"

export class InstanceLockError extends Data.TaggedError("InstanceLockError")<{
  readonly reason: "AlreadyRunning" | "Unavailable"
  readonly message: string
  readonly cause?: SqlError
}> {}

export const lockFile = "daemon.lock"

// SQLite reports a lock another process holds as SQLITE_BUSY (or SQLITE_LOCKED within one).
const isBusy = (error: SqlError): boolean => {
  const code = (error.cause as { readonly code?: unknown } | undefined)?.code
  return code === "SQLITE_BUSY" || code === "SQLITE_LOCKED"
}

// The lock is SQLite's exclusive lock on a database of its own, which SQLite takes with the
// kernel's fcntl record locks: the kernel drops it when the holder dies however it dies
// (kill -9 included), so there is never a stale lock to detect or break, and taking it is
// atomic. In `EXCLUSIVE` locking mode the lock, once a write has taken it, is kept until the
// connection closes, with the scope.
const take = (file: string) =>
  Effect.gen(function*() {
    // No WAL: a WAL database shares its lock through a memory-mapped index instead.
    const sql = yield* SqliteClient.make({ filename: file, disableWAL: true }).pipe(Effect.provide(Reactivity.layer))
    yield* sql`PRAGMA busy_timeout = 0`
    yield* sql`PRAGMA locking_mode = EXCLUSIVE`
    // The first statement that touches the file asks for the exclusive lock outright, so that
    // no shared lock is taken first and kept (as EXCLUSIVE mode keeps every lock it takes).
    yield* sql`BEGIN EXCLUSIVE`
    yield* sql`CREATE TABLE IF NOT EXISTS holder (pid INTEGER NOT NULL)`
    yield* sql`DELETE FROM holder`
    yield* sql`INSERT INTO holder (pid) VALUES (${process.pid})`
    yield* sql`COMMIT`
  })

// Two daemons started together can each get part of the lock and refuse each other. Each
// failed try closes its connection, dropping what it held, and tries again after a random
// pause; a lock that stays taken for all the tries belongs to a running daemon.
const tries = Schedule.intersect(Schedule.jittered(Schedule.spaced("40 millis")), Schedule.recurs(24))

export const acquire: Effect.Effect<void, InstanceLockError, Scope.Scope | StateDirectory> = Effect.gen(function*() {
  const directory = yield* stateDirectory.tag
  const file = path.join(directory.path, lockFile)
  const attempt = Effect.flatMap(Scope.make(), (scope) =>
    take(file).pipe(
      Scope.extend(scope),
      Effect.onExit((exit) => Exit.isFailure(exit) ? Scope.close(scope, exit) : Effect.void),
      Effect.as(scope)
    ))
  yield* Effect.acquireRelease(
    Effect.retry(attempt, { schedule: tries, while: isBusy }),
    (scope, exit) => Scope.close(scope, exit)
  )
}).pipe(
  Effect.catchTag("SqlError", (cause) =>
    Effect.flatMap(stateDirectory.tag, (directory) =>
      Effect.fail(
        isBusy(cause)
          ? new InstanceLockError({
            reason: "AlreadyRunning",
            message: `another urlsessiond holds the lock in ${directory.path}`,
            cause
          })
          : new InstanceLockError({
            reason: "Unavailable",
            message: `the lock ${path.join(directory.path, lockFile)} cannot be taken: ${cause.message}`,
            cause
          })
      )))
)
