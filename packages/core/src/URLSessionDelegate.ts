/**
 * The decisions a session asks its delegate for. Every method is optional and returns an
 * Effect; an absent one takes Apple's default behaviour. What a delegate is merely *told*
 * comes out as `URLSessionEvent`s instead.
 *
 * A decision is part of the task: while the delegate thinks, the task's idle timer runs, so
 * a delegate that never answers fails the task with `TimedOut` instead of hanging it.
 *
 * @since 0.1.0
 */
import type * as Effect from "effect/Effect"
import type * as Option from "effect/Option"
import type * as Stream from "effect/Stream"
import type { URLRequest } from "./URLRequest.js"
import type { HTTPURLResponse, URLResponse } from "./URLResponse.js"
import type { URLSessionDownloadTask, URLSessionTask } from "./URLSessionTask.js"

/**
 * What to do with a response: go on loading its body (`"allow"`), cancel the task
 * (`"cancel"`, which completes it with `Cancelled`), or turn a data task into a download task
 * (`"becomeDownload"`: the body goes on, on the same connection, into a file; see
 * `URLSessionEvent.DidBecomeDownloadTask`). Only tasks made by `dataTask` (and so `data`) can
 * become downloads; for any other task `"becomeDownload"` means `"allow"`.
 *
 * @since 0.1.0
 * @category models
 */
export type ResponseDisposition = "allow" | "cancel" | "becomeDownload"

/**
 * @since 0.1.0
 * @category models
 */
export interface URLSessionDelegate {
  /**
   * A response redirects to `newRequest`. `Some` follows it (possibly changed); `None`
   * delivers the redirect response and its body as the task's final response.
   * Default: follow `newRequest` as it is.
   */
  readonly willPerformHTTPRedirection?: (
    task: URLSessionTask,
    response: HTTPURLResponse,
    newRequest: URLRequest
  ) => Effect.Effect<Option.Option<URLRequest>>
  /**
   * The final response head arrived: allow the body, cancel the task, or turn a data task
   * into a download task. Default: allow.
   */
  readonly didReceiveResponse?: (task: URLSessionTask, response: URLResponse) => Effect.Effect<ResponseDisposition>
  /**
   * The task needs its body stream (again): for `uploadTaskWithStreamedRequest` first, and
   * whenever a stream body must be sent again (a 307 or 308 redirect). `Some` is sent from
   * its start; `None`, or no such method, fails the task with `RequestBodyStreamExhausted`.
   */
  readonly needNewBodyStream?: (
    task: URLSessionTask
  ) => Effect.Effect<Option.Option<Stream.Stream<Uint8Array, unknown>>>
  /**
   * A download task's file is complete at `location`, which is the delegate's until this
   * returns: move or open it before succeeding (Apple's rule). In a background session,
   * success is the hand-off: the daemon removes its copy and never delivers the file again;
   * a failure (or an app that dies first) leaves it to be delivered again at the next
   * attach. Asked before `DidFinishDownloadingTo` is emitted.
   */
  readonly didFinishDownloadingTo?: (task: URLSessionDownloadTask, location: string) => Effect.Effect<void, unknown>
}

/**
 * A delegate that decides nothing: Apple's defaults everywhere.
 *
 * @since 0.1.0
 * @category constructors
 */
export const empty: URLSessionDelegate = {}
