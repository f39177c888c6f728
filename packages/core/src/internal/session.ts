import type * as Clock from "effect/Clock"
import * as Deferred from "effect/Deferred"
import * as Effect from "effect/Effect"
import * as Exit from "effect/Exit"
import * as FiberRef from "effect/FiberRef"
import * as FiberSet from "effect/FiberSet"
import * as Mailbox from "effect/Mailbox"
import * as Option from "effect/Option"
import type * as Scope from "effect/Scope"
import type { DownloadStorage } from "../DownloadStorage.js"
import * as ResumeData from "../ResumeData.js"
import * as URLError from "../URLError.js"
import type { URLProtocol } from "../URLProtocol.js"
import * as URLRequest from "../URLRequest.js"
import type { URLResponse } from "../URLResponse.js"
import type { DownloadOptions, StreamedResponse, UploadOptions, URLSession } from "../URLSession.js"
import type { URLSessionConfiguration } from "../URLSessionConfiguration.js"
import type { URLSessionDelegate } from "../URLSessionDelegate.js"
import * as URLSessionEvent from "../URLSessionEvent.js"
import type {
  DataResult,
  DownloadResult,
  UploadBody as UploadBody$,
  URLSessionDownloadTask,
  URLSessionTask
} from "../URLSessionTask.js"
import { Admission, tasksPerConnection } from "./admission.js"
import { dataProtocol } from "./dataProtocol.js"
import * as DownloadFile from "./downloadFile.js"
import { DownloadTask } from "./downloadTask.js"
import { EventHub } from "./eventHub.js"
import * as ResumableDownload from "./resumableDownload.js"
import { resumeFrom } from "./resumeFrom.js"
import * as Task from "./task.js"
import * as TransferProgress from "./transferProgress.js"
import * as UploadBody from "./uploadBody.js"
import { Watchdog } from "./watchdog.js"

// How many body chunks `bytes` buffers ahead of its consumer before the transfer waits.
const streamedChunksAhead = 16

