/**
 * The app's handle on a task the daemon carries out: the `URLSessionTask` interfaces over
 * the RPC. What it knows of the task (state, response, byte counts) comes from the daemon's
 * snapshots and the task's events; its result from its `DidCompleteWithError`.
 */
import type * as ResumeData from "@urlsession/core/ResumeData"
import * as URLError from "@urlsession/core/URLError"
import type * as URLRequest from "@urlsession/core/URLRequest"
import { URLResponse } from "@urlsession/core/URLResponse"
import type * as URLSessionEvent from "@urlsession/core/URLSessionEvent"
import type {
  DataResult,
  DownloadResult,
  State,
  URLSessionDownloadTask,
  URLSessionTask
} from "@urlsession/core/URLSessionTask"
import * as Deferred from "effect/Deferred"
import * as Effect from "effect/Effect"
import * as Exit from "effect/Exit"
import * as FiberId from "effect/FiberId"
import * as Option from "effect/Option"
import type * as Stream from "effect/Stream"
import type { TaskSnapshot } from "./protocol.js"
import { requestFromWire } from "./wire.js"

export type Snapshot = typeof TaskSnapshot.Type

/** What a proxy task asks of its session: the daemon's calls for this task. */
export interface TaskCalls {
  readonly resume: Effect.Effect<void>
  readonly suspend: Effect.Effect<void>
  readonly cancel: (byProducingResumeData: boolean) => Effect.Effect<Option.Option<ResumeData.ResumeData>>
  readonly events: (isCompleted: () => boolean) => Stream.Stream<URLSessionEvent.TaskEvent>
  /** Keeps the description with the task in the daemon. */
  readonly setTaskDescription: (description: Option.Option<string>) => Effect.Effect<void>
  /** The daemon's snapshot of the task now. */
  readonly snapshot: Effect.Effect<Option.Option<Snapshot>>
}

/** How a task's result is gathered from its events. */
interface Collector<A> {
  readonly observe: (event: URLSessionEvent.TaskEvent) => void
  readonly finish: (response: URLResponse, failingURL: string) => Effect.Effect<A, URLError.URLError>
}

const concat = (chunks: ReadonlyArray<Uint8Array>): Uint8Array => {
  const data = new Uint8Array(chunks.reduce((length, chunk) => length + chunk.byteLength, 0))
  let offset = 0
  for (const chunk of chunks) {
    data.set(chunk, offset)
    offset += chunk.byteLength
  }
  return data
}

const collectData = (): Collector<DataResult> => {
  const chunks: Array<Uint8Array> = []
  return {
    observe: (event) => {
      if (event._tag === "DidReceiveData") chunks.push(event.data)
    },
    // The chunks are let go once joined: a finished task keeps only its result.
    finish: (response) => Effect.sync(() => ({ data: concat(chunks.splice(0)), response }))
  }
}

const collectDownload = (): Collector<DownloadResult> => {
  let location: string | undefined
  return {
    observe: (event) => {
      if (event._tag === "DidFinishDownloadingTo") location = event.location
    },
    finish: (response, failingURL) =>
      location === undefined
        ? Effect.fail(URLError.make("CannotOpenFile", {
          failingURL,
          message: "urlsessiond completed the download without handing over its file"
        }))
        : Effect.succeed({ location, response })
  }
}

export class ProxyTask<A> implements URLSessionTask<A> {
  private phase: State
  private latestRequest: URLRequest.URLRequest
  private latestResponse: Option.Option<URLResponse>
  private received: number
  private expectedToReceive: number
  private sent: number
  private expectedToSend: number
  private description: Option.Option<string>
  private readonly outcome = Deferred.unsafeMake<A, URLError.URLError>(FiberId.none)

  constructor(
    readonly taskIdentifier: number,
    readonly originalRequest: URLRequest.URLRequest,
    private readonly calls: TaskCalls,
    private readonly collector: Collector<A>,
    // A data task's load belongs to the app's connection; every other task goes on in the
    // daemon when nobody waits for it any more.
    private readonly cancelsWhenAbandoned: boolean
  ) {
    this.phase = "suspended"
    this.description = Option.none()
    this.latestRequest = originalRequest
    this.latestResponse = Option.none()
    this.received = 0
    this.expectedToReceive = -1
    this.sent = 0
    this.expectedToSend = 0
  }

  get taskDescription(): Effect.Effect<Option.Option<string>> {
    return Effect.sync(() => this.description)
  }
  setTaskDescription(description: Option.Option<string>): Effect.Effect<void> {
    return Effect.zipRight(
      Effect.sync(() => {
        this.description = description
      }),
      this.calls.setTaskDescription(description)
    )
  }
  get currentRequest(): Effect.Effect<URLRequest.URLRequest> {
    return Effect.sync(() => this.latestRequest)
  }
  get response(): Effect.Effect<Option.Option<URLResponse>> {
    return Effect.sync(() => this.latestResponse)
  }
  get state(): Effect.Effect<State> {
    return Effect.sync(() => this.phase)
  }
  get countOfBytesReceived(): Effect.Effect<number> {
    return Effect.sync(() => this.received)
  }
  get countOfBytesExpectedToReceive(): Effect.Effect<number> {
    return Effect.sync(() => this.expectedToReceive)
  }
  get countOfBytesSent(): Effect.Effect<number> {
    return Effect.sync(() => this.sent)
  }
  get countOfBytesExpectedToSend(): Effect.Effect<number> {
    return Effect.sync(() => this.expectedToSend)
  }
  get resume(): Effect.Effect<void> {
    return Effect.suspend(() => this.isCompleted() ? Effect.void : this.calls.resume)
  }
  get suspend(): Effect.Effect<void> {
    return Effect.suspend(() => this.isCompleted() ? Effect.void : this.calls.suspend)
  }
  get cancel(): Effect.Effect<void> {
    return Effect.asVoid(this.cancelling(false))
  }
  get events(): Stream.Stream<URLSessionEvent.TaskEvent> {
    return this.calls.events(() => this.isCompleted())
  }
  get await(): Effect.Effect<A, URLError.URLError> {
    const waiting = Deferred.await(this.outcome)
    return this.cancelsWhenAbandoned ? Effect.onInterrupt(waiting, () => this.cancel) : waiting
  }

