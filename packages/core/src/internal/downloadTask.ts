import * as Effect from "effect/Effect"
import * as Option from "effect/Option"
import type { DownloadStorage } from "../DownloadStorage.js"
import type { ResumeData } from "../ResumeData.js"
import * as URLError from "../URLError.js"
import type * as URLRequest from "../URLRequest.js"
import type { DownloadResult, URLSessionDownloadTask } from "../URLSessionTask.js"
import * as DownloadDelivery from "./downloadDelivery.js"
import { Task, type TaskEnvironment, type TaskOptions } from "./task.js"

/**
 * A download task: a task whose delivery writes a file of the session's, and which can stop
 * with resume data.
 */
export class DownloadTask extends Task<DownloadResult> implements URLSessionDownloadTask {
  private readonly file: DownloadDelivery.DownloadDelivery

  constructor(
    environment: TaskEnvironment,
    taskIdentifier: number,
    request: URLRequest.URLRequest,
    storage: DownloadStorage,
    resume: Option.Option<ResumeData>,
    /** The finished file was handed to the caller: the session removes it when it ends. */
    onHandedOver: (location: string) => void,
    options: TaskOptions
  ) {
    let file: DownloadDelivery.DownloadDelivery | undefined
    super(environment, taskIdentifier, request, (context) => {
      const made = DownloadDelivery.make(storage, context, resume, (location) => this.askDelegate(location))
      file = made
      return {
        ...made,
        finish: (response) =>
          Effect.tap(made.finish(response), ({ location }) => Effect.sync(() => onHandedOver(location)))
      }
    }, options)
    this.file = file!
  }

  // The delegate had the file to move: a failure means it could not.
  private askDelegate(location: string): Effect.Effect<void, URLError.URLError> {
    const didFinish = this.environment.delegate.didFinishDownloadingTo
    if (didFinish === undefined) return Effect.void
    return Effect.mapError(didFinish(this, location), (cause) =>
      URLError.make("CannotMoveFile", {
        failingURL: this.originalRequest.url,
        message: "the delegate's didFinishDownloadingTo failed",
        cause
      }))
  }

  get checkpoint(): Effect.Effect<Option.Option<ResumeData>> {
    return this.file.checkpoint
  }

  // Whether the bytes on disk can be resumed is known only once the task has stopped
  // writing: the file is kept if it might be, and the decision made after the cancel.
  get cancelByProducingResumeData(): Effect.Effect<Option.Option<ResumeData>> {
    const file = this.file
    return Effect.gen(this, function*() {
      if ((yield* this.state) === "completed") return Option.none()
      const resumable = file.isResumable()
      if (resumable) file.keepPartialFile()
      yield* this.cancel
      yield* this.completion
      const resumeData = resumable ? file.resumeData() : Option.none()
      if (Option.isNone(resumeData)) yield* file.removePartialFile
      return resumeData
    })
  }
}
