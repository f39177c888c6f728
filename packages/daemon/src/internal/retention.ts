/**
 * What the daemon keeps for an app that does not come back: finished files and stored
 * events until the app acknowledges them or the retention period passes, and partial files
 * while a task or resume data the app may hold names them.
 */
import type * as FileSystem from "@effect/platform/FileSystem"
import * as Clock from "effect/Clock"
import * as Effect from "effect/Effect"
import * as path from "node:path"
import type { Store } from "../Store.js"
import type { TaskRecord } from "./records.js"
import type { StoreError } from "./store.js"

/** Forgets the tasks that completed longer than `retention` ago, with their files, but
 * for a partial file that a task made from their resume data goes on with. */
export const expire = (
  store: Store,
  fileSystem: FileSystem.FileSystem,
  retention: number
): Effect.Effect<void, StoreError> =>
  Effect.gen(function*() {
    const now = yield* Clock.currentTimeMillis
    const expired = yield* store.expire(now - retention)
    for (const task of expired) {
      const inUse = new Set((yield* store.tasks(task.session)).flatMap((other) => other.partialFile ?? []))
      const files = [task.finishedFile, task.partialFile].filter((file) => file !== null && !inUse.has(file))
      yield* Effect.forEach(files, (file) => Effect.ignore(fileSystem.remove(file!)), { discard: true })
    }
  })

/**
 * Removes the files of a session's directories that none of its `tasks` refers to (a
 * download that a crash cut before its first checkpoint, a file whose task is forgotten).
 * Resume data the app holds names a partial file that its task's row keeps (see
 * `acknowledgeTask`), so nothing the app may still use is unreferenced. Run before any
 * transfer starts.
 */
export const removeUnreferencedFiles = (
  fileSystem: FileSystem.FileSystem,
  directories: { readonly partial: string; readonly finished: string },
  tasks: ReadonlyArray<TaskRecord>
): Effect.Effect<void> =>
  Effect.gen(function*() {
    const referenced = new Set(tasks.flatMap((task) => [task.finishedFile ?? [], task.partialFile ?? []].flat()))
    const entries = (where: string) =>
      Effect.map(Effect.orElseSucceed(fileSystem.readDirectory(where), () => []), (names) =>
        names.map((name) => path.join(where, name)))
    const files = [...(yield* entries(directories.finished)), ...(yield* entries(directories.partial))]
    yield* Effect.forEach(files, (file) =>
      referenced.has(file) ? Effect.void : Effect.ignore(fileSystem.remove(file)), {
      discard: true
    })
  })
