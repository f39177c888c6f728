import type * as Effect from "effect/Effect"
import type * as Exit from "effect/Exit"
import type * as URLError from "../URLError.js"
import type * as URLRequest from "../URLRequest.js"
import type { URLResponse } from "../URLResponse.js"
import type * as URLSessionEvent from "../URLSessionEvent.js"

/** Where a task's response and body go, and what its `await` gives on success. */
export interface Delivery<A> {
  /** Whether the task reports body chunks as `DidReceiveData` (a download reports its own). */
  readonly reportsData: boolean
  /** Whether the delegate may turn the task into a download (only a data task's may). */
  readonly mayBecomeDownload?: boolean
  /** Adds what the delivery needs to each request sent (a resumed download: `Range`). */
  readonly prepare?: (request: URLRequest.URLRequest) => URLRequest.URLRequest
  /** Looks at the final response before anything is reported: `"restart"` sends the request
   * again (the delivery having dropped what made it unusable, e.g. a mismatched range). */
  readonly examine?: (response: URLResponse) => Effect.Effect<"continue" | "restart">
  readonly onResponse: (response: URLResponse) => Effect.Effect<void, URLError.URLError>
  /** Takes a chunk: an Effect to run, or `undefined` when the chunk was taken at once (a
   * delivery collecting into memory), which costs the body's loop no Effect. */
  readonly onData: (chunk: Uint8Array) => Effect.Effect<void, URLError.URLError> | undefined
  /** The body is complete: what `await` gives. */
  readonly finish: (response: URLResponse) => Effect.Effect<A, URLError.URLError>
  /** The connection broke while the caller had the task suspended: may the delivery go on
   * with a new request (a download: from its resume data)? */
  readonly continueAfterConnectionLoss?: () => Effect.Effect<boolean>
  /** Adds what the delivery knows to the task's failure (a download: its resume data). */
  readonly enrichFailure?: (error: URLError.URLError) => URLError.URLError
  /** Runs once, after `DidCompleteWithError`, with what `await` will give. */
  readonly onFinish?: (exit: Exit.Exit<A, URLError.URLError>) => Effect.Effect<void>
}

/** What a delivery may use of its task. */
export interface TaskContext {
  readonly taskIdentifier: number
  /** Is anybody listening? Build no event when nobody is. */
  readonly observed: () => boolean
  readonly emit: (event: URLSessionEvent.TaskEvent) => Effect.Effect<void>
  /** The URL being loaded now (after redirects). */
  readonly currentURL: () => string
  /** The URL the task was created with. */
  readonly originalURL: string
}
