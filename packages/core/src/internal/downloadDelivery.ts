import type { PlatformError } from "@effect/platform/Error"
import * as Effect from "effect/Effect"
import * as Exit from "effect/Exit"
import * as Option from "effect/Option"
import * as Scope from "effect/Scope"
import type { DownloadStorage, PartialFile } from "../DownloadStorage.js"
import { ResumeData, version as resumeDataVersion } from "../ResumeData.js"
import * as URLError from "../URLError.js"
import * as URLRequest from "../URLRequest.js"
import { isHTTPURLResponse, type URLResponse } from "../URLResponse.js"
import * as URLSessionEvent from "../URLSessionEvent.js"
import type { DownloadResult } from "../URLSessionTask.js"
import * as EntityTag from "./entityTag.js"
import { isEncoded } from "./responseHead.js"
import type { Delivery, TaskContext } from "./task.js"

/** A download delivery, and what `cancelByProducingResumeData` needs of it. */
export interface DownloadDelivery extends Delivery<DownloadResult> {
  /** Whether what has arrived so far could be resumed (before knowing how much will). */
  readonly isResumable: () => boolean
  /** Keep the partial file when the task fails: resume data will point at it. */
  readonly keepPartialFile: () => void
  /** The resume data for the bytes on disk now, if the download can be resumed. */
  readonly resumeData: () => Option.Option<ResumeData>
  /** Removes the partial file (when no resume data could be made after all). */
  readonly removePartialFile: Effect.Effect<void>
  /** The resume data for the bytes on disk now, once those bytes are durable. */
  readonly checkpoint: Effect.Effect<Option.Option<ResumeData>>
}

const partialFileName = () => `CFNetworkDownload_${globalThis.crypto.randomUUID()}.tmp`

/** Header fields a resumed request adds, which resume data must not record. */
const resumeFields = ["Range", "If-Range", "Accept-Encoding"]

/**
 * A delivery that writes the body to a file in the session's directory, with Apple's
 * events: `DidResumeAtOffset` when resuming, `DidWriteData` per chunk written (coalesced for
 * lagging subscribers), then `DidFinishDownloadingTo` before the completion. A download that
 * fails or is cancelled leaves no file behind unless resume data points at it; a complete
 * one is handed over at `location`.
 *
 * Resuming from `resume` asks for `Range: bytes=N-` with `If-Range`, and appends only to a
 * 206 whose `Content-Range` starts at N, whose total is the recorded length and whose
 * validator is unchanged. A 200 (the resource changed, or ranges are ignored) starts the
 * file again from zero; a 416 or any other 206 sends the request again without a range.
 */
