import * as Effect from "effect/Effect"
import * as URLSessionEvent from "../URLSessionEvent.js"
import type { URLSessionDownloadTask } from "../URLSessionTask.js"
import type { AdoptedLoad } from "./taskEnvironment.js"
import type { TaskEvents } from "./taskEvents.js"

/**
 * A data task becomes a download task (its delegate answered `becomeDownload`): a new task
 * takes the response, the rest of the body and the connection, and is resumed; the data
 * task's subscribers go on to hear it. Gives the new task's identifier.
 *
 * Apple: "the delegate receives no further callbacks from the data task, and begins
 * receiving callbacks from the download task". The hand-over cannot be cut in two: a
 * download task made and never resumed would hold the connection for ever.
 */
export const handOver = (options: {
  readonly becomeDownload: (adopted: AdoptedLoad) => Effect.Effect<URLSessionDownloadTask>
  readonly adopted: AdoptedLoad
  readonly taskIdentifier: number
  readonly events: TaskEvents
  /** The data task says nothing more of its own from here. */
  readonly onHandedOver: (downloadTask: number) => void
}): Effect.Effect<number> =>
  Effect.uninterruptible(Effect.gen(function*() {
    const downloadTask = yield* options.becomeDownload(options.adopted)
    options.onHandedOver(downloadTask.taskIdentifier)
    yield* options.events.emit(URLSessionEvent.DidBecomeDownloadTask({
      taskIdentifier: options.taskIdentifier,
      downloadTask
    }))
    yield* downloadTask.resume
    return downloadTask.taskIdentifier
  }))
