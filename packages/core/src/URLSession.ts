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
import * as Schedule from "effect/Schedule"
import type * as Scope from "effect/Scope"
import * as Stream from "effect/Stream"
import { StatusCodeError } from "./DataResult.js"
import type { DownloadStorage } from "./DownloadStorage.js"
import { resumeFrom } from "./internal/resumeFrom.js"
import * as internal from "./internal/session.js"
import type { ResumeData } from "./ResumeData.js"
import { isTransient, isURLError, type URLError } from "./URLError.js"
import type { URLProtocol } from "./URLProtocol.js"
import type * as URLRequest from "./URLRequest.js"
import type { URLResponse } from "./URLResponse.js"
import type { URLSessionConfiguration } from "./URLSessionConfiguration.js"
import type { URLSessionDelegate } from "./URLSessionDelegate.js"
import type { URLSessionEvent } from "./URLSessionEvent.js"
import type {
  DataResult,
  DownloadResult,
  TransferProgress,
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
export type URLOrRequest = string | URL | URLRequest.URLRequest

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
 * The request (see `URLRequest.Options`) and where `download` puts the file.
 *
 * @since 0.1.0
 * @category models
 */
export interface DownloadOptions extends URLRequest.CommonOptions {
  /** The path to move the finished download to, atomically. */
  readonly to?: string | undefined
  /**
   * Go on where a previous `download` of the same URL to the same `to` stopped, and keep
   * what this one gets if it stops: interrupted (a timeout, Ctrl-C, a lost race) or failed
   * with resume data, the partial file stays in the session's directory (never beside `to`)
   * with a record of its resume data, which the next such call takes and validates as any
   * resume data (a changed resource starts again). Partial files nobody comes back for are
   * removed after 7 days (`URLSESSION_RESUMABLE_RETENTION_MILLIS`). Needs `to`.
   */
  readonly resumable?: boolean | undefined
  /**
   * Told the download's progress in a fiber of its own, latest value first: a slow handler
   * never slows the transfer, it misses values instead. The complete progress is told
   * before `download` returns.
   */
  readonly progress?: ((progress: TransferProgress) => Effect.Effect<void>) | undefined
}

export type {
  /**
   * How far a download or an upload has got (`URLSessionTask.TransferProgress`).
   *
   * @since 0.1.0
   * @category models
   */
  TransferProgress
}

/**
 * The request of an `upload`, whose body is given apart: see `URLRequest.CommonOptions`.
 *
 * @since 0.1.0
 * @category models
 */
export interface UploadOptions extends URLRequest.CommonOptions {
  /**
   * Told the upload's progress (the request body sent) in a fiber of its own, latest value
   * first: a slow handler never slows the transfer. The complete progress is told before
   * `upload` returns.
   */
  readonly progress?: ((progress: TransferProgress) => Effect.Effect<void>) | undefined
}

/**
 * @since 0.1.0
 * @category models
 */
export interface URLSession {
  /** The session's own copy of its configuration. */
  readonly configuration: URLSessionConfiguration
  /** A suspended data task: `resume` it to start. Every method that takes a URL or request
   * also takes `URLRequest.Options` (method, headers, body or JSON, query, timeout), applied
   * on top, and resolves a relative URL against the configuration's `baseURL`. */
  readonly dataTask: (urlOrRequest: URLOrRequest, options?: URLRequest.Options) => Effect.Effect<URLSessionDataTask>
  /** Loads into memory: `dataTask`, resumed and awaited. */
  readonly data: (urlOrRequest: URLOrRequest, options?: URLRequest.Options) => Effect.Effect<DataResult, URLError>
  /** A suspended upload task sending `body`: bytes, `{ file: path }` or a stream. An upload
   * is a POST unless the request names another method. */
  readonly uploadTask: (
    urlOrRequest: URLOrRequest,
    body: UploadBody,
    options?: URLRequest.CommonOptions
  ) => Effect.Effect<URLSessionUploadTask>
  /** A suspended upload task whose body stream comes from the delegate's
   * `needNewBodyStream`, asked each time the body is sent. */
  readonly uploadTaskWithStreamedRequest: (
    urlOrRequest: URLOrRequest,
    options?: URLRequest.CommonOptions
  ) => Effect.Effect<URLSessionUploadTask>
  /** Uploads `body` and collects the response: `uploadTask`, resumed and awaited. */
  readonly upload: (
    urlOrRequest: URLOrRequest,
    body: UploadBody,
    options?: UploadOptions
  ) => Effect.Effect<DataResult, URLError>
  /** A suspended download task: `resume` it to start. Its file is the caller's to move; one
   * nobody moved is removed when the session ends. */
  readonly downloadTask: (
    urlOrRequest: URLOrRequest,
    options?: URLRequest.Options
  ) => Effect.Effect<URLSessionDownloadTask>
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
  readonly bytes: (
    urlOrRequest: URLOrRequest,
    options?: URLRequest.Options
  ) => Effect.Effect<StreamedResponse, URLError, Scope.Scope>
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
export const dataTask = (
  urlOrRequest: URLOrRequest,
  options?: URLRequest.Options
): Effect.Effect<URLSessionDataTask, never, URLSession> =>
  Effect.flatMap(URLSession, (session) => session.dataTask(urlOrRequest, options))

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
  body: UploadBody,
  options?: URLRequest.CommonOptions
): Effect.Effect<URLSessionUploadTask, never, URLSession> =>
  Effect.flatMap(URLSession, (session) => session.uploadTask(urlOrRequest, body, options))

/**
 * Creates a suspended upload task whose body stream the delegate's `needNewBodyStream`
 * gives, each time the body is sent.
 *
 * @since 0.1.0
 * @category accessors
 */
export const uploadTaskWithStreamedRequest = (
  urlOrRequest: URLOrRequest,
  options?: URLRequest.CommonOptions
): Effect.Effect<URLSessionUploadTask, never, URLSession> =>
  Effect.flatMap(URLSession, (session) => session.uploadTaskWithStreamedRequest(urlOrRequest, options))

/**
 * Uploads a body and collects the response: `{ data, response }`. Interrupting the calling
 * fiber cancels the upload. With `progress`, the handler is told the bytes sent in a fiber
 * of its own (latest value first: it never slows the upload), the complete value last,
 * before `upload` returns.
 *
 * @example
 * ```ts
 * import { Console, Effect, Option } from "effect"
 * import { URLRequest, URLSession } from "@urlsession/core"
 *
 * const request = URLRequest.make("http://127.0.0.1:8080/upload").pipe(URLRequest.setMethod("PUT"))
 * const sent = URLSession.upload(request, { file: "/tmp/photo.jpg" }, {
 *   progress: ({ bytes, fraction }) =>
 *     Console.log(Option.match(fraction, { onNone: () => `${bytes} bytes`, onSome: (f) => `${Math.round(f * 100)} %` }))
 * })
 * ```
 *
 * @since 0.1.0
 * @category accessors
 */
export const upload = (
  urlOrRequest: URLOrRequest,
  body: UploadBody,
  options?: UploadOptions
): Effect.Effect<DataResult, URLError, URLSession> =>
  Effect.flatMap(URLSession, (session) => session.upload(urlOrRequest, body, options))

/**
 * Creates a suspended download task in the current session.
 *
 * @since 0.1.0
 * @category accessors
 */
export const downloadTask = (
  urlOrRequest: URLOrRequest,
  options?: URLRequest.Options
): Effect.Effect<URLSessionDownloadTask, never, URLSession> =>
  Effect.flatMap(URLSession, (session) => session.downloadTask(urlOrRequest, options))

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
 * and leaves no file, unless `resumable`.
 *
 * With `resumable: true` (and `to`), an interrupted download, or one that fails with resume
 * data, keeps its partial file in the session's directory (never beside `to`) and a record of
 * its resume data, made durable every 8 MiB or 2 s while it runs (so even a process killed
 * outright can go on); the next resumable `download` of the same URL to the same `to`, in this
 * process or another, goes on from it with `Range` / `If-Range`, by the rules of resume data
 * (a changed resource starts again). A record held by a download still running in another
 * process is left to it: the new one starts afresh. Records nobody comes back for are removed,
 * with their partial files, after 7 days (`URLSESSION_RESUMABLE_RETENTION_MILLIS`). A
 * background session refuses `resumable` (a defect): its daemon already carries downloads on.
 *
 * With `progress`, the handler is told the bytes written in a fiber of its own (latest value
 * first: it never slows the download), the complete value last, before `download` returns.
 *
 * @example
 * ```ts
 * import { Console, Effect } from "effect"
 * import { URLSession } from "@urlsession/core"
 *
 * const saved = URLSession.download("http://127.0.0.1:8080/big.iso", { to: "/tmp/big.iso" })
 *
 * // Ctrl-C, a timeout or a lost race keeps what arrived; running it again goes on from there.
 * const resumable = URLSession.download("http://127.0.0.1:8080/big.iso", {
 *   to: "/tmp/big.iso",
 *   resumable: true,
 *   progress: ({ bytes }) => Console.log(`${bytes} bytes`)
 * })
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
 * Retries an effect whose failures are transient: a `URLError` that `URLError.isTransient`
 * accepts (a timeout, a connection refused or lost, …), or a `StatusCodeError` (from
 * `DataResult.filterStatusOk`) of status 408, 429, 500, 502, 503 or 504, the statuses
 * `HttpClient.retryTransient` and `curl --retry` retry. `while` adds failures of the caller's
 * own. Tries `times` more times (default 3) on `schedule` (default: exponential from 100 ms,
 * jittered). Put it after `filterStatusOk`, and before reading the body when a body may be
 * cut off.
 *
 * @example
 * ```ts
 * import { Effect, Schema } from "effect"
 * import { DataResult, URLSession } from "@urlsession/core"
 *
 * const User = Schema.Struct({ id: Schema.Number, name: Schema.String })
 *
 * const user = URLSession.data("https://api.example.com/users/7").pipe(
 *   Effect.flatMap(DataResult.filterStatusOk),
 *   URLSession.retryTransient({ times: 5 }),
 *   Effect.flatMap(DataResult.schemaJson(User))
 * )
 * ```
 *
 * @since 0.1.0
 * @category combinators
 */
export const retryTransient: {
  <E, B = unknown, R2 = never>(
    options?: RetryTransientOptions<NoInfer<E>, B, R2>
  ): <A, R>(self: Effect.Effect<A, E, R>) => Effect.Effect<A, E, R | R2>
  <A, E, R, B = unknown, R2 = never>(
    self: Effect.Effect<A, E, R>,
    options?: RetryTransientOptions<E, B, R2>
  ): Effect.Effect<A, E, R | R2>
} = dual(
  (args) => Effect.isEffect(args[0]),
  <A, E, R, B, R2>(
    self: Effect.Effect<A, E, R>,
    options?: RetryTransientOptions<E, B, R2>
  ): Effect.Effect<A, E, R | R2> => {
    const schedule: Schedule.Schedule<unknown, E, R2> = options?.schedule ?? defaultRetrySchedule
    return Effect.retry(self, {
      schedule,
      times: options?.times ?? 3,
      while: (error: E) => isTransientFailure(error) || (options?.while?.(error) ?? false)
    })
  }
)

/**
 * @since 0.1.0
 * @category models
 */
export interface RetryTransientOptions<E, B, R2> {
  /** How many more tries at most. Default: 3. */
  readonly times?: number | undefined
  /** When to try again. Default: exponential from 100 ms, jittered. */
  readonly schedule?: Schedule.Schedule<B, E, R2> | undefined
  /** Failures of the caller's own to retry as well. */
  readonly while?: ((error: E) => boolean) | undefined
}

const defaultRetrySchedule = Schedule.jittered(Schedule.exponential("100 millis"))

const transientStatuses: ReadonlySet<number> = new Set([408, 429, 500, 502, 503, 504])

const isTransientFailure = (error: unknown): boolean =>
  isURLError(error)
    ? isTransient(error)
    : error instanceof StatusCodeError && transientStatuses.has(error.response.statusCode)

/**
 * Loads a URL into memory: creates a data task, resumes it and waits for
 * `{ data, response }`. Interrupting the calling fiber cancels the task. HTTP error
 * statuses are responses, as in Apple's API: `DataResult.filterStatusOk` turns them into
 * failures.
 *
 * @example
 * ```ts
 * import { Effect } from "effect"
 * import { DataResult, URLSession } from "@urlsession/core"
 *
 * const created = URLSession.data("https://api.example.com/v1/users", {
 *   method: "POST",
 *   json: { name: "Ada" },
 *   query: { notify: false }
 * }).pipe(Effect.flatMap(DataResult.filterStatusOk), Effect.flatMap(DataResult.json))
 * ```
 *
 * @since 0.1.0
 * @category accessors
 */
export const data = (
  urlOrRequest: URLOrRequest,
  options?: URLRequest.Options
): Effect.Effect<DataResult, URLError, URLSession> =>
  Effect.flatMap(URLSession, (session) => session.data(urlOrRequest, options))

/**
 * Loads a URL as a stream: succeeds with the response head once it arrives, with the body
 * as a `Stream` that reads from the network as it is pulled.
 *
 * @since 0.1.0
 * @category accessors
 */
export const bytes = (
  urlOrRequest: URLOrRequest,
  options?: URLRequest.Options
): Effect.Effect<StreamedResponse, URLError, URLSession | Scope.Scope> =>
  Effect.flatMap(URLSession, (session) => session.bytes(urlOrRequest, options))

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
