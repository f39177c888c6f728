/**
 * What Apple delivers to a session's delegate, as values: one variant per delegate callback.
 *
 * A task's events come in the order of "Life cycle of a URL session":
 * one `WillPerformHTTPRedirection` per redirect followed, `DidReceiveResponse`, zero or more
 * `DidReceiveData` (`DidWriteData` for downloads, then `DidFinishDownloadingTo`), then
 * `DidCompleteWithError` last.
 * A session's own last event is `DidBecomeInvalidWithError`; a background session that
 * attaches first replays what the app has not acknowledged, then says
 * `DidFinishEventsForBackgroundURLSession`. Variants for the callbacks of
 * features not built yet (challenges, caching, metrics)
 * arrive with those features.
 *
 * @since 0.1.0
 */
import * as Data from "effect/Data"
import type * as internal from "./internal/eventVariants.js"
import type { URLSessionDownloadTask } from "./URLSessionTask.js"

/**
 * One delegate callback as a value, tagged with the callback's name (`DidReceiveResponse`,
 * `WillPerformHTTPRedirection`, …), in the order the module's description gives.
 *
 * @since 0.1.0
 * @category models
 */
export type URLSessionEvent = internal.URLSessionEvent<URLSessionDownloadTask>

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
  DidFinishEventsForBackgroundURLSession,
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
export type TaskEvent = internal.TaskEvent<URLSessionDownloadTask>

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