  isCompleted(): boolean {
    return this.phase === "completed"
  }

  /** What the daemon says of the task now. Its completion is not taken from here: only the
   * task's `DidCompleteWithError` settles the result, and it is on its way. */
  update(snapshot: Snapshot): void {
    if (this.isCompleted()) return
    if (snapshot.state !== "completed") this.phase = snapshot.state
    if (snapshot.taskDescription !== null) this.description = Option.some(snapshot.taskDescription)
    this.latestRequest = requestFromWire(snapshot.currentRequest)
    if (Option.isSome(snapshot.response)) this.latestResponse = snapshot.response
    this.received = snapshot.countOfBytesReceived
    this.expectedToReceive = snapshot.countOfBytesExpectedToReceive
    this.sent = snapshot.countOfBytesSent
    this.expectedToSend = snapshot.countOfBytesExpectedToSend
  }

  /** Asks the daemon to cancel; `canceling` until its `DidCompleteWithError` says it is done. */
  protected cancelling(byProducingResumeData: boolean): Effect.Effect<Option.Option<ResumeData.ResumeData>> {
    return Effect.suspend(() => {
      if (this.isCompleted()) return Effect.succeed(Option.none())
      this.phase = "canceling"
      return this.calls.cancel(byProducingResumeData)
    })
  }

  /** Takes in one of the task's events; its `DidCompleteWithError` settles the result. */
  observe(event: URLSessionEvent.TaskEvent): Effect.Effect<void> {
    if (this.isCompleted()) return Effect.void
    this.collector.observe(event)
    switch (event._tag) {
      case "DidReceiveResponse":
        this.latestResponse = Option.some(event.response)
        break
      case "WillPerformHTTPRedirection":
        this.latestRequest = event.newRequest
        break
      case "DidReceiveData":
        this.phase = "running"
        this.received += event.data.byteLength
        break
      case "DidWriteData":
        this.phase = "running"
        this.received = event.totalBytesWritten
        this.expectedToReceive = event.totalBytesExpectedToWrite
        break
      case "DidResumeAtOffset":
        this.received = event.fileOffset
        this.expectedToReceive = event.expectedTotalBytes
        break
      case "DidSendBodyData":
        this.sent = event.totalBytesSent
        this.expectedToSend = event.totalBytesExpectedToSend
        break
      case "DidCompleteWithError":
        return Option.match(event.error, {
          onSome: (error) => Effect.sync(() => this.settle(Exit.fail(error))),
          onNone: () =>
            Effect.flatMap(
              this.knownResponse,
              (response) => Effect.exit(this.collector.finish(response, this.latestRequest.url))
            ).pipe(
              Effect.flatMap((exit) => Effect.sync(() => this.settle(exit)))
            )
        })
    }
    return Effect.void
  }

  /** Fails the task on the app's side: the daemon refused it, or its connection was lost. */
  fail(error: URLError.URLError): void {
    this.settle(Exit.fail(error))
  }

  private settle(exit: Exit.Exit<A, URLError.URLError>): void {
    if (this.isCompleted()) return
    this.phase = "completed"
    Deferred.unsafeDone(this.outcome, exit)
  }

  // A download's response is a live event only: an app that was not attached when it came
  // asks the daemon's record of the task. A record without one (the daemon kept none)
  // leaves a response that says what is known: the URL.
  private get knownResponse(): Effect.Effect<URLResponse> {
    if (Option.isSome(this.latestResponse)) return Effect.succeed(this.latestResponse.value)
    return Effect.map(
      this.calls.snapshot,
      (snapshot) =>
        Option.getOrElse(Option.flatMap(snapshot, (known) => known.response), () =>
          new URLResponse({
            url: this.latestRequest.url,
            mimeType: Option.none(),
            expectedContentLength: -1,
            textEncodingName: Option.none(),
            suggestedFilename: ""
          }))
    )
  }
}

export class ProxyDownloadTask extends ProxyTask<DownloadResult> implements URLSessionDownloadTask {
  constructor(taskIdentifier: number, originalRequest: URLRequest.URLRequest, calls: TaskCalls) {
    super(taskIdentifier, originalRequest, calls, collectDownload(), false)
  }

  get cancelByProducingResumeData(): Effect.Effect<Option.Option<ResumeData.ResumeData>> {
    return this.cancelling(true)
  }

  // The daemon checkpoints its downloads itself, and an app could not resume from its partial
  // file anyway: it is the daemon's.
  get checkpoint(): Effect.Effect<Option.Option<ResumeData.ResumeData>> {
    return Effect.succeed(Option.none())
  }
}

/** A task that collects a body in memory: a data task (`cancelsWhenAbandoned`) or an upload. */
export const makeDataTask = (
  taskIdentifier: number,
  originalRequest: URLRequest.URLRequest,
  calls: TaskCalls,
  cancelsWhenAbandoned: boolean
): ProxyTask<DataResult> => new ProxyTask(taskIdentifier, originalRequest, calls, collectData(), cancelsWhenAbandoned)
