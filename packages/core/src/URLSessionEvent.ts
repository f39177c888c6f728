/**
 * What Apple delivers to a session's delegate, as values: one variant per delegate callback.
 *
 * A task's events come in the order of "Life cycle of a URL session":
 * one `WillPerformHTTPRedirection` per redirect followed, `DidReceiveResponse`, zero or more
 * `DidReceiveData` (`DidWriteData` for downloads, then `DidFinishDownloadingTo`), then
 * `DidCompleteWithError` last.
 * A session's own last event is `DidBecomeInvalidWithError`. Variants for the callbacks of
 * features not built yet (challenges, caching, metrics)
 * arrive with those features.
 *
 * @since 0.1.0
 */
import * as Data from "effect/Data"
import type * as Option from "effect/Option"
import type { URLError } from "./URLError.js"
import type { URLRequest } from "./URLRequest.js"
import type { HTTPURLResponse, URLResponse } from "./URLResponse.js"
import type { URLSessionDownloadTask } from "./URLSessionTask.js"

/**
 * @since 0.1.0
 * @category models
 */
export type URLSessionEvent = Data.TaggedEnum<{
  /** The response head arrived (`urlSession(_:dataTask:didReceive:completionHandler:)`). */
  DidReceiveResponse: { readonly taskIdentifier: number; readonly response: URLResponse }
  /** A response redirects; `newRequest` is the request the session will send next unless the
   * delegate decides otherwise (`urlSession(_:task:willPerformHTTPRedirection:newRequest:…)`). */
  WillPerformHTTPRedirection: {
    readonly taskIdentifier: number
    readonly response: HTTPURLResponse
    readonly newRequest: URLRequest
  }
  /** The delegate turned data task `taskIdentifier` into `downloadTask`, which goes on with
   * the same response on the same connection. The data task's last event: its subscribers
   * go on to see the download task's events, up to its `DidCompleteWithError`; the data
   * task's `await` fails with `Cancelled` (`urlSession(_:dataTask:didBecome:)`). */
  DidBecomeDownloadTask: { readonly taskIdentifier: number; readonly downloadTask: URLSessionDownloadTask }
  /** Request body bytes went out. Coalesced like `DidWriteData`; all of a request's come
   * before its response unless the server answers before reading the whole body
   * (`urlSession(_:task:didSendBodyData:totalBytesSent:…)`). */
  DidSendBodyData: {
    readonly taskIdentifier: number
    readonly bytesSent: number
    readonly totalBytesSent: number
    /** -1 when the length is unknown (a stream sent chunked). */
    readonly totalBytesExpectedToSend: number
  }
  /** A chunk of the body arrived (`urlSession(_:dataTask:didReceive:)`). */
  DidReceiveData: { readonly taskIdentifier: number; readonly data: Uint8Array }
  /** A download task wrote body bytes to its file. Coalesced: a subscriber that lags sees
   * the latest progress, not every step (`urlSession(_:downloadTask:didWriteData:…)`). */
  DidWriteData: {
    readonly taskIdentifier: number
    readonly bytesWritten: number
    readonly totalBytesWritten: number
    /** -1 when the length is unknown. */
    readonly totalBytesExpectedToWrite: number
  }
  /** A download from resume data goes on at `fileOffset` (0: the server sent the whole
   * resource again) (`urlSession(_:downloadTask:didResumeAtOffset:expectedTotalBytes:)`). */
  DidResumeAtOffset: {
    readonly taskIdentifier: number
    readonly fileOffset: number
    /** -1 when unknown. */
    readonly expectedTotalBytes: number
  }
  /** A download task's file is complete at `location` (`urlSession(_:downloadTask:didFinishDownloadingTo:)`). */
  DidFinishDownloadingTo: { readonly taskIdentifier: number; readonly location: string }
  /** The task finished: `None` on success, else why it failed (`urlSession(_:task:didCompleteWithError:)`). */
  DidCompleteWithError: { readonly taskIdentifier: number; readonly error: Option.Option<URLError> }
  /** The session was invalidated; always its last event (`urlSession(_:didBecomeInvalidWithError:)`). */
  DidBecomeInvalidWithError: { readonly error: Option.Option<URLError> }
}>

/**
 * Constructors, `$is` and `$match` for the variants.
 *
 * @since 0.1.0
 * @category constructors
 */
export const {
  $is,
  $match,
  DidBecomeDownloadTask,
  DidBecomeInvalidWithError,
  DidCompleteWithError,
  DidFinishDownloadingTo,
  DidReceiveData,
  DidReceiveResponse,
  DidResumeAtOffset,
  DidSendBodyData,
  DidWriteData,
  WillPerformHTTPRedirection
} = Data.taggedEnum<URLSessionEvent>()

/**
 * The events of one task (every variant but the session-level ones).
 *
 * @since 0.1.0
 * @category models
 */
export type TaskEvent = Exclude<URLSessionEvent, { readonly _tag: "DidBecomeInvalidWithError" }>

/**
 * Whether a subscriber that lags behind on this event slows its task down. Only body data
 * does: every other event is delivered at once, whatever the subscriber's pace.
 *
 * @since 0.1.0
 * @category predicates
 */
export const isBackpressured = (event: URLSessionEvent): boolean => event._tag === "DidReceiveData"

/**
 * The key under which a lagging subscriber sees only the latest of these events: progress
 * reports, per task. `undefined` for every event that is always delivered.
 *
 * @since 0.1.0
 * @category predicates
 */
export const coalescingKey = (event: URLSessionEvent): string | undefined =>
  event._tag === "DidWriteData" || event._tag === "DidSendBodyData"
    ? `${event._tag}/${event.taskIdentifier}`
    : undefined

/**
 * Two coalesced events of one key as one: progress since the first, totals of the second.
 *
 * @since 0.1.0
 * @category combinators
 */
export const coalesce = <E extends URLSessionEvent>(waiting: E, next: E): E =>
  waiting._tag === "DidWriteData" && next._tag === "DidWriteData"
    ? DidWriteData({ ...next, bytesWritten: waiting.bytesWritten + next.bytesWritten }) as E
    : waiting._tag === "DidSendBodyData" && next._tag === "DidSendBodyData"
    ? DidSendBodyData({ ...next, bytesSent: waiting.bytesSent + next.bytesSent }) as E
    : next
