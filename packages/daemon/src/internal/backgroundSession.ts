import * as ResumeData from "@urlsession/core/ResumeData"
import * as URLError from "@urlsession/core/URLError"
import * as URLRequest from "@urlsession/core/URLRequest"
import * as URLSession from "@urlsession/core/URLSession"
import * as URLSessionConfiguration from "@urlsession/core/URLSessionConfiguration"
import type { URLSessionDelegate } from "@urlsession/core/URLSessionDelegate"
import * as URLSessionEvent from "@urlsession/core/URLSessionEvent"
import type {
  DataResult,
  DownloadResult,
  UploadBody,
  URLSessionDataTask,
  URLSessionDownloadTask,
  URLSessionTask,
  URLSessionUploadTask
} from "@urlsession/core/URLSessionTask"
import { reportProgress } from "@urlsession/core/URLSessionTask"
import * as Deferred from "effect/Deferred"
import * as Effect from "effect/Effect"
import * as Exit from "effect/Exit"
import * as FiberSet from "effect/FiberSet"
import * as Layer from "effect/Layer"
import * as Option from "effect/Option"
import type * as Scope from "effect/Scope"
import * as Stream from "effect/Stream"
import { randomUUID } from "node:crypto"
import * as fs from "node:fs"
import * as path from "node:path"
import { attach, type DaemonConnection, type Item, toURLError } from "./daemonConnection.js"
import * as launcher from "./launcher.js"
import { moveFile } from "./moveFile.js"
import type { TaskKind } from "./protocol.js"
import { makeDataTask, ProxyDownloadTask, type ProxyTask, type Snapshot, type TaskCalls } from "./proxyTask.js"
import { SessionEvents } from "./sessionEvents.js"
import { streamedResponse } from "./streamedResponse.js"
import { configurationToWire, eventFromWire, isHTTP, requestFromWire, requestToWire } from "./wire.js"

export interface Options {
  readonly delegate?: URLSessionDelegate | undefined
  readonly stateDirectory?: string | undefined
}

type Kind = typeof TaskKind.Type

type AnyTask = ProxyTask<DataResult> | ProxyDownloadTask

interface TaskOf {
  readonly data: ProxyTask<DataResult>
  readonly upload: ProxyTask<DataResult>
  readonly download: ProxyDownloadTask
}

export const TypeId: unique symbol = Symbol.for("@urlsession/daemon/BackgroundSession")

/** A background session: a `URLSession` that can also hand over a task's stored events. */
export interface BackgroundURLSession extends URLSession.URLSession {
  readonly [TypeId]: {
    readonly acknowledge: (task: { readonly taskIdentifier: number }) => Effect.Effect<void, URLError.URLError>
  }
}

const isBackgroundSession = (session: URLSession.URLSession): session is BackgroundURLSession => TypeId in session

export const acknowledge = (
  task: { readonly taskIdentifier: number }
): Effect.Effect<void, URLError.URLError, URLSession.URLSession> =>
  Effect.flatMap(URLSession.URLSession, (session) =>
    // Another session keeps nothing to hand over.
    isBackgroundSession(session) ? session[TypeId].acknowledge(task) : Effect.void)

// An upload is a POST unless the request names another method, as in any session.
const uploadRequest = (request: URLRequest.URLRequest) =>
  request.method === "GET" ? URLRequest.setMethod(request, "POST") : request

const onlyFileUploads = "BackgroundSession: background sessions upload from a file only, as Apple's do: " +
  "pass { file: path } (bytes and streams cannot be handed to the daemon)"

export const make = (
  configuration: URLSessionConfiguration.URLSessionConfiguration,
  options: Options = {}
): Effect.Effect<
  URLSession.URLSession,
  URLError.URLError | URLSessionConfiguration.InvalidConfiguration,
  Scope.Scope
