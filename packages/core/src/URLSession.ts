/**
 * The session: a service that owns a configuration and runs tasks in its own scope.
 *
 * A session is provided as a `Layer` (see `NodeURLSession.layer`); closing the layer's
 * scope cancels every task and invalidates the session.
 *
 * @example
 * ```ts
 * import { Effect } from "effect"
 * import { URLSession, URLSessionConfiguration } from "@urlsession/core"
 * import { NodeURLSession } from "@urlsession/node"
 *
 * const program = Effect.gen(function*() {
 *   const { data, response } = yield* URLSession.data("http://127.0.0.1:8080/")
 *   return new TextDecoder().decode(data)
 * })
 *
 * program.pipe(Effect.provide(NodeURLSession.layer(URLSessionConfiguration.default)))
 * ```
 *
 * @since 0.1.0
 */
import type * as FileSystem from "@effect/platform/FileSystem"
import * as Context from "effect/Context"
import * as Effect from "effect/Effect"
import { dual } from "effect/Function"
import * as Option from "effect/Option"
import type * as Schedule from "effect/Schedule"
import type * as Scope from "effect/Scope"
import * as Stream from "effect/Stream"
import { resumeFrom } from "./internal/resumeFrom.js"
import * as internal from "./internal/session.js"
import { resumeAndAwait } from "./internal/task.js"
import type { DownloadStorage } from "./DownloadStorage.js"
import type { ResumeData } from "./ResumeData.js"
import type { URLError } from "./URLError.js"
import type { URLProtocol } from "./URLProtocol.js"
import type { URLRequest } from "./URLRequest.js"
import type { URLResponse } from "./URLResponse.js"
import type { URLSessionConfiguration } from "./URLSessionConfiguration.js"
import type { URLSessionDelegate } from "./URLSessionDelegate.js"
import type { URLSessionEvent } from "./URLSessionEvent.js"
import type {
  DataResult,
  DownloadResult,
  UploadBody,
  URLSessionDataTask,
  URLSessionDownloadTask,
  URLSessionTask,
  URLSessionUploadTask
} from "./URLSessionTask.js"

/**
 * What the session methods accept: a URL (string or `URL`) or a full `URLRequest`.
 *
 * @since 0.1.0
 * @category models
 */
export type URLOrRequest = string | URL | URLRequest

/**
 * A response whose body is streamed: the head, then the body as it arrives.
 *
 * @since 0.1.0
 * @category models
 */
export interface StreamedResponse {
  readonly response: URLResponse
  readonly body: Stream.Stream<Uint8Array, URLError>
}

/**
 * Where `download` puts the file.
 *
 * @since 0.1.0
 * @category models
 */
export interface DownloadOptions {
  /** The path to move the finished download to, atomically. */
  readonly to?: string | undefined
}

/**
 * @since 0.1.0
 * @category models
 */
export interface URLSession {
  /** The session's own copy of its configuration. */
  readonly configuration: URLSessionConfiguration
  /** A suspended data task: `resume` it to start. */
  readonly dataTask: (urlOrRequest: URLOrRequest) => Effect.Effect<URLSessionDataTask>
  /** A suspended upload task sending `body`: bytes, `{ file: path }` or a stream. An upload
   * is a POST unless the request names another method. */
  readonly uploadTask: (urlOrRequest: URLOrRequest, body: UploadBody) => Effect.Effect<URLSessionUploadTask>
  /** A suspended upload task whose body stream comes from the delegate's
   * `needNewBodyStream`, asked each time the body is sent. */
  readonly uploadTaskWithStreamedRequest: (urlOrRequest: URLOrRequest) => Effect.Effect<URLSessionUploadTask>
  /** Uploads `body` and collects the response: `uploadTask`, resumed and awaited. */
  readonly upload: (urlOrRequest: URLOrRequest, body: UploadBody) => Effect.Effect<DataResult, URLError>
  /** A suspended download task: `resume` it to start. Its file is the caller's to move; one
   * nobody moved is removed when the session ends. */
  readonly downloadTask: (urlOrRequest: URLOrRequest) => Effect.Effect<URLSessionDownloadTask>
  /** A suspended download task that goes on from resume data. Fails with
   * `CannotDecodeRawData` when the value breaks a rule `ResumeData.decode` checks (whatever
   * made it), and with `CannotOpenFile` when the partial file is not in this session's
   * directory or is shorter than recorded. */
  readonly downloadTaskWithResumeData: (resumeData: ResumeData) => Effect.Effect<URLSessionDownloadTask, URLError>
  /** Downloads to a file: with `to`, moved there atomically (never a half-written file at
   * `to`); without, a temporary file that exists until the current scope closes. */
  readonly download: (
    urlOrRequest: URLOrRequest,
    options?: DownloadOptions
  ) => Effect.Effect<DownloadResult, URLError, Scope.Scope>
  /** Starts a load and succeeds with the response head; the body streams with backpressure.
   * The load belongs to the current scope: closing it cancels the transfer. */
  readonly bytes: (urlOrRequest: URLOrRequest) => Effect.Effect<StreamedResponse, URLError, Scope.Scope>
  /** Invalidates the session once its running tasks have finished: it creates no more tasks
   * (asking for one is a defect), cancels those never resumed, waits for the others, then
   * emits `DidBecomeInvalidWithError` as its last event. */
  readonly finishTasksAndInvalidate: Effect.Effect<void>
  /** Invalidates the session now: every task completes with `Cancelled`, then
   * `DidBecomeInvalidWithError` is emitted as the session's last event. Closing the
   * session's layer does this. */
  readonly invalidateAndCancel: Effect.Effect<void>
  /** Tasks that are running or were resumed and then suspended. */
  readonly allTasks: Effect.Effect<ReadonlyArray<URLSessionTask>>
  /** Every task's events, then `DidBecomeInvalidWithError` when the session ends. */
  readonly events: Stream.Stream<URLSessionEvent>
}

