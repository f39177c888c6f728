/**
 * One background download or upload, carried out by the daemon's own URLSession until it
 * completes: its progress goes out live, a download's durable bytes are checkpointed, the
 * failures a network change explains are retried, and its completion is stored with the
 * events that report it, in one transaction.
 */
import type * as FileSystem from "@effect/platform/FileSystem"
import type * as ResumeData from "@urlsession/core/ResumeData"
import * as URLError from "@urlsession/core/URLError"
import type * as URLRequest from "@urlsession/core/URLRequest"
import type * as URLSession from "@urlsession/core/URLSession"
import type * as URLSessionEvent from "@urlsession/core/URLSessionEvent"
import type * as URLSessionTask from "@urlsession/core/URLSessionTask"
import * as Clock from "effect/Clock"
import * as Duration from "effect/Duration"
import * as Effect from "effect/Effect"
import * as Fiber from "effect/Fiber"
import * as Option from "effect/Option"
import * as PubSub from "effect/PubSub"
import * as Stream from "effect/Stream"
import * as path from "node:path"
import type { Store, TaskUpdate } from "../Store.js"
import * as durableFiles from "./durableFiles.js"
import type { AttachItem } from "./protocol.js"
import type { TaskRecord } from "./records.js"
import type { StoreError } from "./store.js"
import {
  decodeRequest,
  encodeError,
  encodeEvent,
  encodeResponse,
  encodeResumeData,
  storedResumeData
} from "./storedForms.js"
import { eventToWire, requestFromWire, type WireConfiguration, type WireEvent } from "./wire.js"

/** What a transfer needs of its session in the daemon. */
export interface TransferSession {
  readonly identifier: string
  readonly configuration: WireConfiguration
  readonly urlSession: URLSession.URLSession
  readonly hub: PubSub.PubSub<typeof AttachItem.Type>
  readonly partialDirectory: string
  readonly finishedDirectory: string
}

export interface TransferEnvironment {
  readonly store: Store
  readonly fileSystem: FileSystem.FileSystem
  /** The first retry's delay; each next one doubles, up to `maximumRetryDelay`. */
  readonly retryBase: Duration.Duration
}

// Failures a changed network explains: the same request may well succeed a little later.
const retryableCodes: ReadonlySet<URLError.Code> = new Set<URLError.Code>([
  "TimedOut",
  "NetworkConnectionLost",
  "CannotConnectToHost",
  "NotConnectedToInternet",
  "CannotFindHost",
  "DNSLookupFailed"
])

const maximumRetryDelay = Duration.seconds(60)

// A crash loses at most this much of a download: the bytes since the last checkpoint.
const checkpointBytes = 8 * 1024 * 1024
const checkpointInterval = Duration.seconds(2)

// What the app sees of a running transfer as it happens; the rest is stored at completion.
const liveEvents: Record<"download" | "upload", ReadonlySet<WireEvent["_tag"]>> = {
  download: new Set(["DidReceiveResponse", "WillPerformHTTPRedirection", "DidWriteData", "DidResumeAtOffset"]),
  upload: new Set(["WillPerformHTTPRedirection", "DidSendBodyData"])
}

/** The event as the app knows it: about the daemon's task, not the in-daemon one. */
export const retag = (event: WireEvent, taskIdentifier: number): WireEvent =>
  "taskIdentifier" in event ? { ...event, taskIdentifier } : event

/** Marks the task completed and appends `events`, in one transaction, then hands them to
 * the attached app; uninterruptible, so that a suspend or cancel landing then cannot keep
 * a committed completion from the app. */
export const completeTask = (
  environment: TransferEnvironment,
  session: TransferSession,
  taskIdentifier: number,
  update: TaskUpdate,
  events: ReadonlyArray<WireEvent>
): Effect.Effect<TaskRecord, StoreError> =>
  Effect.gen(function*() {
    const encoded = yield* Effect.forEach(events, encodeEvent)
    const completedAt = yield* Clock.currentTimeMillis
    const stored = yield* environment.store.updateTask(
      session.identifier,
      taskIdentifier,
      { ...update, state: "completed", completedAt },
      encoded
    )
    yield* Effect.forEach(stored.events, (record, index) =>
      PubSub.publish(session.hub, { _tag: "Stored", sequence: record.sequence, event: events[index]! }))
    return stored.task
  }).pipe(Effect.uninterruptible)

/**
 * The update that records resume data, once the partial file it names is durable (resume
 * data from a cancel or a failure was not synced, unlike a checkpoint's). A file that cannot
 * be synced is not trusted: the task would start again from zero.
 */