> =>
  Effect.gen(function*() {
    if (Option.isNone(configuration.identifier)) {
      return yield* Effect.dieMessage("BackgroundSession.layer: the configuration is not a background one")
    }
    const identifier = configuration.identifier.value
    yield* URLSessionConfiguration.validate(configuration)
    const delegate = options.delegate ?? {}
    const stateDirectory = yield* launcher.resolveStateDirectory(options.stateDirectory)
    const events = new SessionEvents()
    const tasks = new Map<number, AnyTask>()
    // Tasks whose file `download` takes: the delegate is not asked for them.
    const claimed = new Set<number>()
    // Tasks whose file the delegate took: acknowledged once they complete.
    const handedOver = new Set<number>()
    // Tasks whose file an earlier app took, which the daemon delivered again.
    const taken = new Set<number>()
    // Data tasks whose events come through their own `LoadData`.
    const loading = new Set<number>()
    // Tasks refused before the daemon saw them have identifiers of their own, which the
    // daemon's (from 1) never meet.
    let nextRefused = -1
    let invalidated = false
    const fibers = yield* FiberSet.make<void, never>()
    const ready = yield* Deferred.make<DaemonConnection>()
    const call: DaemonConnection["call"] = (f) =>
      Effect.flatMap(Deferred.await(ready), (connection) => connection.call(f))

    const acknowledgeTask = (taskIdentifier: number): Effect.Effect<void, URLError.URLError> =>
      taskIdentifier < 0 ? Effect.void : call((client) => client.Acknowledge({ identifier, taskIdentifier })).pipe(
        Effect.catchIf((error) => error._tag === "DaemonError" && error.reason === "UnknownTask", () => Effect.void),
        Effect.mapError(toURLError),
        Effect.zipRight(Effect.sync(() => {
          events.acknowledge(taskIdentifier)
          handedOver.delete(taskIdentifier)
          // Nothing of a completed task comes again once acknowledged: this session lets go
          // of it (the app may still hold its handle).
          if (tasks.get(taskIdentifier)?.isCompleted()) {
            tasks.delete(taskIdentifier)
            claimed.delete(taskIdentifier)
            taken.delete(taskIdentifier)
          }
        }))
      )

    const acknowledgeLater = (taskIdentifier: number) =>
      FiberSet.run(fibers, Effect.ignoreLogged(acknowledgeTask(taskIdentifier)))

    // The delegate has the file while it runs; its success is the hand-off, acknowledged
    // once the task's completion has come too (acknowledging removes the task's events).
    const askDelegate = (task: ProxyDownloadTask, location: string) =>
      delegate.didFinishDownloadingTo === undefined || claimed.has(task.taskIdentifier)
        ? Effect.void
        : Effect.exit(delegate.didFinishDownloadingTo(task, location)).pipe(
          Effect.flatMap((exit) =>
            Exit.isSuccess(exit)
              ? Effect.sync(() => handedOver.add(task.taskIdentifier))
              : Effect.logWarning(
                `BackgroundSession: didFinishDownloadingTo failed for task ${task.taskIdentifier}; ` +
                  `the file stays with urlsessiond and comes again at the next attach`,
                exit.cause
              )
          )
        )

    const proxyFor = (kind: Kind, taskIdentifier: number, request: URLRequest.URLRequest): AnyTask => {
      const calls = callsFor(taskIdentifier, kind)
      return kind === "download"
        ? new ProxyDownloadTask(taskIdentifier, request, calls)
        : makeDataTask(taskIdentifier, request, calls, kind === "data")
    }

    const adopt = (snapshot: Snapshot): AnyTask => {
      let task = tasks.get(snapshot.taskIdentifier)
      if (task === undefined) {
        task = proxyFor(snapshot.kind, snapshot.taskIdentifier, requestFromWire(snapshot.originalRequest))
        tasks.set(task.taskIdentifier, task)
      }
      task.update(snapshot)
      return task
    }

    const snapshotOf = (taskIdentifier: number): Effect.Effect<Option.Option<Snapshot>> =>
      call((client) => client.AllTasks({ identifier })).pipe(
        Effect.map((snapshots) => Option.fromNullable(snapshots.find((s) => s.taskIdentifier === taskIdentifier))),
        Effect.orElseSucceed(() => Option.none<Snapshot>())
      )

    // An event of a task this app has no handle on yet (made by an app that died): the
    // daemon's record says what it is; a task it forgot is known by its event alone.
    const taskFor = (event: URLSessionEvent.TaskEvent): Effect.Effect<AnyTask> => {
      const known = tasks.get(event.taskIdentifier)
      if (known !== undefined) return Effect.succeed(known)
      return Effect.map(snapshotOf(event.taskIdentifier), (snapshot) => {
        const found = tasks.get(event.taskIdentifier)
        if (found !== undefined) return found
        if (Option.isSome(snapshot)) return adopt(snapshot.value)
        const kind = event._tag === "DidFinishDownloadingTo" || event._tag === "DidWriteData" ? "download" : "upload"
        const task = proxyFor(kind, event.taskIdentifier, URLRequest.make("about:blank"))
        tasks.set(task.taskIdentifier, task)
        return task
      })
    }

    const deliver = (
      event: URLSessionEvent.URLSessionEvent,
      publish: (event: URLSessionEvent.URLSessionEvent) => void
    ): Effect.Effect<void> => {
      if (event._tag === "DidBecomeInvalidWithError" || event._tag === "DidFinishEventsForBackgroundURLSession") {
        return Effect.sync(() => {
          publish(event)
          if (event._tag === "DidBecomeInvalidWithError") events.close()
        })
      }
      if (loading.has(event.taskIdentifier)) return Effect.void
      return Effect.gen(function*() {
        const task = yield* taskFor(event)
        if (event._tag === "DidFinishDownloadingTo" && !fs.existsSync(event.location)) {
          // Handed over already: an app took the file and died before its acknowledgement
          // reached the daemon. The pair is not delivered again, only acknowledged.
          taken.add(task.taskIdentifier)
          return
        }
        if (taken.has(task.taskIdentifier)) {
          yield* task.observe(event)
          if (event._tag === "DidCompleteWithError") yield* acknowledgeLater(task.taskIdentifier)
          return
        }
        if (event._tag === "DidFinishDownloadingTo" && task instanceof ProxyDownloadTask) {
          yield* askDelegate(task, event.location)
        }
        publish(event)
        yield* task.observe(event)
        if (event._tag === "DidCompleteWithError" && handedOver.has(task.taskIdentifier)) {
          yield* acknowledgeLater(task.taskIdentifier)
        }
      })
    }

    const onItem = (item: Item): Effect.Effect<void> => {
      switch (item._tag) {
        case "Attached":
          return Effect.sync(() => item.tasks.forEach(adopt))
        case "Stored":
          return events.isNew(item.sequence)
            ? deliver(eventFromWire(item.event), (event) => events.store(item.sequence, event))
            : Effect.void
        case "CaughtUp":
          return Effect.sync(() => events.catchUp())
        case "Live":
          return deliver(eventFromWire(item.event), (event) => events.publish(event))
      }
    }

    // The tasks that cannot go on without the app: data tasks; at detach, every task's
    // waiters (the tasks themselves go on in the daemon).
    const onLost = (error: URLError.URLError) =>
      Effect.sync(() => {
        for (const task of tasks.values()) task.fail(error)
        events.close()
      })

    // A data task runs in the daemon while its `LoadData` stream does: a lost connection
    // ends it, and it fails with `BackgroundSessionWasDisconnected`, as an event too, so
    // that its subscribers and a `bytes` body end with it.
    const load = (task: ProxyTask<DataResult>) => {
      const failWith = (error: URLError.URLError) =>
        Effect.suspend(() => {
          if (task.isCompleted()) return Effect.void
          const completion = URLSessionEvent.DidCompleteWithError({
            taskIdentifier: task.taskIdentifier,
            error: Option.some(error)
          })
          events.publish(completion)
          return task.observe(completion)
        })
      return Effect.gen(function*() {
        loading.add(task.taskIdentifier)
        const connection = yield* Deferred.await(ready)
        const { client } = yield* connection.attached
        yield* client.LoadData({ identifier, taskIdentifier: task.taskIdentifier }).pipe(
          Stream.runForEach((wire) => {
            const event = eventFromWire(wire)
            if (event._tag === "DidBecomeInvalidWithError" || event._tag === "DidFinishEventsForBackgroundURLSession") {
              return Effect.void
            }
            events.publish(event)
            return task.observe(event)
          })
        )
        yield* failWith(URLError.make("BackgroundSessionWasDisconnected", {
          failingURL: task.originalRequest.url,
          message: "urlsessiond ended the data task without completing it"
        }))
      }).pipe(
        Effect.catchAll((error) => failWith(toURLError(error))),
        // Its result is in this app's memory only: nothing is left to hand over.
        Effect.ensuring(Effect.zipRight(
          Effect.sync(() => loading.delete(task.taskIdentifier)),
          Effect.ignore(acknowledgeTask(task.taskIdentifier))
        ))
      )
    }

    const updateFrom = (taskIdentifier: number) => (snapshot: Snapshot) =>
      Effect.sync(() => tasks.get(taskIdentifier)?.update(snapshot))

    // A call about a task that the daemon refuses fails that task.
    const failTask = (taskIdentifier: number) => (error: Parameters<typeof toURLError>[0]) =>
      Effect.sync(() => tasks.get(taskIdentifier)?.fail(toURLError(error)))

    function callsFor(taskIdentifier: number, kind: Kind): TaskCalls {
      const task = { identifier, taskIdentifier }
      const resumeCall = call((client) => client.Resume(task)).pipe(
        Effect.flatMap(updateFrom(taskIdentifier)),
        Effect.catchAll(failTask(taskIdentifier))
      )
      let loadStarted = false
      return {
        resume: kind === "data"
          ? Effect.suspend(() => {
            if (loadStarted) return resumeCall
            loadStarted = true
            return Effect.asVoid(FiberSet.run(fibers, load(tasks.get(taskIdentifier) as ProxyTask<DataResult>)))
          })
          : resumeCall,
        suspend: call((client) => client.Suspend(task)).pipe(
          Effect.flatMap(updateFrom(taskIdentifier)),
          Effect.catchAll(failTask(taskIdentifier))
        ),
        cancel: (byProducingResumeData) =>
          call((client) => client.Cancel({ ...task, byProducingResumeData })).pipe(
            Effect.tapError(failTask(taskIdentifier)),
            Effect.orElseSucceed(() => Option.none<ResumeData.ResumeData>())
          ),
        events: (isCompleted) => events.subscribeTask(taskIdentifier, isCompleted),
        setTaskDescription: (description) =>
          call((client) => client.SetTaskDescription({ ...task, taskDescription: Option.getOrNull(description) })).pipe(
            Effect.ignoreLogged
          ),
        snapshot: snapshotOf(taskIdentifier)
      }
    }

    // A task refused before it reached the daemon: it fails with `error` when resumed, as a
    // foreground task whose URL no protocol loads does.
    const refuse = <K extends Kind>(kind: K, request: URLRequest.URLRequest, error: URLError.URLError): TaskOf[K] => {
      const taskIdentifier = nextRefused--
      const complete = (error: URLError.URLError) =>
        deliver(URLSessionEvent.DidCompleteWithError({ taskIdentifier, error: Option.some(error) }), (event) =>
          events.publish(event))
      const calls: TaskCalls = {
        resume: complete(error),
        suspend: Effect.void,
        cancel: () =>
          Effect.as(
            complete(URLError.make("Cancelled", { failingURL: request.url })),
            Option.none<ResumeData.ResumeData>()
          ),
        events: (isCompleted) =>
          events.subscribeTask(taskIdentifier, isCompleted),
        setTaskDescription: () => Effect.void,
        snapshot: Effect.succeed(Option.none())
      }
      const task = kind === "download"
        ? new ProxyDownloadTask(taskIdentifier, request, calls)
        : makeDataTask(taskIdentifier, request, calls, kind === "data")
      tasks.set(taskIdentifier, task)
      return task as TaskOf[K]
    }

    const create = <K extends Kind>(
      kind: K,
      request: URLRequest.URLRequest,
      extra: { readonly uploadFile?: string; readonly resumeData?: ResumeData.ResumeData } = {}
    ): Effect.Effect<TaskOf[K], URLError.URLError> =>
      Effect.suspend(() => {
        if (invalidated) {
          // Apple raises an exception here: asking an invalidated session for a task is a
          // programming error, not a failure of the load.
          return Effect.dieMessage("URLSession: the session was invalidated; it cannot create tasks")
        }
        if (!isHTTP(request.url)) {
          return Effect.succeed(refuse(
            kind,
            request,
            URLError.make("UnsupportedURL", {
              failingURL: request.url,
              message: "background sessions load http and https URLs only"
            })
          ))
        }
        // Made once: a call cut by a lost connection goes again with it, and the daemon
        // returns the task the first one made.
        const requestId = randomUUID()
        return call((client) =>
          client.CreateTask({ identifier, requestId, kind, request: requestToWire(request), ...extra })
        ).pipe(
          Effect.mapBoth({ onFailure: toURLError, onSuccess: (snapshot) => adopt(snapshot) as TaskOf[K] })
        )
      })

    // A task the daemon could not make is still a task (the methods that make tasks cannot
    // fail): one that fails when resumed.
    const createOrRefuse = <K extends Kind>(kind: K, request: URLRequest.URLRequest, extra = {}) =>
      create(kind, request, extra).pipe(Effect.catchAll((error) => Effect.succeed(refuse(kind, request, error))))

    // As in a foreground session: the caller's options, then the configuration's `baseURL`,
    // resolved here so that the daemon is sent an absolute URL. A body stream cannot be
    // handed to the daemon.
    const requestOf = (
      urlOrRequest: URLSession.URLOrRequest,
      options: URLRequest.Options | undefined
    ): Effect.Effect<URLRequest.URLRequest> =>
      Effect.suspend(() => {
        const request = URLRequest.fromURLOrRequest(urlOrRequest, options)
        return Option.isSome(request.bodyStream)
          ? Effect.dieMessage(onlyFileUploads)
          : Effect.succeed(Option.match(configuration.baseURL, {
            onNone: () => request,
            onSome: (base) => URLRequest.resolvedAgainst(request, base)
          }))
      })

    const dataTask = (
      urlOrRequest: URLSession.URLOrRequest,
      options?: URLRequest.Options
    ): Effect.Effect<URLSessionDataTask> =>
      Effect.flatMap(requestOf(urlOrRequest, options), (request) => createOrRefuse("data", request))

    const uploadTask = (
      urlOrRequest: URLSession.URLOrRequest,
      body: UploadBody,
      options?: URLRequest.CommonOptions
    ): Effect.Effect<URLSessionUploadTask> =>
      body instanceof Uint8Array || !("file" in body)
        ? Effect.dieMessage(onlyFileUploads)
        // The daemon runs elsewhere: a relative path would name another file there.
        : Effect.flatMap(requestOf(urlOrRequest, options), (request) =>
          createOrRefuse("upload", uploadRequest(request), { uploadFile: path.resolve(body.file) }))

    const downloadTask = (
      urlOrRequest: URLSession.URLOrRequest,
      options?: URLRequest.Options
    ): Effect.Effect<URLSessionDownloadTask> =>
      Effect.flatMap(requestOf(urlOrRequest, options), (request) => createOrRefuse("download", request))

    const downloadTaskWithResumeData = (given: ResumeData.ResumeData) =>
      Effect.flatMap(ResumeData.validate(given), (resumeData) =>
        create(
          "download",
          URLRequest.setHeaders(URLRequest.make(resumeData.url), resumeData.headers),
          { resumeData }
        ))

    const resumeAndAwait = <A>(task: URLSessionTask<A>) =>
      Effect.uninterruptibleMask((restore) => Effect.zipRight(task.resume, restore(task.await)))

    // `progress` as a foreground session tells it: from the task's live progress events (the
    // daemon sends them while the app is attached), latest value first so a slow handler
    // never holds the events back, the complete value last, before the transfer's effect
    // returns.
    const withProgress = <A, E, R>(
      task: URLSessionTask<unknown>,
      report: ((progress: URLSession.TransferProgress) => Effect.Effect<void>) | undefined,
      body: Effect.Effect<A, E, R>
    ): Effect.Effect<A, E, R> => report === undefined ? body : reportProgress(body, task, report)

    // A data task acknowledges itself when its `LoadData` stream ends.
    const data = (urlOrRequest: URLSession.URLOrRequest, options?: URLRequest.Options) =>
      Effect.flatMap(dataTask(urlOrRequest, options), resumeAndAwait)

    // The response and body are in hand once `upload` returns: nothing is left to hand over.
    const upload = (urlOrRequest: URLSession.URLOrRequest, body: UploadBody, options?: URLSession.UploadOptions) =>
      Effect.flatMap(uploadTask(urlOrRequest, body, options), (task) =>
        Effect.tap(withProgress(task, options?.progress, resumeAndAwait(task)), () =>
          Effect.ignore(acknowledgeTask(task.taskIdentifier))))

    const download = (
      urlOrRequest: URLSession.URLOrRequest,
      downloadOptions?: URLSession.DownloadOptions
    ): Effect.Effect<DownloadResult, URLError.URLError, Scope.Scope> =>
      Effect.gen(function*() {
        if (downloadOptions?.resumable === true) {
          return yield* Effect.dieMessage(
            "URLSession.download: `resumable` is for foreground sessions. A background session's daemon already " +
              "carries a download on when the app stops waiting, and resumes it after failures: keep its " +
              "`downloadTask` and find it again in `allTasks`"
          )
        }
        const task = yield* downloadTask(urlOrRequest, downloadOptions)
        claimed.add(task.taskIdentifier)
        const result = yield* withProgress(task, downloadOptions?.progress, resumeAndAwait(task))
        const to = downloadOptions?.to
        // Without `to` the file is the caller's until its scope closes (Apple: "move it
        // before your handler returns"); then the daemon removes it.
        if (to === undefined) {
          yield* Effect.addFinalizer(() =>
            Effect.ignore(acknowledgeTask(task.taskIdentifier))
          )
          return result
        }
        yield* moveFile(result.location, to, result.response.url)
        yield* acknowledgeTask(task.taskIdentifier)
        return { location: to, response: result.response }
      })

    const bytes = (urlOrRequest: URLSession.URLOrRequest, options?: URLRequest.Options) =>
      Effect.flatMap(dataTask(urlOrRequest, options), (task) =>
        streamedResponse(task, events.open))

    const invalidate = (cancel: boolean) =>
      Effect.suspend(() => {
        invalidated = true
        return Effect.ignoreLogged(call((client) => client.Invalidate({ identifier, cancel })))
      })

    const allTasks = call((client) => client.AllTasks({ identifier })).pipe(
      Effect.map((snapshots) => snapshots.filter((snapshot) => snapshot.state !== "completed").map(adopt)),
      Effect.orElseSucceed(() => Array.from(tasks.values())),
      Effect.map((known) => known.filter((task) => !task.isCompleted() && task.taskIdentifier > 0))
    )

    const connection = yield* attach({
      stateDirectory,
      identifier,
      configuration: configurationToWire(configuration),
      onItem,
      onLost
    })
    yield* Deferred.succeed(ready, connection)

    const session: BackgroundURLSession = {
      configuration,
      dataTask,
      data,
      uploadTask,
      uploadTaskWithStreamedRequest: () => Effect.dieMessage(onlyFileUploads),
      upload,
      downloadTask,
      downloadTaskWithResumeData,
      download,
      bytes,
      finishTasksAndInvalidate: invalidate(false),
      invalidateAndCancel: invalidate(true),
      allTasks,
      events: events.subscribe,
      [TypeId]: { acknowledge: (task) => acknowledgeTask(task.taskIdentifier) }
    }
    return session
  })

export const layer = (
  configuration: URLSessionConfiguration.URLSessionConfiguration,
  options?: Options
): Layer.Layer<URLSession.URLSession, URLError.URLError | URLSessionConfiguration.InvalidConfiguration> =>
  Layer.scoped(URLSession.URLSession, make(configuration, options))