export const make = (
  storage: DownloadStorage,
  context: TaskContext,
  resumeFrom: Option.Option<ResumeData> = Option.none(),
  /** Asked once the file is complete at `location`, before `DidFinishDownloadingTo`. */
  completed: (location: string) => Effect.Effect<void, URLError.URLError> = () => Effect.void
): DownloadDelivery => {
  let resume = resumeFrom
  // With the platform's reason, when it gives one in plain words.
  const fileError = (code: URLError.Code, message?: string) => (cause: PlatformError) =>
    URLError.make(code, {
      failingURL: context.currentURL(),
      message: [message, cause._tag === "SystemError" ? cause.description : undefined].filter(Boolean).join(": "),
      cause
    })
  let scope = Effect.runSync(Scope.make())
  let file: PartialFile | undefined
  // Known before the file exists, so that a failure at any point after removes it.
  let location: string | undefined = Option.match(resume, {
    onNone: () => undefined,
    onSome: (resumeData) => `${storage.directory}/${resumeData.partialFile}`
  })
  let resuming = resume
  let appendAt = Option.none<number>()
  let written = 0
  let expected = -1
  let keepPartial = false
  let lastRequest: URLRequest.URLRequest | undefined
  let lastResponse: URLResponse | undefined

  // A new file is created in a directory checked again first; the partial file of resume
  // data must be the session's own: a link or anything else in its place fails the task.
  const create = (path: string) =>
    storage.prepareDirectory.pipe(
      // Its reason names the directory that breaks the rule.
      Effect.mapError(fileError("CannotCreateFile")),
      Effect.zipRight(
        storage.openPartialFile(path, "create").pipe(
          Effect.mapError(fileError("CannotCreateFile", `cannot create the download file ${path}`))
        )
      ),
      Scope.extend(scope)
    )
  const reopen = (path: string, mode: "open" | "openOrCreate") =>
    storage.openPartialFile(path, mode).pipe(
      Scope.extend(scope),
      Effect.mapError(fileError("CannotOpenFile", `cannot open the partial file ${path}`))
    )

  const report = (event: URLSessionEvent.TaskEvent) => context.observed() ? context.emit(event) : Effect.void

  // RFC 9110 §14.4: `bytes first-last/complete`.
  const acceptsRange = (response: URLResponse, resumeData: ResumeData): boolean => {
    if (!isHTTPURLResponse(response)) return false
    const range = Option.getOrUndefined(response.value("Content-Range"))?.match(/^bytes (\d+)-(\d+)\/(\d+|\*)$/)
    if (range === undefined || range === null) return false
    const [, first, last, complete] = range
    const total = complete === "*" ? -1 : Number(complete)
    const sameValidator = resumeData.etag === undefined ||
      Option.getOrUndefined(response.value("ETag")) === resumeData.etag
    return Number(first) === resumeData.bytesReceived &&
      (resumeData.expectedLength === -1 || total === resumeData.expectedLength) &&
      (total === -1 || Number(last) === total - 1) &&
      sameValidator
  }

  const delivery: DownloadDelivery = {
    reportsData: false,
    prepare: (request) => {
      const prepared = Option.match(resuming, {
        onNone: () => request,
        onSome: (resumeData) =>
          URLRequest.setHeaders(request, {
            Range: `bytes=${resumeData.bytesReceived}-`,
            // Byte offsets must count the resource's own bytes, not an encoding of them.
            "Accept-Encoding": "identity",
            ...(resumeData.etag ?? resumeData.lastModified) === undefined
              ? {}
              : { "If-Range": (resumeData.etag ?? resumeData.lastModified)! }
          })
      })
      lastRequest = prepared
      return prepared
    },
    examine: (response) =>
      Effect.sync(() => {
        if (Option.isNone(resuming)) return "continue" as const
        const resumeData = resuming.value
        const status = isHTTPURLResponse(response) ? response.statusCode : 200
        if (status === 206 && acceptsRange(response, resumeData)) {
          appendAt = Option.some(resumeData.bytesReceived)
          return "continue" as const
        }
        // Never append blindly: anything but the exact range asked for starts from zero.
        resuming = Option.none()
        return status === 206 || status === 416 ? "restart" as const : "continue" as const
      }),
    onResponse: (response) =>
      Effect.gen(function*() {
        lastResponse = response
        const path = location ?? `${storage.directory}/${partialFileName()}`
        location = path
        const wasResume = Option.isSome(resume)
        if (Option.isSome(appendAt)) {
          const offset = appendAt.value
          file = yield* reopen(path, "open")
          if (file.size !== offset) {
            return yield* Effect.fail(URLError.make("CannotOpenFile", {
              failingURL: context.currentURL(),
              message: `the partial file ${path} holds ${file.size} bytes, not the ${offset} recorded`
            }))
          }
          written = offset
          expected = Option.getOrThrow(resume).expectedLength
          yield* report(URLSessionEvent.DidResumeAtOffset({
            taskIdentifier: context.taskIdentifier,
            fileOffset: offset,
            expectedTotalBytes: expected
          }))
          return
        }
        if (wasResume) {
          file = yield* reopen(path, "openOrCreate")
          yield* Effect.mapError(
            file.truncate(0),
            fileError("CannotWriteToFile", `cannot empty the partial file ${path}`)
          )
        } else {
          file = yield* create(path)
        }
        written = 0
        expected = response.expectedContentLength
        if (wasResume) {
          yield* report(URLSessionEvent.DidResumeAtOffset({
            taskIdentifier: context.taskIdentifier,
            fileOffset: 0,
            expectedTotalBytes: expected
          }))
        }
      }),
    // A chunk is written whole or not at all as far as `written` is concerned: a cancel waits
    // for the write in flight, so the file never holds bytes that resume data does not count.
    onData: (chunk) =>
      Effect.suspend(() =>
        file!.writeAll(chunk).pipe(
          Effect.mapError(fileError("CannotWriteToFile", `cannot write to the download file ${location}`)),
          Effect.zipRight(Effect.sync(() => {
            written += chunk.byteLength
          })),
          Effect.uninterruptible,
          Effect.zipRight(Effect.suspend(() =>
            report(URLSessionEvent.DidWriteData({
              taskIdentifier: context.taskIdentifier,
              bytesWritten: chunk.byteLength,
              totalBytesWritten: written,
              totalBytesExpectedToWrite: expected
            }))
          ))
        )
      ),
    finish: (response) =>
      Effect.gen(function*() {
        if (expected !== -1 && written !== expected) {
          return yield* Effect.fail(URLError.make("BadServerResponse", {
            failingURL: context.currentURL(),
            message: `the download holds ${written} bytes, not the ${expected} announced`
          }))
        }
        // No fsync: a complete file is handed over (and renamed into place) whole as far as
        // any process can see; flushing it to the disk would double the time a large
        // download takes (0.5 s per 256 MiB here) for durability against a power cut, which
        // neither Apple's URLSession nor curl offers. A move across file systems does flush.
        yield* Scope.close(scope, Exit.void)
        file = undefined
        yield* completed(location!)
        yield* report(URLSessionEvent.DidFinishDownloadingTo({
          taskIdentifier: context.taskIdentifier,
          location: location!
        }))
        return { location: location!, response }
      }),
    // Apple: a download that fails part way carries resume data in its error, when it can be
    // resumed; its partial file is kept for it.
    enrichFailure: (error) => {
      if (error.code !== "NetworkConnectionLost" && error.code !== "TimedOut") return error
      return Option.match(delivery.resumeData(), {
        onNone: () => error,
        onSome: (resumeData) => {
          keepPartial = true
          return new URLError.URLError({
            code: error.code,
            failingURL: error.failingURL,
            message: error.message,
            cause: error.cause,
            resumeData
          })
        }
      })
    },
    continueAfterConnectionLoss: () =>
      Effect.suspend(() => {
        const resumeData = delivery.resumeData()
        if (Option.isNone(resumeData)) return Effect.succeed(false)
        resuming = resumeData
        resume = resumeData
        appendAt = Option.none()
        lastResponse = undefined
        const previous = scope
        scope = Effect.runSync(Scope.make())
        file = undefined
        return Effect.as(Scope.close(previous, Exit.void), true)
      }),
    onFinish: (exit) =>
      Scope.close(scope, Exit.void).pipe(
        Effect.zipRight(Effect.sync(() => {
          file = undefined
        })),
        Effect.zipRight(Exit.isFailure(exit) && !keepPartial ? delivery.removePartialFile : Effect.void)
      ),
    isResumable: () =>
      (lastResponse === undefined && Option.isSome(resume)) ||
      (resumableResponse() !== undefined && lastRequest?.method === "GET"),
    keepPartialFile: () => {
      keepPartial = true
    },
    resumeData: () => {
      // Nothing arrived since the resume data this task started from: it still holds.
      if (lastResponse === undefined) return resume
      const validated = resumableResponse()
      if (validated === undefined || lastRequest === undefined || lastRequest.method !== "GET") return Option.none()
      if (location === undefined || written === 0 || (expected !== -1 && written >= expected)) return Option.none()
      return Option.some(
        new ResumeData({
          version: resumeDataVersion,
          originalURL: context.originalURL,
          url: lastRequest.url,
          headers: resumeFields.reduce(URLRequest.removeHeader, lastRequest).headers,
          etag: validated.etag,
          lastModified: validated.lastModified,
          bytesReceived: written,
          expectedLength: expected,
          partialFile: location.slice(storage.directory.length + 1)
        })
      )
    },
    // The resume data is taken first: it counts only whole writes, which the sync after it
    // then makes durable. A file already closed (the download finished or failed) has no
    // checkpoint to give.
    checkpoint: Effect.suspend(() => {
      const resumeData = delivery.resumeData()
      if (Option.isNone(resumeData) || file === undefined || lastResponse === undefined) {
        return Effect.succeed(resumeData)
      }
      return file.sync.pipe(Effect.as(resumeData), Effect.orElseSucceed(() => Option.none<ResumeData>()))
    }),
    removePartialFile: Effect.suspend(() =>
      location === undefined ? Effect.void : Effect.ignore(storage.fileSystem.remove(location))
    )
  }

  // Resumable: an HTTP response with a validator, from a server that takes byte ranges,
  // whose body is not encoded (ranges count encoded bytes; the file holds decoded ones). A weak
  // ETag validates no range: without a Last-Modified, the response is not resumable.
  const resumableResponse = () => {
    if (lastResponse === undefined || !isHTTPURLResponse(lastResponse)) return undefined
    const etag = Option.getOrUndefined(Option.filter(lastResponse.value("ETag"), EntityTag.isStrong))
    const lastModified = Option.getOrUndefined(lastResponse.value("Last-Modified"))
    const ranges = lastResponse.statusCode === 206 ||
      Option.getOrUndefined(lastResponse.value("Accept-Ranges"))?.toLowerCase() === "bytes"
    const encoded = isEncoded(Option.getOrUndefined(lastResponse.value("Content-Encoding")))
    if ((etag === undefined && lastModified === undefined) || !ranges || encoded) return undefined
    return { etag, lastModified }
  }

  return delivery
}
