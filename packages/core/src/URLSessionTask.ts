/**
 * A task: the handle of one URL load in a session.
 *
 * A task starts suspended; `resume` starts it as a fiber in the session's scope. `cancel`
 * (or interrupting a fiber that awaits it) aborts it at once and it completes with
 * `Cancelled`. Its `events` are the delegate callbacks Apple would make for it.
 *
 * @since 0.1.0
 */
import type * as Effect from "effect/Effect"
import { dual } from "effect/Function"
import type * as Option from "effect/Option"
import type * as Stream from "effect/Stream"
import type { TaskEvent } from "./internal/eventVariants.js"
import * as Progress from "./internal/transferProgress.js"
import type { ResumeData } from "./ResumeData.js"
import type { URLError } from "./URLError.js"
import type { URLRequest } from "./URLRequest.js"
import type { URLResponse } from "./URLResponse.js"

/**
 * Apple's `URLSessionTask.State`.
 *
 * - `suspended`: created and not resumed yet, or suspended by `suspend`;
 * - `running`: loading;
 * - `canceling`: `cancel` was called and the task is unwinding;
 * - `completed`: finished, with a result or a `URLError`.
 *
 * @since 0.1.0
 * @category models
 */
export type State = "suspended" | "running" | "canceling" | "completed"

/**
 * A live handle on one task, like Apple's task objects: pass it by reference. Its Effects are
 * accessors of the task's class, read from the task when asked for, so a copy made by
 * spreading (`{ ...task }`) keeps `taskIdentifier` and `originalRequest` but none of the
 * Effects; wrap the handle instead.
 *
 * @since 0.1.0
 * @category models
 */
export interface URLSessionTask<A = unknown> {
  /** Unique within its session, from 1. */
  readonly taskIdentifier: number
  /** The request the task was created with. */
  readonly originalRequest: URLRequest
  /** The app's own words for the task (Apple's `taskDescription`): kept with the task, and
   * by a background session's daemon across restarts of the app, for the app to tell its
   * tasks apart. */
  readonly taskDescription: Effect.Effect<Option.Option<string>>
  readonly setTaskDescription: (description: Option.Option<string>) => Effect.Effect<void>
  /** The request being loaded now, with the session's additional header fields applied. */
  readonly currentRequest: Effect.Effect<URLRequest>
  /** The response head, once it has arrived. */
  readonly response: Effect.Effect<Option.Option<URLResponse>>
  readonly state: Effect.Effect<State>
  /** Body bytes received so far. */
  readonly countOfBytesReceived: Effect.Effect<number>
  /** The body length the response announced, or -1 while unknown. */
  readonly countOfBytesExpectedToReceive: Effect.Effect<number>
  /** Request body bytes sent so far, for the request being sent now. */
  readonly countOfBytesSent: Effect.Effect<number>
  /** The length of the request body being sent: 0 without a body, -1 for a stream sent
   * chunked. */
  readonly countOfBytesExpectedToSend: Effect.Effect<number>
  /** Starts the task, or continues it after `suspend`. Extra calls do nothing. */
  readonly resume: Effect.Effect<void>
  /** Stops reading from the network until `resume`; the server is backpressured. */
  readonly suspend: Effect.Effect<void>
  /** Aborts the task; it completes with `Cancelled`. Returns without waiting for that. */
  readonly cancel: Effect.Effect<void>
  /**
   * The task's events in Apple's order, ending after `DidCompleteWithError`. Subscribe
   * before `resume` to see them all; a subscriber that lags behind data events slows the
   * transfer down.
   */
  readonly events: Stream.Stream<TaskEvent<URLSessionDownloadTask>>
  /** Waits for the result. Interrupting the waiting fiber cancels the task. */
  readonly await: Effect.Effect<A, URLError>
}

/**
 * What a data task delivers: the whole body and the response.
 *
 * @since 0.1.0
 * @category models
 */
export interface DataResult {
  readonly data: Uint8Array
  readonly response: URLResponse
}

/**
 * A task that collects the body in memory (Apple's `URLSessionDataTask`).
 *
 * @since 0.1.0
 * @category models
 */
export interface URLSessionDataTask extends URLSessionTask<DataResult> {}