/**
 * The session service's tag.
 *
 * @since 0.1.0
 * @category tags
 */
export const URLSession: Context.Tag<URLSession, URLSession> = Context.GenericTag<URLSession>(
  "@urlsession/core/URLSession"
)

/**
 * Makes a session in the current scope, loading URLs with the configuration's
 * `protocolClasses`, then `protocols`, then the built-in `data:` protocol (the first that can
 * load a URL does) and asking `delegate` for its decisions. Platform packages wrap this in
 * a layer with their protocols and download storage; building that layer fails with a
 * `URLError` for what the environment causes (an unusable directory: `CannotCreateFile`)
 * and dies for a programming error (see `NodeURLSession.layer`).
 *
 * @since 0.1.0
 * @category constructors
 */
export const make = (
  configuration: URLSessionConfiguration,
  options: {
    readonly protocols: ReadonlyArray<URLProtocol>
    readonly delegate?: URLSessionDelegate | undefined
    /** Where download tasks write. Without it the session cannot download. */
    readonly downloads?: DownloadStorage | undefined
    /** How upload tasks read files, and the MIME type for a file's extension. Without it the
     * session cannot upload files (bytes and streams need nothing). */
    readonly uploads?: {
      readonly fileSystem: FileSystem.FileSystem
      readonly mimeTypeOf: (path: string) => Option.Option<string>
    } | undefined
  }
): Effect.Effect<URLSession, never, Scope.Scope> =>
  internal.make(configuration, options.protocols, options.delegate ?? {}, options.downloads, options.uploads)

/**
 * Creates a suspended data task in the current session.
 *
 * @since 0.1.0
 * @category accessors
 */
export const dataTask = (urlOrRequest: URLOrRequest): Effect.Effect<URLSessionDataTask, never, URLSession> =>
  Effect.flatMap(URLSession, (session) => session.dataTask(urlOrRequest))

/**
 * Creates a suspended upload task in the current session. `body` is bytes, `{ file: path }`
 * (read from disk as it is sent, with its length and a `Content-Type` from its extension
 * unless the request names one) or a `Stream` (sent chunked unless the request sets
 * `Content-Length`). Progress comes as `DidSendBodyData` events.
 *
 * @since 0.1.0
 * @category accessors
 */
export const uploadTask = (
  urlOrRequest: URLOrRequest,
  body: UploadBody
): Effect.Effect<URLSessionUploadTask, never, URLSession> =>
  Effect.flatMap(URLSession, (session) => session.uploadTask(urlOrRequest, body))

/**
 * Creates a suspended upload task whose body stream the delegate's `needNewBodyStream`
 * gives, each time the body is sent.
 *
 * @since 0.1.0
 * @category accessors
 */
export const uploadTaskWithStreamedRequest = (
  urlOrRequest: URLOrRequest
): Effect.Effect<URLSessionUploadTask, never, URLSession> =>
  Effect.flatMap(URLSession, (session) => session.uploadTaskWithStreamedRequest(urlOrRequest))

/**
 * Uploads a body and collects the response: `{ data, response }`. Interrupting the calling
 * fiber cancels the upload.
 *
 * @example
 * ```ts
 * import { Effect } from "effect"
 * import { URLRequest, URLSession } from "@urlsession/core"
 *
 * const request = URLRequest.make("http://127.0.0.1:8080/upload").pipe(URLRequest.setMethod("PUT"))
 * const sent = URLSession.upload(request, { file: "/tmp/photo.jpg" })
 * ```
 *
 * @since 0.1.0
 * @category accessors
 */
export const upload = (
  urlOrRequest: URLOrRequest,
  body: UploadBody
): Effect.Effect<DataResult, URLError, URLSession> =>
  Effect.flatMap(URLSession, (session) => session.upload(urlOrRequest, body))

/**
 * Creates a suspended download task in the current session.
 *
 * @since 0.1.0
 * @category accessors
 */
export const downloadTask = (
  urlOrRequest: URLOrRequest
): Effect.Effect<URLSessionDownloadTask, never, URLSession> =>
  Effect.flatMap(URLSession, (session) => session.downloadTask(urlOrRequest))

/**
 * Creates a suspended download task that goes on from resume data. The value is checked as
 * `ResumeData.decode` checks its string, also when it was built another way (a plain object
 * type-checks as `ResumeData`): what breaks a rule fails with `CannotDecodeRawData`.
 *
 * @since 0.1.0
 * @category accessors
 */
