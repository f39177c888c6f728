import * as URLError from "@urlsession/core/URLError"
import * as Effect from "effect/Effect"
import { randomUUID } from "node:crypto"
import * as fs from "node:fs/promises"

const isCrossDevice = (cause: unknown): boolean => (cause as { readonly code?: unknown }).code === "EXDEV"

// `to` is complete or absent at every moment: across file systems the copy goes to a staging
// name beside `to`, is flushed, then renamed over it.
const copyAcross = async (from: string, to: string): Promise<void> => {
  const staging = `${to}.urlsession-${randomUUID()}.partial`
  try {
    await fs.copyFile(from, staging)
    const file = await fs.open(staging, "r+")
    try {
      await file.sync()
    } finally {
      await file.close()
    }
    await fs.rename(staging, to)
  } catch (cause) {
    await fs.rm(staging, { force: true })
    throw cause
  }
  await fs.rm(from, { force: true })
}

/**
 * Moves a file the daemon finished to where the app wants it: a rename on one file system,
 * else a copy then the removal of the source. Uninterruptible: a copy abandoned halfway
 * would leave its staging file behind.
 */
export const moveFile = (from: string, to: string, failingURL: string): Effect.Effect<void, URLError.URLError> =>
  Effect.tryPromise({
    try: () =>
      fs.rename(from, to).catch((cause) => isCrossDevice(cause) ? copyAcross(from, to) : Promise.reject(cause)),
    catch: (cause) =>
      URLError.make("CannotMoveFile", { failingURL, message: `cannot move the download to ${to}`, cause })
  }).pipe(Effect.uninterruptible)