export const resumeDataUpdate = (
  partialDirectory: string,
  resumeData: ResumeData.ResumeData
): Effect.Effect<TaskUpdate> => {
  const partialFile = path.join(partialDirectory, resumeData.partialFile)
  return Effect.zipRight(
    durableFiles.sync(partialFile),
    Effect.map(encodeResumeData(resumeData), (encoded): TaskUpdate => ({
      resumeData: encoded,
      partialFile,
      resumeOffset: resumeData.bytesReceived,
      countOfBytesReceived: resumeData.bytesReceived,
      countOfBytesExpectedToReceive: resumeData.expectedLength
    }))
  ).pipe(Effect.orElseSucceed((): TaskUpdate => ({ resumeData: null, resumeOffset: 0 })))
}

/**
 * Runs the task until it completes (stored) or the fiber is interrupted (a suspend, a
 * cancel, the daemon stopping): then a download's resume data is recorded and its partial
 * file kept, and the row's state is the interrupter's to set.
 */
export const runTransfer = (
  environment: TransferEnvironment,
  session: TransferSession,
  record: TaskRecord
): Effect.Effect<void, StoreError> =>
  Effect.gen(function*() {
    const request = requestFromWire(yield* decodeRequest(record.originalRequest))
    const firstResumedAt = record.firstResumedAt?.getTime() ?? (yield* Clock.currentTimeMillis)
    const deadline = firstResumedAt + session.configuration.timeoutIntervalForResourceMillis
    let resumeData = yield* storedResumeData(record)
    for (let attempt = 0;; attempt++) {
      // The attempt gives how to record its success, so that only its own failures are
      // weighed for a retry here.
      const outcome = yield* Effect.either(
        record.kind === "upload"
          ? Effect.map(uploadOnce(session, request, record), (result) =>
            finishUpload(environment, session, record, result))
          : Effect.map(downloadOnce(environment, session, record, request, resumeData), (result) =>
            finishDownload(environment, session, record, result))
      )
      if (outcome._tag === "Right") {
        return yield* outcome.right
      }
      const error = outcome.left
      const delay = Duration.min(Duration.times(environment.retryBase, 2 ** attempt), maximumRetryDelay)
      const now = yield* Clock.currentTimeMillis
      if (!retryableCodes.has(error.code) || now + Duration.toMillis(delay) >= deadline) {
        return yield* fail(environment, session, record, error)
      }
      // The next attempt goes on from the failure's resume data, else from the last checkpoint.
      const latest = error.resumeData === undefined
        ? environment.store.task(session.identifier, record.taskIdentifier)
        : Effect.map(
          environment.store.updateTask(
            session.identifier,
            record.taskIdentifier,
            yield* resumeDataUpdate(session.partialDirectory, error.resumeData)
          ),
          (updated) =>
            Option.some(updated.task)
        )
      resumeData = yield* Effect.flatMap(latest, (row) =>
        Option.match(row, {
          onNone: () =>
            Effect.succeedNone,
          onSome: storedResumeData
        }))
      yield* Effect.sleep(delay)
    }
  })

export const fail = (
  environment: TransferEnvironment,
  session: TransferSession,
  record: TaskRecord,
  error: URLError.URLError
) =>
  Effect.gen(function*() {
    const kept = error.resumeData === undefined
      ? { resumeData: null, partialFile: null }
      : yield* resumeDataUpdate(session.partialDirectory, error.resumeData)
    yield* completeTask(environment, session, record.taskIdentifier, { ...kept, error: yield* encodeError(error) }, [
      { _tag: "DidCompleteWithError", taskIdentifier: record.taskIdentifier, error: Option.some(error) }
    ])
  })

/** Waits for the task without letting an interruption cancel it: `onInterrupt` decides how
 * it stops. */
const awaitTask = <A>(task: URLSessionTask.URLSessionTask<A>, onInterrupt: Effect.Effect<void>) =>
  Effect.flatMap(Effect.forkDaemon(task.await), (fiber) => Effect.onInterrupt(Fiber.join(fiber), () => onInterrupt))

/** Publishes the task's live events to the attached app, each seen by `onEvent` first. */
const forwardEvents = (
  session: TransferSession,
  record: TaskRecord,
  kind: "download" | "upload",
  events: Stream.Stream<URLSessionEvent.TaskEvent>,
  onEvent: (event: URLSessionEvent.TaskEvent) => Effect.Effect<void> = () => Effect.void
) =>
  Stream.runForEach(events, (event) =>
    Effect.zipRight(
      onEvent(event),
      Option.match(Option.filter(eventToWire(event), (wire) => liveEvents[kind].has(wire._tag)), {
        onNone: () => Effect.void,
        onSome: (wire) => PubSub.publish(session.hub, { _tag: "Live", event: retag(wire, record.taskIdentifier) })
      })
    )).pipe(Effect.forkScoped)

const startDownload = (
  urlSession: URLSession.URLSession,
  request: URLRequest.URLRequest,
  resumeData: Option.Option<ResumeData.ResumeData>
) =>
  Option.match(resumeData, {
    onNone: () => urlSession.downloadTask(request),
    // A partial file that is gone or shorter than recorded: start again from the first byte.
    onSome: (resumeData) =>
      Effect.catchAll(urlSession.downloadTaskWithResumeData(resumeData), () => urlSession.downloadTask(request))
  })

