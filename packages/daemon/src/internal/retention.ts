/**
 * What the daemon keeps for an app that does not come back: finished files and stored
 * events until the app acknowledges them or the retention period passes, and partial files
 * while a task or resume data the app may hold names them.
 */
import type * as FileSystem from "@effect/platform/FileSystem"
import * as Clock from "effect/Clock"
import * as Effect from "effect/Effect"
import * as Option from "effect/Option"
import * as path from "node:path"
import type { Store } from "../Store.js"
import type { TaskRecord } from "./records.js"
import type { StoreError } from "./store.js"

/** Forgets the tasks that completed longer than `retention` ago, with their files. */
export const expire = (
  store: Store,
  fileSystem: FileSystem.FileSystem,
  retention: number
): Effect.Effect<void, StoreError> =>
  Effect.gen(function*() {
    const now = yield* Clock.currentTimeMillis
    const expired = yield* store.expire(now - retention)
    const files = expired.flatMap((task) => [task.finishedFile, task.partialFile].filter((file) => file !== null))
    yield* Effect.forEach(files, (file) => Effect.ignore(fileSystem.remove(file)), { discard: true })
  })

/**
 * Removes the files of a session's directories that none of its `tasks` refers to: a
 * finished file at once (its task is forgotten), a partial file once it is older than
 * `retention` (resume data the app holds, from a cancel or a failure, may still name it).
 */
export const removeUnreferencedFiles = (
  fileSystem: FileSystem.FileSystem,
  directories: { readonly partial: string; readonly finished: string },
  tasks: ReadonlyArray<TaskRecord>,
  retention: number
): Effect.Effect<void> =>
  Effect.gen(function*() {
    const now = yield* Clock.currentTimeMillis
    const finished = new Set(tasks.flatMap((task) => task.finishedFile ?? []))
    const partial = new Set(tasks.flatMap((task) => task.partialFile ?? []))
    const entries = (where: string) =>
      Effect.map(Effect.orElseSucceed(fileSystem.readDirectory(where), () => []), (names) =>
        names.map((name) => path.join(where, name)))
    for (const file of yield* entries(directories.finished)) {
      if (!finished.has(file)) yield* Effect.ignore(fileSystem.remove(file))
    }
    for (const file of yield* entries(directories.partial)) {
      if (partial.has(file)) continue
      const modified = yield* Effect.option(Effect.map(fileSystem.stat(file), (info) => info.mtime))
      const age = Option.match(Option.flatten(modified), { onNone: () => Infinity, onSome: (at) => now - at.getTime() })
      if (age >= retention) yield* Effect.ignore(fileSystem.remove(file))
    }
  })