export const make = (
  configuration: URLSessionConfiguration,
  protocols: ReadonlyArray<URLProtocol>,
  delegate: URLSessionDelegate,
  storage: DownloadStorage | undefined,
  uploadFiles: UploadBody.UploadFiles | undefined
): Effect.Effect<URLSession, never, Scope.Scope> =>
  Effect.gen(function*() {
    const sessionEvents = new EventHub<URLSessionEvent.URLSessionEvent>(
      URLSessionEvent.isBackpressured,
      URLSessionEvent.coalescingKey,
      URLSessionEvent.coalesce
    )
    const fibers = yield* FiberSet.make<void, never>()
    const tasks = new Map<number, Task.TaskHandle<unknown>>()
    let nextTaskIdentifier = 1
    let invalidated = false
    let announcedInvalid = false

    // A watchdog sleeps on one clock: tasks running on another (a test case's TestClock)
    // get their own.
    const watchdogs = new WeakMap<Clock.Clock, Watchdog>()
    // The watchdogs' fibers end with the session's scope.
    const fork = (effect: Effect.Effect<void>) => FiberSet.run(fibers, Effect.interruptible(effect))
    const environment: Task.TaskEnvironment = {
      configuration,
      // The caller's protocols first, then the platform's, then the platform-free ones.
      protocols: [...configuration.protocolClasses, ...protocols, dataProtocol],
      delegate,
      sessionEvents,
      // A task may be resumed from an uninterruptible region (`data` resumes under a mask so
      // that an interruption cannot fall between resume and await); its fiber must still be
      // interruptible, or cancel and timeouts could not stop it. A task's fiber needs no
      // fiber set: the session keeps every unfinished task in `tasks` and cancels them all
      // when it is invalidated or its scope closes, and a fiber set costs a small GET dearly
      // (test/bench/README.md).
      fork: (effect) => Effect.forkDaemon(Effect.interruptible(effect)),
      onFinished: (taskIdentifier) => tasks.delete(taskIdentifier),
      isInvalidated: () => invalidated,
      becomeDownload: (adopted) => makeDownloadTask(adopted.originalRequest, Option.none(), adopted),
      uploadFiles,
      admission: new Admission(configuration.httpMaximumConnectionsPerHost * tasksPerConnection),
      watchdog: (clock) => {
        let watchdog = watchdogs.get(clock)
        if (watchdog === undefined) {
          watchdog = new Watchdog(fork)
          watchdogs.set(clock, watchdog)
        }
        return watchdog
      }
    }

    // Registers the task `build` makes with the next identifier.
    const registerTask = <T extends Task.TaskHandle<unknown>>(
      adopted: Task.AdoptedLoad | undefined,
      build: (taskIdentifier: number) => T
    ): Effect.Effect<T> =>
      Effect.suspend(() => {
        // A data task becoming a download is a task the session already runs, not a new one.
        if (invalidated && adopted === undefined) {
          // Apple raises an exception here: asking an invalidated session for a task is a
          // programming error, not a failure of the load.
          return Effect.dieMessage("URLSession: the session was invalidated; it cannot create tasks")
        }
        const task = build(nextTaskIdentifier++)
        tasks.set(task.taskIdentifier, task)
        return Effect.succeed(task)
      })

    // Every request a session method is given: the caller's options applied, then a relative
    // URL resolved against the configuration's `baseURL`. It runs inside the method's effect,
    // so that a body `JSON.stringify` cannot encode is a defect there, not a throw at the call.
    const requestOf = (
      urlOrRequest: string | URL | URLRequest.URLRequest,
      options: URLRequest.Options | undefined
    ): URLRequest.URLRequest => {
      const request = URLRequest.fromURLOrRequest(urlOrRequest, options)
      return Option.isSome(configuration.baseURL)
        ? URLRequest.resolvedAgainst(request, configuration.baseURL.value)
        : request
    }

    const createTask = <A>(
      request: URLRequest.URLRequest,
      delivery: (context: Task.TaskContext) => Task.Delivery<A>,
      options: Task.TaskOptions = {}
    ): Effect.Effect<Task.TaskHandle<A>> =>
      registerTask(
        options.adopted,
        (taskIdentifier) => Task.make(environment, taskIdentifier, request, delivery, options)
      )

    const announceInvalid = Effect.suspend(() => {
      if (announcedInvalid) return Effect.void
      announcedInvalid = true
      return Effect.zipRight(
        sessionEvents.publish(URLSessionEvent.DidBecomeInvalidWithError({ error: Option.none() })),
        sessionEvents.close()
      )
    })

    // Until no task is left: a data task that becomes a download while the session winds
    // down adds a task.
    const settleTasks = (stop: (task: Task.TaskHandle<unknown>) => boolean): Effect.Effect<void> =>
      Effect.suspend(() => {
        const live = Array.from(tasks.values())
        if (live.length === 0) return Effect.void
        return Effect.forEach(live, (task) => stop(task) ? task.cancel : Effect.void, { discard: true }).pipe(
          Effect.zipRight(Effect.forEach(live, (task) => task.completion, { discard: true })),
          Effect.zipRight(settleTasks(stop))
        )
      })

    // Every task completes with `Cancelled` before the session's last event.
    const invalidateAndCancel = Effect.suspend(() => {
      invalidated = true
      return Effect.zipRight(settleTasks(() => true), announceInvalid)
    })

    // Running tasks finish; tasks never resumed can no longer start, so they are cancelled.
    const finishTasksAndInvalidate = Effect.suspend(() => {
      invalidated = true
      return Effect.zipRight(settleTasks((task) => !task.isStarted()), announceInvalid)
    })

    // Files of completed downloads that nobody claimed (moved) go with the session.
    const handedOver = new Set<string>()

    // Closing the session's scope is `invalidateAndCancel`.
    yield* Effect.addFinalizer(() =>
      Effect.zipRight(
        invalidateAndCancel,
        storage === undefined
          ? Effect.void
          : Effect.forEach(handedOver, (location) => Effect.ignore(storage.fileSystem.remove(location)), {
            discard: true
          })
      )
    )

    // A session made without download storage (e.g. a scripted one) cannot download.
    const noStorage = Effect.dieMessage("URLSession: this session has no file system to download to")

    const makeDownloadTask = (
      request: URLRequest.URLRequest,
      resume: Option.Option<ResumeData.ResumeData>,
      adopted?: Task.AdoptedLoad
    ): Effect.Effect<URLSessionDownloadTask> =>
      Effect.suspend(() => {
        if (storage === undefined) {
          return noStorage
        }
        const onHandedOver = (location: string) => void handedOver.add(location)
        return registerTask(
          adopted,
          (taskIdentifier) =>
            new DownloadTask(environment, taskIdentifier, request, storage, resume, onHandedOver, { adopted })
        )
      })

    const downloadTask = (urlOrRequest: string | URL | URLRequest.URLRequest, options?: URLRequest.Options) =>
      Effect.suspend(() => makeDownloadTask(requestOf(urlOrRequest, options), Option.none()))

    // The resume data is checked again, whatever made it: a plain object type-checks as
    // `ResumeData`, and its partial file's name, byte count and URL decide what is truncated,
    // what range is asked for and what is loaded. The partial file must be the session's own
    // (a regular file, not a link to one elsewhere) and hold at least the recorded bytes;
    // extra bytes past them are not trusted (nothing says they were ever complete) and are cut
    // off.
    const downloadTaskWithResumeData = (
      given: ResumeData.ResumeData
    ): Effect.Effect<URLSessionDownloadTask, URLError.URLError> =>
      Effect.gen(function*() {
        if (storage === undefined) {
          return yield* noStorage
        }
        const resumeData = yield* ResumeData.validate(given)
        const partial = `${storage.directory}/${resumeData.partialFile}`
        const unusable = (why: string, cause?: unknown) =>
          URLError.make("CannotOpenFile", {
            failingURL: resumeData.url,
            message: `cannot resume from the partial file ${partial}: ${why}`,
            cause
          })
        const size = yield* Effect.scoped(
          Effect.flatMap(storage.openPartialFile(partial, "open"), (file) =>
            file.size > resumeData.bytesReceived
              ? Effect.as(file.truncate(resumeData.bytesReceived), file.size)
              : Effect.succeed(file.size))
        ).pipe(
          Effect.mapError((cause) =>
            unusable(
              cause._tag === "SystemError" && cause.description !== undefined
                ? cause.description
                : "it cannot be opened",
              cause
            )
          )
        )
        if (size < resumeData.bytesReceived) {
          return yield* Effect.fail(unusable(`it holds ${size} bytes, not the ${resumeData.bytesReceived} recorded`))
        }
        const request = URLRequest.setHeaders(URLRequest.make(resumeData.url), resumeData.headers)
        return yield* makeDownloadTask(request, Option.some(resumeData))
      })

    const download = (
      urlOrRequest: string | URL | URLRequest.URLRequest,
      options?: DownloadOptions
    ): Effect.Effect<DownloadResult, URLError.URLError, Scope.Scope> =>
      Effect.gen(function*() {
        const request = requestOf(urlOrRequest, options)
        const resume = Option.filter(
          yield* FiberRef.get(resumeFrom),
          (resumeData) => resumeData.originalURL === request.url
        )
        if (storage === undefined) return yield* noStorage
        const fileSystem = storage.fileSystem
        // The request is already made: `downloadTask` would apply the options and the base again.
        const freshTask = makeDownloadTask(request, Option.none())
        const result = options?.resumable === true
          ? yield* ResumableDownload.run({
            storage,
            url: request.url,
            to: options.to ?? (yield* Effect.dieMessage("URLSession.download: `resumable` needs `to`")),
            inProcess: resume,
            start: { fresh: freshTask, resuming: downloadTaskWithResumeData },
            progress: options.progress
          })
          : yield* Effect.gen(function*() {
            // Resume data whose partial file is gone is no reason to fail: start again.
            const task = yield* Option.match(resume, {
              onNone: () => freshTask,
              onSome: (resumeData) =>
                downloadTaskWithResumeData(resumeData).pipe(
                  Effect.catchAll(() => freshTask)
                )
            })
            // The file belongs to the caller's scope from the moment it exists: whatever
            // happens next (an interruption, a failed move), it is removed when the scope closes.
            return yield* TransferProgress.during(
              task,
              options?.progress,
              Effect.uninterruptibleMask((restore) =>
                Effect.gen(function*() {
                  yield* task.resume
                  const result = yield* restore(task.await)
                  yield* Effect.addFinalizer(() => Effect.ignore(fileSystem.remove(result.location)))
                  return result
                })
              )
            )
          })
        // Apple: the file exists while the code that received it runs: here, the scope.
        if (options?.to === undefined) return result
        yield* DownloadFile.moveAtomically(fileSystem, result.location, options.to).pipe(
          Effect.mapError((cause) =>
            URLError.make("CannotMoveFile", {
              failingURL: result.response.url,
              message: `cannot move the download to ${options.to}`,
              cause
            })
          )
        )
        handedOver.delete(result.location)
        return { location: options.to, response: result.response }
      })

    const dataTask = (urlOrRequest: string | URL | URLRequest.URLRequest, options?: URLRequest.Options) =>
      Effect.suspend(() => createTask<DataResult>(requestOf(urlOrRequest, options), collectingDelivery))

    const data = (urlOrRequest: string | URL | URLRequest.URLRequest, options?: URLRequest.Options) =>
      Task.resumeAndAwait(dataTask(urlOrRequest, options))

    // An upload is a POST unless the request names another method.
    const uploadRequest = (
      urlOrRequest: string | URL | URLRequest.URLRequest,
      options: URLRequest.CommonOptions | undefined
    ) => {
      const request = requestOf(urlOrRequest, options)
      return request.method === "GET" ? URLRequest.setMethod(request, "POST") : request
    }

    const uploadTask = (
      urlOrRequest: string | URL | URLRequest.URLRequest,
      body: UploadBody$,
      options?: URLRequest.CommonOptions
    ) =>
      Effect.suspend(() =>
        createTask<DataResult>(uploadRequest(urlOrRequest, options), collectingUploadDelivery, {
          upload: UploadBody.fromBody(body)
        })
      )

    const uploadTaskWithStreamedRequest = (
      urlOrRequest: string | URL | URLRequest.URLRequest,
      options?: URLRequest.CommonOptions
    ) =>
      Effect.suspend(() =>
        createTask<DataResult>(uploadRequest(urlOrRequest, options), collectingUploadDelivery, {
          upload: { _tag: "Stream", stream: Option.none() }
        })
      )

    const upload = (
      urlOrRequest: string | URL | URLRequest.URLRequest,
      body: UploadBody$,
      options?: UploadOptions
    ) =>
      options?.progress === undefined
        ? Task.resumeAndAwait(uploadTask(urlOrRequest, body, options))
        : Effect.flatMap(uploadTask(urlOrRequest, body, options), (task) =>
          TransferProgress.during(
            task,
            options.progress,
            Task.resumeAndAwait(Effect.succeed(task))
          ))

    const bytes = (
      urlOrRequest: string | URL | URLRequest.URLRequest,
      options?: URLRequest.Options
    ): Effect.Effect<StreamedResponse, URLError.URLError, Scope.Scope> =>
      Effect.gen(function*() {
        const head = yield* Deferred.make<URLResponse, URLError.URLError>()
        const body = yield* Mailbox.make<Uint8Array, URLError.URLError>(streamedChunksAhead)
        const task = yield* createTask<void>(requestOf(urlOrRequest, options), () => ({
          reportsData: true,
          onResponse: (response) => Deferred.succeed(head, response),
          onData: (chunk) => body.offer(chunk),
          finish: () => Effect.void,
          onFinish: (exit) =>
            Effect.zipRight(
              Exit.isFailure(exit) ? Deferred.failCause(head, exit.cause) : Effect.void,
              body.done(exit)
            )
        }))
        yield* Effect.addFinalizer(() => task.cancel)
        yield* task.resume
        const response = yield* Effect.onInterrupt(Deferred.await(head), () => task.cancel)
        return { response, body: Mailbox.toStream(body) }
      })

    return {
      configuration,
      dataTask,
      data,
      uploadTask,
      uploadTaskWithStreamedRequest,
      upload,
      bytes,
      downloadTask,
      downloadTaskWithResumeData,
      download,
      finishTasksAndInvalidate,
      invalidateAndCancel,
      allTasks: Effect.sync(() =>
        Array.from(tasks.values()).filter((task) => task.isStarted()) as ReadonlyArray<URLSessionTask>
      ),
      events: sessionEvents.subscribe
    }
  })

const collectingDelivery = (): Task.Delivery<DataResult> => {
  const chunks: Array<Uint8Array> = []
  return {
    reportsData: true,
    mayBecomeDownload: true,
    onResponse: () => Effect.void,
    onData: (chunk) => {
      chunks.push(chunk)
      return undefined
    },
    finish: (response) => Effect.succeed({ data: concat(chunks), response })
  }
}

// An upload task collects its response as a data task does; it never becomes a download.
const collectingUploadDelivery = (): Task.Delivery<DataResult> => ({
  ...collectingDelivery(),
  mayBecomeDownload: false
})

/** A body received in chunks, as one array (the chunk itself when there is one). */
export const concat = (chunks: ReadonlyArray<Uint8Array>): Uint8Array => {
  if (chunks.length === 1) return chunks[0]!
  let length = 0
  for (const chunk of chunks) length += chunk.byteLength
  const data = new Uint8Array(length)
  let offset = 0
  for (const chunk of chunks) {
    data.set(chunk, offset)
    offset += chunk.byteLength
  }
  return data
}
