/**
 * The transfer engine: every call of the protocol, over the store, the sessions' runtimes
 * in the daemon and the transfers running in fibers of the daemon's own.
 */
import * as NodeFileSystem from "@effect/platform-node/NodeFileSystem"
import * as FileSystem from "@effect/platform/FileSystem"
import * as ResumeData from "@urlsession/core/ResumeData"
import * as URLError from "@urlsession/core/URLError"
import * as URLSessionConfiguration from "@urlsession/core/URLSessionConfiguration"
import type * as URLSessionEvent from "@urlsession/core/URLSessionEvent"
import * as Cause from "effect/Cause"
import * as Clock from "effect/Clock"
import * as Config from "effect/Config"
import * as Context from "effect/Context"
import * as Deferred from "effect/Deferred"
import * as Duration from "effect/Duration"
import * as Effect from "effect/Effect"
import * as ExecutionStrategy from "effect/ExecutionStrategy"
import * as FiberMap from "effect/FiberMap"
import * as Layer from "effect/Layer"
import * as Option from "effect/Option"
import * as PubSub from "effect/PubSub"
import * as Queue from "effect/Queue"
import * as Scope from "effect/Scope"
import * as Stream from "effect/Stream"
import * as path from "node:path"
import type { Engine, ExitReason } from "../Engine.js"
import type { StateDirectory } from "../StateDirectory.js"
import type { Store } from "../Store.js"
import * as idleness from "./idleness.js"
import * as leases from "./leases.js"
import type { AttachItem } from "./protocol.js"
import type { TaskRecord } from "./records.js"
import * as retention from "./retention.js"
import * as sessionRuntimes from "./sessionRuntimes.js"
import * as stateDirectory from "./stateDirectory.js"
import { StoreError, tag as storeTag } from "./store.js"
import {
  decodeEvent,
  decodeRequest,
  encodeError,
  encodeRequest,
  encodeResumeData,
  storedResumeData
} from "./storedForms.js"
import { taskSnapshot } from "./taskSnapshot.js"
import {
  completeTask,
  fail as failTransfer,
  resumeDataUpdate,
  retag,
  runTransfer,
  type TransferEnvironment,
  type TransferSession
} from "./transfer.js"
import { eventToWire, isHTTP, requestFromWire } from "./wire.js"

export const tag = Context.GenericTag<Engine>("@urlsession/daemon/Engine")

const settingsConfig = Config.all({
  retention: Config.integer("URLSESSION_RETENTION_MILLIS").pipe(Config.withDefault(7 * 24 * 3600 * 1000)),
  idleExit: Config.integer("URLSESSION_IDLE_EXIT_MILLIS").pipe(Config.withDefault(60_000)),
  retryBase: Config.integer("URLSESSION_RETRY_BASE_MILLIS").pipe(Config.withDefault(1_000))
})

// How often retention is enforced: as often as the period, within these bounds.
const retentionSweep = { minimum: Duration.seconds(1), maximum: Duration.hours(1) }

const unknownTask = (session: string, taskIdentifier: number, why = "has no such task") =>
  new StoreError({ reason: "UnknownTask", message: `the session ${JSON.stringify(session)} ${why}: ${taskIdentifier}` })