/**
 * What an upload task sends: bytes, a file read as it is sent (`{ file: path }`), or a
 * stream (sent chunked; sent once: a redirect that needs the body again asks the delegate's
 * `needNewBodyStream`).
 *
 * @since 0.1.0
 * @category models
 */
export type UploadBody = Uint8Array | { readonly file: string } | Stream.Stream<Uint8Array, unknown>

/**
 * A data task that sends a body (Apple's `URLSessionUploadTask`): it collects the response
 * in memory, and reports its sending with `DidSendBodyData`.
 *
 * @since 0.1.0
 * @category models
 */
export interface URLSessionUploadTask extends URLSessionTask<DataResult> {}

/**
 * How far a download or an upload has got: bytes transferred so far (for a resumed download,
 * counting those already on disk), the total when it is known (from `Content-Length`, or the
 * upload's length), and the fraction done when the total is known.
 *
 * @since 0.1.0
 * @category models
 */
export interface TransferProgress {
  readonly bytes: number
  readonly totalBytes: Option.Option<number>
  /** From 0 to 1. */
  readonly fraction: Option.Option<number>
}

/**
 * What a download task delivers: the file the body was written to, and the response. The
 * file is the caller's to move; see `URLSession.download` for how long it stays.
 *
 * @since 0.1.0
 * @category models
 */
export interface DownloadResult {
  readonly location: string
  readonly response: URLResponse
}

/**
 * A task that writes the body to a file (Apple's `URLSessionDownloadTask`).
 *
 * @since 0.1.0
 * @category models
 */
export interface URLSessionDownloadTask extends URLSessionTask<DownloadResult> {
  /**
   * Cancels the download and, when it can be resumed, keeps its partial file and gives the
   * resume data for it: `Some` exactly when the request is a GET, the response carries an
   * ETag or Last-Modified, the server takes byte ranges, the body is not encoded and part of
   * it is on disk. Otherwise the partial file is removed and the result is `None`.
   */
  readonly cancelByProducingResumeData: Effect.Effect<Option.Option<ResumeData>>
  /**
   * Resume data for the bytes on disk now, made durable first (`fsync`), while the download
   * goes on: what a program that records it can resume from after a crash (truncating the
   * partial file to `bytesReceived` first, since more may have been written since). `None`
   * under the same conditions as `cancelByProducingResumeData`, and once the task has
   * completed. Not part of Apple's API: background sessions' daemon is built on it.
   */
  readonly checkpoint: Effect.Effect<Option.Option<ResumeData>>
}

/**
 * Runs `self`, which resumes and awaits `task`, telling `report` the task's progress from
 * its events (`DidWriteData` and `DidResumeAtOffset` for a download, `DidSendBodyData` for an
 * upload) in a fiber of its own: the latest value each time `report` is ready for one, so a
 * slow handler never slows the transfer. When `self` succeeds, the complete progress is told
 * last, before it returns. What the `progress` option of `URLSession.download` and `upload`
 * does, for a task of one's own.
 *
 * @example
 * ```ts
 * import { Console, Effect } from "effect"
 * import { URLSession, URLSessionTask } from "@urlsession/core"
 *
 * const saved = Effect.gen(function*() {
 *   const task = yield* URLSession.downloadTask("https://example.com/big.iso")
 *   return yield* Effect.zipRight(task.resume, task.await).pipe(
 *     URLSessionTask.reportProgress(task, ({ bytes }) => Console.log(`${bytes} bytes`))
 *   )
 * })
 * ```
 *
 * @since 0.1.0
 * @category combinators
 */
export const reportProgress: {
  (
    task: URLSessionTask<unknown>,
    report: (progress: TransferProgress) => Effect.Effect<void>
  ): <A, E, R>(self: Effect.Effect<A, E, R>) => Effect.Effect<A, E, R>
  <A, E, R>(
    self: Effect.Effect<A, E, R>,
    task: URLSessionTask<unknown>,
    report: (progress: TransferProgress) => Effect.Effect<void>
  ): Effect.Effect<A, E, R>
} = dual(3, <A, E, R>(
  self: Effect.Effect<A, E, R>,
  task: URLSessionTask<unknown>,
  report: (progress: TransferProgress) => Effect.Effect<void>
): Effect.Effect<A, E, R> => Progress.during(task, report, self))