export const downloadTaskWithResumeData = (
  resumeData: ResumeData
): Effect.Effect<URLSessionDownloadTask, URLError, URLSession> =>
  Effect.flatMap(URLSession, (session) => session.downloadTaskWithResumeData(resumeData))

/**
 * Downloads a URL to a file. With `to`, the file is moved there atomically and the result's
 * `location` is `to`; without, `location` is a temporary file that exists until the current
 * scope closes (Apple: "move it before your handler returns"). HTTP error statuses download
 * their body too; the response tells. Interrupting the calling fiber cancels the download
 * and leaves no file.
 *
 * @example
 * ```ts
 * import { Effect } from "effect"
 * import { URLSession } from "@urlsession/core"
 *
 * const saved = URLSession.download("http://127.0.0.1:8080/big.iso", { to: "/tmp/big.iso" })
 * ```
 *
 * @since 0.1.0
 * @category accessors
 */
export const download = (
  urlOrRequest: URLOrRequest,
  options?: DownloadOptions
): Effect.Effect<DownloadResult, URLError, URLSession | Scope.Scope> =>
  Effect.flatMap(URLSession, (session) => session.download(urlOrRequest, options))

/**
 * Retries a download effect on `schedule`, each attempt going on from the resume data of the
 * previous one's failure, so a transfer that keeps being cut transfers each byte once.
 * Failures without resume data are retried from the start; `Cancelled` is never retried.
 *
 * @example
 * ```ts
 * import { Effect, Schedule } from "effect"
 * import { URLSession } from "@urlsession/core"
 *
 * const saved = URLSession.download("http://127.0.0.1:8080/big.iso", { to: "/tmp/big.iso" }).pipe(
 *   URLSession.retryDownload(Schedule.exponential("100 millis").pipe(Schedule.intersect(Schedule.recurs(10))))
 * )
 * ```
 *
 * @since 0.1.0
 * @category combinators
 */
export const retryDownload: {
  <Out, R2>(
    schedule: Schedule.Schedule<Out, URLError, R2>
  ): <A, R>(self: Effect.Effect<A, URLError, R>) => Effect.Effect<A, URLError, R | R2>
  <A, R, Out, R2>(
    self: Effect.Effect<A, URLError, R>,
    schedule: Schedule.Schedule<Out, URLError, R2>
  ): Effect.Effect<A, URLError, R | R2>
} = dual(2, <A, R, Out, R2>(
  self: Effect.Effect<A, URLError, R>,
  schedule: Schedule.Schedule<Out, URLError, R2>
): Effect.Effect<A, URLError, R | R2> =>
  Effect.suspend(() => {
    let latest = Option.none<ResumeData>()
    const attempt = Effect.suspend(() => Effect.locally(self, resumeFrom, latest)).pipe(
      Effect.tapError((error) =>
        Effect.sync(() => {
          latest = Option.fromNullable(error.resumeData)
        })
      )
    )
    return Effect.retry(attempt, { schedule, while: (error) => error.code !== "Cancelled" })
  }))

/**
 * Loads a URL into memory: creates a data task, resumes it and waits for
 * `{ data, response }`. Interrupting the calling fiber cancels the task.
 *
 * @since 0.1.0
 * @category accessors
 */
export const data = (urlOrRequest: URLOrRequest): Effect.Effect<DataResult, URLError, URLSession> =>
  resumeAndAwait(dataTask(urlOrRequest))

/**
 * Loads a URL as a stream: succeeds with the response head once it arrives, with the body
 * as a `Stream` that reads from the network as it is pulled.
 *
 * @since 0.1.0
 * @category accessors
 */
export const bytes = (
  urlOrRequest: URLOrRequest
): Effect.Effect<StreamedResponse, URLError, URLSession | Scope.Scope> =>
  Effect.flatMap(URLSession, (session) => session.bytes(urlOrRequest))

/**
 * Invalidates the current session once its running tasks have finished.
 *
 * @since 0.1.0
 * @category accessors
 */
export const finishTasksAndInvalidate: Effect.Effect<void, never, URLSession> = Effect.flatMap(
  URLSession,
  (session) => session.finishTasksAndInvalidate
)

/**
 * Cancels every task of the current session and invalidates it.
 *
 * @since 0.1.0
 * @category accessors
 */
export const invalidateAndCancel: Effect.Effect<void, never, URLSession> = Effect.flatMap(
  URLSession,
  (session) => session.invalidateAndCancel
)

/**
 * The current session's tasks that are running or suspended after a `resume`.
 *
 * @since 0.1.0
 * @category accessors
 */
export const allTasks: Effect.Effect<ReadonlyArray<URLSessionTask>, never, URLSession> = Effect.flatMap(
  URLSession,
  (session) => session.allTasks
)

/**
 * The current session's events.
 *
 * @since 0.1.0
 * @category accessors
 */
export const events: Stream.Stream<URLSessionEvent, never, URLSession> = Stream.unwrap(
  Effect.map(URLSession, (session) => session.events)
)