const downloadOnce = (
  environment: TransferEnvironment,
  session: TransferSession,
  record: TaskRecord,
  request: URLRequest.URLRequest,
  resumeData: Option.Option<ResumeData.ResumeData>
) =>
  Effect.gen(function*() {
    const task = yield* startDownload(session.urlSession, request, resumeData)
    const lock = yield* Effect.makeSemaphore(1)
    let checkpointedBytes = 0
    const recordUpdate = (update: TaskUpdate) =>
      environment.store.updateTask(session.identifier, record.taskIdentifier, update).pipe(
        Effect.tapError((error) => Effect.logWarning(`task ${record.taskIdentifier}: ${error.message}`)),
        Effect.ignore
      )
    const keep = (resumeData: Option.Option<ResumeData.ResumeData>) =>
      Option.match(resumeData, {
        onNone: () => Effect.void,
        onSome: (resumeData) => {
          // A stalled transfer has nothing new to record.
          if (resumeData.bytesReceived === checkpointedBytes) return Effect.void
          checkpointedBytes = resumeData.bytesReceived
          return Effect.flatMap(resumeDataUpdate(session.partialDirectory, resumeData), recordUpdate)
        }
      })
    const checkpoint = lock.withPermits(1)(Effect.flatMap(task.checkpoint, keep))
    yield* forwardEvents(session, record, "download", task.events, (event) =>
      event._tag === "DidWriteData" && event.totalBytesWritten - checkpointedBytes >= checkpointBytes
        ? checkpoint
        : Effect.void)
    yield* Effect.forkScoped(Effect.forever(Effect.zipRight(Effect.sleep(checkpointInterval), checkpoint)))
    yield* task.resume
    return yield* awaitTask(task, lock.withPermits(1)(Effect.flatMap(task.cancelByProducingResumeData, keep)))
  }).pipe(Effect.scoped)

// The file goes where the app will look for it, out of the in-daemon session's reach (it
// removes the files nobody moved when it closes).
const finishDownload = (
  environment: TransferEnvironment,
  session: TransferSession,
  record: TaskRecord,
  result: URLSessionTask.DownloadResult
) =>
  Effect.gen(function*() {
    const finished = path.join(session.finishedDirectory, String(record.taskIdentifier))
    // Durable before the store says it is there: the file's bytes, then its new name.
    const moved = yield* Effect.either(Effect.all([
      durableFiles.sync(result.location),
      environment.fileSystem.rename(result.location, finished),
      durableFiles.sync(session.finishedDirectory)
    ], { discard: true }))
    if (moved._tag === "Left") {
      const error = URLError.make("CannotMoveFile", {
        message: `cannot move the download to ${finished}`,
        cause: moved.left
      })
      return yield* fail(environment, session, record, error)
    }
    const size = Number((yield* Effect.orDie(environment.fileSystem.stat(finished))).size)
    yield* completeTask(environment, session, record.taskIdentifier, {
      finishedFile: finished,
      response: yield* encodeResponse(result.response),
      resumeData: null,
      partialFile: null,
      error: null,
      countOfBytesReceived: size,
      countOfBytesExpectedToReceive: size
    }, [
      { _tag: "DidFinishDownloadingTo", taskIdentifier: record.taskIdentifier, location: finished },
      { _tag: "DidCompleteWithError", taskIdentifier: record.taskIdentifier, error: Option.none() }
    ])
  }).pipe(Effect.uninterruptible)

const uploadOnce = (session: TransferSession, request: URLRequest.URLRequest, record: TaskRecord) =>
  Effect.gen(function*() {
    const task = yield* session.urlSession.uploadTask(request, { file: record.uploadFile ?? "" })
    yield* forwardEvents(session, record, "upload", task.events)
    yield* task.resume
    return yield* awaitTask(task, task.cancel)
  }).pipe(Effect.scoped)

const finishUpload = (
  environment: TransferEnvironment,
  session: TransferSession,
  record: TaskRecord,
  result: URLSessionTask.DataResult
) => {
  const id = record.taskIdentifier
  return Effect.flatMap(encodeResponse(result.response), (response) =>
    completeTask(environment, session, id, {
      response,
      error: null,
      countOfBytesSent: Math.max(record.countOfBytesExpectedToSend, 0),
      countOfBytesReceived: result.data.length
    }, [
      { _tag: "DidReceiveResponse", taskIdentifier: id, response: result.response },
      ...(result.data.length > 0 ? [{ _tag: "DidReceiveData" as const, taskIdentifier: id, data: result.data }] : []),
      { _tag: "DidCompleteWithError", taskIdentifier: id, error: Option.none() }
    ]))
}