const make = Effect.gen(function*() {
  const store = yield* storeTag
  const directory = yield* stateDirectory.tag
  const fileSystem = yield* FileSystem.FileSystem
  const settings = yield* Effect.orDie(settingsConfig)
  const environment: TransferEnvironment = {
    store,
    fileSystem,
    retryBase: Duration.millis(settings.retryBase)
  }
  // The in-daemon sessions close after the transfers have been interrupted (a scope closes
  // what it acquired last first): a session closing first would cancel its downloads and
  // remove their partial files.
  const runtimes = yield* sessionRuntimes.make({
    stateDirectory: directory.path,
    store,
    fileSystem,
    scope: yield* Scope.fork(yield* Effect.scope, ExecutionStrategy.sequential)
  })
  const { finishedDirectoryOf, partialDirectoryOf, runtimeOf } = runtimes
  const transfers = yield* FiberMap.make<string>()
  const work = yield* idleness.make
  const leased = leases.make()
  const exitRequested = yield* Deferred.make<ExitReason>()
  // How to cancel the data tasks `loadData` runs now.
  const dataTasks = new Map<string, Effect.Effect<void>>()

  const keyOf = (identifier: string, taskIdentifier: number) => `${identifier}/${taskIdentifier}`

  const requireTask = (identifier: string, taskIdentifier: number) =>
    Effect.flatMap(store.task(identifier, taskIdentifier), (record) =>
      Option.match(record, {
        onNone: () => Effect.fail(unknownTask(identifier, taskIdentifier)),
        onSome: Effect.succeed
      }))

  const startTransfer = (runtime: TransferSession, record: TaskRecord) =>
    FiberMap.run(
      transfers,
      keyOf(runtime.identifier, record.taskIdentifier),
      Effect.scoped(Effect.zipRight(work.busyWhile, runTransfer(environment, runtime, record))).pipe(
        // A transfer that broke for a reason of the daemon's own (its store) fails its task,
        // as far as the store lets it, rather than leave the app waiting.
        Effect.tapErrorCause((cause) =>
          Cause.isInterruptedOnly(cause) ? Effect.void : Effect.zipRight(
            Effect.logError(`task ${record.taskIdentifier} stopped`, cause),
            Effect.ignore(failTransfer(
              environment,
              runtime,
              record,
              URLError.make("Unknown", {
                message: `urlsessiond could not carry the task on: ${Cause.pretty(cause)}`,
                cause: Cause.squash(cause)
              })
            ))
          )
        )
      ),
      { onlyIfMissing: true }
    )

  const attach: Engine["attach"] = (identifier, configuration, holder) =>
    Stream.unwrapScoped(Effect.gen(function*() {
      if (!URLSessionConfiguration.isValidIdentifier(identifier)) {
        return yield* URLError.make("Unknown", {
          message: `${JSON.stringify(identifier)} is not a background session identifier`
        })
      }
      yield* leased.take(identifier, holder)
      yield* work.busyWhile
      yield* store.attachSession(identifier, configuration)
      const runtime = yield* runtimes.runtime(identifier, configuration)
      // Subscribed before the log is read: an event stored in between is in both, and the
      // sequence numbers tell which to drop.
      const subscription = yield* PubSub.subscribe(runtime.hub)
      const tasks = yield* Effect.forEach(yield* store.tasks(identifier), taskSnapshot)
      const stored = yield* store.eventsAfter(identifier, 0)
      const replay = yield* Effect.forEach(stored, (record) =>
        Effect.map(decodeEvent(record.event), (event): typeof AttachItem.Type => ({
          _tag: "Stored",
          sequence: record.sequence,
          event
        })))
      const replayedUpTo = stored.at(-1)?.sequence ?? 0
      const head: ReadonlyArray<typeof AttachItem.Type> = [
        { _tag: "Attached", tasks },
        ...replay,
        { _tag: "CaughtUp" }
      ]
      return Stream.concat(
        Stream.fromIterable(head),
        Stream.filter(Stream.fromQueue(subscription), (item) =>
          item._tag !== "Stored" || item.sequence > replayedUpTo)
      )
    }))

  const uploadFileSize = (file: string | undefined) =>
    Effect.gen(function*() {
      const cannot = (code: URLError.Code, why: string) => URLError.make(code, { message: `the upload file ${why}` })
      if (file === undefined) return yield* cannot("FileDoesNotExist", "is missing: an upload task sends a file")
      if (!path.isAbsolute(file)) return yield* cannot("FileDoesNotExist", `${JSON.stringify(file)} is not absolute`)
      const info = yield* Effect.mapError(fileSystem.stat(file), () =>
        cannot("FileDoesNotExist", `${file} does not exist`))
      if (info.type === "Directory") {
        return yield* cannot("FileIsDirectory", `${file} is a directory`)
      }
      if (info.type !== "File") {
        return yield* cannot("CannotOpenFile", `${file} is not a regular file`)
      }
      return Number(info.size)
    })

  // Resume data from the app must name a partial file this session kept.
  const checkResumeData = (identifier: string, given: ResumeData.ResumeData) =>
    Effect.gen(function*() {
      const resumeData = yield* ResumeData.validate(yield* encodeResumeData(given))
      const partial = path.join(partialDirectoryOf(identifier), resumeData.partialFile)
      const exists = yield* Effect.orElseSucceed(fileSystem.exists(partial), () => false)
      if (!exists) {
        return yield* URLError.make("CannotOpenFile", {
          failingURL: resumeData.url,
          message: `the partial file ${partial} of the resume data is gone`
        })
      }
      return resumeData
    })

  const createTask: Engine["createTask"] = (identifier, options) =>
    Effect.gen(function*() {
      if (!isHTTP(options.request.url)) {
        return yield* URLError.make("UnsupportedURL", {
          failingURL: options.request.url,
          message: "background sessions load http and https URLs only"
        })
      }
      const size = options.kind === "upload" ? yield* uploadFileSize(options.uploadFile) : 0
      const resumeData = options.kind === "download" && options.resumeData !== undefined
        ? Option.some(yield* checkResumeData(identifier, options.resumeData))
        : Option.none()
      const record = yield* store.createTask({
        session: identifier,
        clientId: options.requestId,
        kind: options.kind,
        originalRequest: yield* encodeRequest(options.request),
        taskDescription: options.taskDescription,
        uploadFile: options.kind === "upload" ? options.uploadFile : undefined,
        countOfBytesExpectedToSend: size
      })
      if (Option.isNone(resumeData) || record.resumeData !== null || record.firstResumedAt !== null) {
        return yield* taskSnapshot(record)
      }
      const update = yield* resumeDataUpdate(partialDirectoryOf(identifier), resumeData.value)
      return yield* taskSnapshot((yield* store.updateTask(identifier, record.taskIdentifier, update)).task)
    })

  const resume: Engine["resume"] = (identifier, taskIdentifier) =>
    Effect.gen(function*() {
      const record = yield* requireTask(identifier, taskIdentifier)
      const running = yield* FiberMap.has(transfers, keyOf(identifier, taskIdentifier))
      // Data tasks run inside `loadData`.
      if (record.state === "completed" || record.kind === "data" || running) return yield* taskSnapshot(record)
      const runtime = yield* runtimeOf(identifier)
      const now = yield* Clock.currentTimeMillis
      const { task } = yield* store.updateTask(identifier, taskIdentifier, {
        state: "running",
        firstResumedAt: record.firstResumedAt === null ? now : undefined
      })
      yield* startTransfer(runtime, task)
      return yield* taskSnapshot(task)
    })

  /** Interrupts the task's transfer, which records its resume data; the task as it is now. */
  const stopTransfer = (identifier: string, taskIdentifier: number) =>
    Effect.zipRight(
      FiberMap.remove(transfers, keyOf(identifier, taskIdentifier)),
      requireTask(identifier, taskIdentifier)
    )

  const suspend: Engine["suspend"] = (identifier, taskIdentifier) =>
    Effect.gen(function*() {
      const record = yield* requireTask(identifier, taskIdentifier)
      if (record.state !== "running" || record.kind === "data") return yield* taskSnapshot(record)
      const stopped = yield* stopTransfer(identifier, taskIdentifier)
      if (stopped.state === "completed") return yield* taskSnapshot(stopped)
      return yield* taskSnapshot((yield* store.updateTask(identifier, taskIdentifier, { state: "suspended" })).task)
    })

  const cancel: Engine["cancel"] = (identifier, taskIdentifier, byProducingResumeData) =>
    Effect.gen(function*() {
      const record = yield* requireTask(identifier, taskIdentifier)
      if (record.state === "completed") return Option.none()
      if (record.kind === "data") {
        const loading = dataTasks.get(keyOf(identifier, taskIdentifier))
        if (loading !== undefined) {
          yield* loading
          return Option.none()
        }
        // Never loaded: no `LoadData` stream will say it completed, so the session does.
        yield* store.deleteTask(identifier, taskIdentifier)
        const request = yield* decodeRequest(record.originalRequest)
        yield* PubSub.publish((yield* runtimeOf(identifier)).hub, {
          _tag: "Live",
          event: {
            _tag: "DidCompleteWithError",
            taskIdentifier,
            error: Option.some(URLError.make("Cancelled", { failingURL: request.url }))
          }
        })
        return Option.none()
      }
      const stopped = yield* stopTransfer(identifier, taskIdentifier)
      if (stopped.state === "completed") return Option.none()
      const resumeData = byProducingResumeData ? yield* storedResumeData(stopped) : Option.none()
      if (Option.isNone(resumeData) && stopped.partialFile !== null) {
        yield* Effect.ignore(fileSystem.remove(stopped.partialFile))
      }
      const request = yield* decodeRequest(stopped.originalRequest)
      const error = URLError.make("Cancelled", {
        failingURL: request.url,
        resumeData: Option.getOrUndefined(resumeData)
      })
      yield* completeTask(environment, yield* runtimeOf(identifier), taskIdentifier, {
        error: yield* encodeError(error),
        ...(Option.isNone(resumeData) ? { resumeData: null, partialFile: null } : {})
      }, [{ _tag: "DidCompleteWithError", taskIdentifier, error: Option.some(error) }])
      return resumeData
    })

  const loadData: Engine["loadData"] = (identifier, taskIdentifier) =>
    Stream.unwrapScoped(Effect.gen(function*() {
      const record = yield* requireTask(identifier, taskIdentifier)
      if (record.kind !== "data" || record.state !== "suspended") {
        return yield* unknownTask(identifier, taskIdentifier, "has no data task waiting to load")
      }
      const runtime = yield* runtimeOf(identifier)
      yield* work.busyWhile
      const task = yield* runtime.urlSession.dataTask(requestFromWire(yield* decodeRequest(record.originalRequest)))
      const key = keyOf(identifier, taskIdentifier)
      // A data task outlives neither its stream nor the daemon: nothing of it is kept.
      yield* Effect.acquireRelease(
        Effect.zipRight(
          store.updateTask(identifier, taskIdentifier, { state: "running" }),
          Effect.sync(() => dataTasks.set(key, task.cancel))
        ),
        () =>
          Effect.all([
            Effect.sync(() => dataTasks.delete(key)),
            task.cancel,
            Effect.ignore(store.deleteTask(identifier, taskIdentifier))
          ], { discard: true })
      )
      const events = yield* Queue.unbounded<URLSessionEvent.TaskEvent>()
      yield* Effect.forkScoped(Stream.runForEach(task.events, (event) => Queue.offer(events, event)))
      yield* task.resume
      return Stream.fromQueue(events).pipe(
        Stream.takeUntil((event) => event._tag === "DidCompleteWithError"),
        Stream.filterMap((event) => Option.map(eventToWire(event), (wire) => retag(wire, taskIdentifier)))
      )
    }))

  const acknowledge: Engine["acknowledge"] = (identifier, taskIdentifier) =>
    Effect.flatMap(
      store.acknowledgeTask(identifier, taskIdentifier),
      (previous) =>
        Option.match(Option.flatMapNullable(previous, (task) => task.finishedFile), {
          onNone: () => Effect.void,
          onSome: (file) => Effect.ignore(fileSystem.remove(file))
        })
    )

  const setTaskDescription: Engine["setTaskDescription"] = (identifier, taskIdentifier, taskDescription) =>
    Effect.asVoid(store.updateTask(identifier, taskIdentifier, { taskDescription }))

  const invalidate: Engine["invalidate"] = (identifier, cancelTasks) =>
    Effect.gen(function*() {
      const tasks = yield* store.tasks(identifier)
      // Like finishTasksAndInvalidate, tasks never resumed are cancelled even without `cancel`.
      const doomed = tasks.filter((task) =>
        task.state !== "completed" && (cancelTasks || (task.state === "suspended" && task.firstResumedAt === null))
      )
      yield* Effect.forEach(doomed, (task) => cancel(identifier, task.taskIdentifier, false), { discard: true })
      const runtime = yield* runtimeOf(identifier)
      yield* PubSub.publish(runtime.hub, {
        _tag: "Live",
        event: { _tag: "DidBecomeInvalidWithError", error: Option.none() }
      })
    })

  const allTasks: Engine["allTasks"] = (identifier) =>
    Effect.flatMap(store.tasks(identifier), (tasks) => Effect.forEach(tasks, taskSnapshot))

  const status: Engine["status"] = Effect.gen(function*() {
    const known = yield* store.sessions
    const described = yield* Effect.forEach(known, (session) =>
      Effect.map(allTasks(session.identifier), (tasks) => ({
        identifier: session.identifier,
        attached: leased.isHeld(session.identifier),
        configuration: session.configuration,
        tasks
      })))
    return { pid: process.pid, rss: process.memoryUsage.rss(), sessions: described }
  })

  const expire = retention.expire(store, fileSystem, settings.retention)

  // After a crash or a stop, downloads go on from their last checkpoint (the partial file is
  // cut back to the bytes it recorded) and uploads start again. A session that cannot be
  // recovered is left as it is, and the others go on.
  const recoverSession = (identifier: string) =>
    Effect.gen(function*() {
      const tasks = yield* store.tasks(identifier)
      yield* retention.removeUnreferencedFiles(fileSystem, {
        partial: partialDirectoryOf(identifier),
        finished: finishedDirectoryOf(identifier)
      }, tasks)
      for (const task of tasks) {
        if (task.kind === "data" && task.state !== "completed") {
          yield* store.deleteTask(identifier, task.taskIdentifier)
        } else if (task.state === "running") {
          yield* startTransfer(yield* runtimeOf(identifier), task)
        }
      }
    }).pipe(Effect.catchAllCause((cause) => Effect.logError(`cannot recover the session ${identifier}`, cause)))

  const recover = Effect.zipRight(
    expire,
    Effect.flatMap(
      store.sessions,
      (sessions) => Effect.forEach(sessions, (session) => recoverSession(session.identifier), { discard: true })
    )
  ).pipe(Effect.catchAllCause((cause) => Effect.logError("recovery failed", cause)))

  yield* recover
  const sweep = Duration.clamp(Duration.millis(settings.retention), retentionSweep)
  yield* Effect.forkScoped(
    Effect.forever(Effect.zipRight(Effect.sleep(sweep), expire)).pipe(
      Effect.catchAllCause((cause) => Effect.logError("retention failed", cause))
    )
  )

  return {
    attach,
    holds: leased.holds,
    createTask,
    resume,
    suspend,
    cancel,
    loadData,
    allTasks,
    acknowledge,
    setTaskDescription,
    invalidate,
    status,
    stop: Effect.asVoid(Deferred.succeed(exitRequested, "Stop")),
    exitRequested: Effect.raceFirst(
      Deferred.await(exitRequested),
      Effect.as(work.idleFor(Duration.millis(settings.idleExit)), "Idle" as const)
    ),
    idleExitMillis: settings.idleExit
  } satisfies Engine
})

export const layer: Layer.Layer<Engine, never, Store | StateDirectory> = Layer.scoped(tag, make).pipe(
  Layer.provide(NodeFileSystem.layer)
)
