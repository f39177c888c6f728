import type * as Clock from "effect/Clock"
import type * as Effect from "effect/Effect"
import type * as Fiber from "effect/Fiber"
import type * as Scope from "effect/Scope"
import type { Loading, URLProtocol } from "../URLProtocol.js"
import type * as URLRequest from "../URLRequest.js"
import type { URLSessionConfiguration } from "../URLSessionConfiguration.js"
import type { URLSessionDelegate } from "../URLSessionDelegate.js"
import type * as URLSessionEvent from "../URLSessionEvent.js"
import type { URLSessionDownloadTask, URLSessionTask } from "../URLSessionTask.js"
import type * as Admission from "./admission.js"
import type { EventHub } from "./eventHub.js"
import type * as UploadBody from "./uploadBody.js"
import type * as Watchdog from "./watchdog.js"

/**
 * A load a data task hands over to the download task it becomes: the response, the rest of
 * its body, and the scope that holds its connection (closed by the download task).
 */
export interface AdoptedLoad {
  readonly originalRequest: URLRequest.URLRequest
  readonly request: URLRequest.URLRequest
  readonly loading: Loading
  readonly scope: Scope.CloseableScope
  /** The data task's subscribers, who go on to see the download task's events. */
  readonly forwardTo: EventHub<URLSessionEvent.TaskEvent>
}

/** What a session lends its tasks. */
export interface TaskEnvironment {
  readonly configuration: URLSessionConfiguration
  readonly protocols: ReadonlyArray<URLProtocol>
  readonly delegate: URLSessionDelegate
  readonly sessionEvents: EventHub<URLSessionEvent.URLSessionEvent>
  /** Forks a task's fiber, interruptible whatever the caller's region (`resume` is not); the
   * session cancels its unfinished tasks when it ends. */
  readonly fork: (effect: Effect.Effect<void>) => Effect.Effect<Fiber.RuntimeFiber<void>>
  readonly onFinished: (taskIdentifier: number) => void
  /** An invalidated session starts no task: one resumed then completes with `Cancelled`. */
  readonly isInvalidated: () => boolean
  /** A new, suspended download task that goes on with a data task's load. */
  readonly becomeDownload: (adopted: AdoptedLoad) => Effect.Effect<URLSessionDownloadTask>
  /** How upload tasks read files; without it, uploading a file is a defect. */
  readonly uploadFiles: UploadBody.UploadFiles | undefined
  /** Keeps the timeouts of the tasks that run on `clock` (tests give each case a clock). */
  readonly watchdog: (clock: Clock.Clock) => Watchdog.Watchdog
  /** How many tasks of an origin run at once. */
  readonly admission: Admission.Admission
}

/** What makes a task more than a plain load. */
export interface TaskOptions {
  /** A download task made from a data task: the load it goes on with. */
  readonly adopted?: AdoptedLoad | undefined
  /** An upload task: the body it sends. */
  readonly upload?: UploadBody.UploadSource | undefined
}

/** A task and the hooks its session needs beyond the public handle. */
export interface TaskHandle<A> extends URLSessionTask<A> {
  /** Waits for completion without cancelling when interrupted. */
  readonly completion: Effect.Effect<void>
  readonly isStarted: () => boolean
}
