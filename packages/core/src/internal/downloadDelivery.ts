import type * as FileSystem from "@effect/platform/FileSystem"
import * as Effect from "effect/Effect"
import * as Exit from "effect/Exit"
import * as Scope from "effect/Scope"
import * as URLError from "../URLError.js"
import * as URLSessionEvent from "../URLSessionEvent.js"
import type { DownloadResult } from "../URLSessionTask.js"
import type { Delivery, TaskContext } from "./task.js"

/** Where a session writes its downloads. */
export interface DownloadStorage {
  readonly fileSystem: FileSystem.FileSystem
  /** The session's own directory; created on the first download. */
  readonly directory: string
}

/**
 * A delivery that writes the body to a new file in the session's directory, with Apple's
 * events: `DidWriteData` per chunk written (coalesced for lagging subscribers), then
 * `DidFinishDownloadingTo` before the completion. A download that fails or is cancelled
 * leaves no file behind; a complete one is handed over at `location`.
 */
export const make = (storage: DownloadStorage, context: TaskContext): Delivery<DownloadResult> => {
  const { fileSystem } = storage
  const fileError = (code: URLError.Code, message: string) => (cause: unknown) =>
    URLError.make(code, { failingURL: context.currentURL(), message, cause })
  const scope = Effect.runSync(Scope.make())
  let file: FileSystem.File | undefined
  let location: string | undefined
  let written = 0
  let expected = -1

  const create = (path: string) =>
    fileSystem.makeDirectory(storage.directory, { recursive: true }).pipe(
      Effect.zipRight(fileSystem.open(path, { flag: "wx" })),
      Scope.extend(scope),
      Effect.mapError(fileError("CannotCreateFile", `Cannot create the download file ${path}`))
    )

  return {
    reportsData: false,
    onResponse: (response) =>
      Effect.suspend(() => {
        expected = response.expectedContentLength
        written = 0
        const path = `${storage.directory}/CFNetworkDownload_${globalThis.crypto.randomUUID()}.tmp`
        // Known before the file exists, so that a failure at any point after removes it.
        location = path
        return Effect.map(create(path), (opened) => {
          file = opened
        })
      }),
    onData: (chunk) =>
      Effect.suspend(() =>
        file!.writeAll(chunk).pipe(
          Effect.mapError(fileError("CannotWriteToFile", `Cannot write to the download file ${location}`)),
          Effect.zipRight(Effect.suspend(() => {
            written += chunk.byteLength
            return context.observed()
              ? context.emit(URLSessionEvent.DidWriteData({
                taskIdentifier: context.taskIdentifier,
                bytesWritten: chunk.byteLength,
                totalBytesWritten: written,
                totalBytesExpectedToWrite: expected
              }))
              : Effect.void
          }))
        )
      ),
    finish: (response) =>
      Effect.gen(function*() {
        yield* file!.sync.pipe(
          Effect.mapError(fileError("CannotWriteToFile", `Cannot write to the download file ${location}`))
        )
        yield* Scope.close(scope, Exit.void)
        if (context.observed()) {
          yield* context.emit(URLSessionEvent.DidFinishDownloadingTo({
            taskIdentifier: context.taskIdentifier,
            location: location!
          }))
        }
        return { location: location!, response }
      }),
    onFinish: (exit) =>
      Scope.close(scope, Exit.void).pipe(
        Effect.zipRight(
          Exit.isFailure(exit) && location !== undefined
            ? Effect.ignore(fileSystem.remove(location))
            : Effect.void
        )
      )
  }
}
