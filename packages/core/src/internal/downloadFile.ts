import type { PlatformError } from "@effect/platform/Error"
import type * as FileSystem from "@effect/platform/FileSystem"
import * as Effect from "effect/Effect"

/**
 * Moves a finished download to `to` so that `to` is either absent or complete: a rename when
 * both are on one file system; otherwise a copy to a temporary name beside `to`, flushed to
 * disk, then renamed over `to`. The source is removed once the move is done.
 */
export const moveAtomically = (
  fileSystem: FileSystem.FileSystem,
  from: string,
  to: string
): Effect.Effect<void, PlatformError> =>
  fileSystem.rename(from, to).pipe(
    Effect.catchIf(isCrossDevice, () => {
      const staging = `${to}.urlsession-${globalThis.crypto.randomUUID()}.partial`
      // Uninterruptible: a copy abandoned halfway would leave the staging file behind.
      return fileSystem.copyFile(from, staging).pipe(
        Effect.zipRight(Effect.scoped(Effect.flatMap(fileSystem.open(staging, { flag: "r+" }), (file) => file.sync))),
        Effect.zipRight(fileSystem.rename(staging, to)),
        Effect.tapErrorCause(() => Effect.ignore(fileSystem.remove(staging))),
        // `to` is complete now; a source that cannot be removed goes with the session.
        Effect.zipRight(Effect.ignore(fileSystem.remove(from))),
        Effect.uninterruptible
      )
    })
  )

const isCrossDevice = (error: PlatformError): boolean =>
  error._tag === "SystemError" && String((error.cause as { readonly code?: unknown } | undefined)?.code) === "EXDEV"
