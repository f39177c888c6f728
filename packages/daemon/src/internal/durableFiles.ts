/**
 * Making what the daemon wrote durable before the store trusts it: a file's bytes, and a
 * directory's entries (a rename into it).
 */
import * as Effect from "effect/Effect"
import * as fs from "node:fs"

/** `fsync` of `path` (a file, or a directory for its entries); fails with the errno's error. */
export const sync = (path: string): Effect.Effect<void, NodeJS.ErrnoException> =>
  Effect.async((resume) => {
    fs.open(path, "r", (error, fd) => {
      if (error) return resume(Effect.fail(error))
      fs.fsync(fd, (syncError) => fs.close(fd, () => resume(syncError ? Effect.fail(syncError) : Effect.void)))
    })
  })
