import * as Cause from "effect/Cause"
import * as Clock from "effect/Clock"
import * as Context from "effect/Context"
import * as DefaultServices from "effect/DefaultServices"
import * as Deferred from "effect/Deferred"
import * as Duration from "effect/Duration"
import * as Effect from "effect/Effect"
import * as Exit from "effect/Exit"
import * as Fiber from "effect/Fiber"
import * as FiberRef from "effect/FiberRef"
import * as FiberId from "effect/FiberId"
import * as Option from "effect/Option"
import * as Scope from "effect/Scope"
import * as Stream from "effect/Stream"
import * as URLError from "../URLError.js"
import type { Loading, URLProtocol } from "../URLProtocol.js"
import * as URLRequest from "../URLRequest.js"
import { type HTTPURLResponse, isHTTPURLResponse, type URLResponse } from "../URLResponse.js"
import type { URLSessionConfiguration } from "../URLSessionConfiguration.js"
import type { URLSessionDelegate } from "../URLSessionDelegate.js"
import * as URLSessionEvent from "../URLSessionEvent.js"
import type { State, URLSessionDownloadTask, URLSessionTask } from "../URLSessionTask.js"
import { EventHub } from "./eventHub.js"
import * as Redirect from "./redirect.js"
import * as RequestRules from "./requestRules.js"
import type * as Watchdog from "./watchdog.js"
import * as UploadBody from "./uploadBody.js"

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
  /** Forks a task's fiber; the session cancels its unfinished tasks when it ends. */
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

export const make = <A>(
  environment: TaskEnvironment,
  taskIdentifier: number,
  originalRequest: URLRequest.URLRequest,
  makeDelivery: (context: TaskContext) => Delivery<A>,
  options: TaskOptions = {}
): TaskHandle<A> => {
  const { adopted, upload } = options
  const events = new EventHub<URLSessionEvent.TaskEvent>(
    URLSessionEvent.isBackpressured,
    URLSessionEvent.coalescingKey,
    URLSessionEvent.coalesce
  )
  // Closed while the caller has the task suspended; `gateOpen` mirrors it, so a running
  // task passes without an Effect.
  const gate = Effect.unsafeMakeLatch(true)
  let gateOpen = true
  const whenResumed = <A, E, R>(effect: Effect.Effect<A, E, R>) =>
    Effect.suspend(() => gateOpen ? effect : gate.whenOpen(effect))
  const done = Deferred.unsafeMake<A, URLError.URLError>(FiberId.none)
  let state: State = "suspended"
  // Apple's suspend count: a task is created suspended once; every `suspend` needs its own
  // `resume`, and a `resume` with nothing to undo does nothing.
  let suspendCount = 1
  let started = false
  let completed = false
  let finished: Option.Option<A> = Option.none()
  // While the task waits for a consumer (backpressure), the network is not idle: it is us.
  let awaitingConsumer = false
  // Whether the caller has suspended the task since it started.
  let wasSuspended = false
  let fiber: Fiber.RuntimeFiber<void> | undefined
  let currentRequest = originalRequest
  let response: Option.Option<URLResponse> = Option.none()
  let received = 0
  let expected = -1
  let sent = 0
  let expectedToSend = 0
  // A stream body is sent once; sending it again needs a new one from the delegate. A file's
  // stream reads the file afresh each time it runs.
  let lastSentStream: unknown = undefined
  let reusableStream: unknown = undefined
  let lastActivity = 0
  // Set once the task has handed its load over to the download task it became.
  let becameDownload = false
  // Whether anybody asked for the task's events (see `run`).
  let eventsAsked = adopted !== undefined

  const forwardTo = adopted?.forwardTo
  const observed = () => events.active || environment.sessionEvents.active || forwardTo?.active === true
  const emit = (event: URLSessionEvent.TaskEvent) =>
    forwardTo === undefined
      ? Effect.zipRight(events.publish(event), environment.sessionEvents.publish(event))
      : Effect.zipRight(
        Effect.zipRight(events.publish(event), forwardTo.publish(event)),
        environment.sessionEvents.publish(event)
      )
  const delivery = makeDelivery({
    taskIdentifier,
    observed,
    emit,
    currentURL: () => currentRequest.url,
    originalURL: originalRequest.url
  })
  const failure = (code: URLError.Code, message?: string, cause?: unknown) =>
    URLError.make(code, { failingURL: currentRequest.url, message, cause })

  const selectProtocol = (url: URL) =>
    Option.match(Option.fromNullable(environment.protocols.find((protocol) => protocol.canInit(url))), {
      onNone: () => Effect.fail(failure("UnsupportedURL", `No protocol loads "${url.protocol}" URLs`)),
      onSome: Effect.succeed
    })

  // A chunk into the delivery: `undefined` when it was taken at once. A suspended task holds
  // it at the gate until resumed.
  const deliver = (clock: Clock.Clock) => (chunk: Uint8Array): Effect.Effect<void, URLError.URLError> | undefined =>
    gateOpen
      ? deliverNow(clock, chunk)
      : gate.whenOpen(Effect.suspend(() => deliverNow(clock, chunk) ?? Effect.void))

  const deliverNow = (clock: Clock.Clock, chunk: Uint8Array): Effect.Effect<void, URLError.URLError> | undefined => {
    received += chunk.byteLength
    const reported = delivery.reportsData && observed()
    const delivered = reported
      ? Effect.zipRight(emit(URLSessionEvent.DidReceiveData({ taskIdentifier, data: chunk })), Effect.suspend(() => delivery.onData(chunk) ?? Effect.void))
      : delivery.onData(chunk)
    if (delivered === undefined) {
      lastActivity = clock.unsafeCurrentTimeMillis()
      return undefined
    }
    // A failure or an interruption here ends the task, so the flag needs no finalizer.
    awaitingConsumer = true
    return Effect.map(delivered, () => {
      awaitingConsumer = false
      lastActivity = clock.unsafeCurrentTimeMillis()
    })
  }

  // One request/response exchange. A followed redirect ends the hop (its scope closes, which
  // releases the redirect's connection) and names the next request.
  const loadHop = (
    request: URLRequest.URLRequest,
    redirects: number,
    clock: Clock.Clock,
    hopScope: Scope.CloseableScope
  ): Effect.Effect<Hop<A>, URLError.URLError, Scope.Scope> =>
    Effect.gen(function*() {
      const url = yield* parseURL(request.url)
      const prepared = yield* RequestRules.prepare(yield* freshBodyStream(request), environment.configuration, {
        crossOrigin: redirects > 0 && url.origin !== originOf(originalRequest.url)
      })
      currentRequest = delivery.prepare === undefined ? prepared : delivery.prepare(prepared)
      sent = 0
      expectedToSend = bodyLength(currentRequest)
      const protocol = yield* selectProtocol(url)
      const loading = yield* protocol.startLoading(currentRequest, url, {
        whenResumed,
        didSendBodyData: (bytes) => {
          lastActivity = clock.unsafeCurrentTimeMillis()
          sent += bytes
          // Progress events coalesce and never wait, so they can be published from here.
          if (observed()) {
            Effect.runSync(emit(URLSessionEvent.DidSendBodyData({
              taskIdentifier,
              bytesSent: bytes,
              totalBytesSent: sent,
              totalBytesExpectedToSend: expectedToSend
            })))
          }
        }
      })
      lastActivity = clock.unsafeCurrentTimeMillis()
      response = Option.some(loading.response)
      if (isHTTPURLResponse(loading.response)) {
        const next = yield* followRedirect(url, loading.response, redirects)
        if (Option.isSome(next)) return { _tag: "Redirect", request: next.value } as const
      }
      if (delivery.examine !== undefined && (yield* delivery.examine(loading.response)) === "restart") {
        return { _tag: "Restart", request } as const
      }
      expected = loading.response.expectedContentLength
      if (observed()) yield* emit(URLSessionEvent.DidReceiveResponse({ taskIdentifier, response: loading.response }))
      const disposition = environment.delegate.didReceiveResponse === undefined
        ? "allow"
        : yield* environment.delegate.didReceiveResponse(handle, loading.response)
      if (disposition === "cancel") {
        return yield* Effect.fail(failure("Cancelled", "The delegate cancelled the task on its response."))
      }
      if (disposition === "becomeDownload" && delivery.mayBecomeDownload === true) {
        return yield* handOver(loading, hopScope)
      }
      return yield* receiveBody(request, loading, clock)
    })

  const needNewBodyStream = Effect.suspend(() =>
    environment.delegate.needNewBodyStream === undefined
      ? Effect.succeedNone
      : environment.delegate.needNewBodyStream(handle)
  )

  // A stream body already sent (a 307 or 308 sends the body again) is replaced by the
  // delegate's new stream.
  const freshBodyStream = (request: URLRequest.URLRequest) =>
    Effect.map(
      Option.isSome(request.bodyStream) && request.bodyStream.value === lastSentStream &&
        lastSentStream !== reusableStream
        ? UploadBody.renewStream(request, needNewBodyStream)
        : Effect.succeed(request),
      (fresh) => {
        lastSentStream = Option.getOrUndefined(fresh.bodyStream)
        return fresh
      }
    )

  // Apple: "the delegate receives no further callbacks from the data task, and begins
  // receiving callbacks from the download task". The hand-over cannot be cut in two: a
  // download task made and never resumed would hold the connection forever.
  const handOver = (loading: Loading, hopScope: Scope.CloseableScope) =>
    Effect.uninterruptible(Effect.gen(function*() {
      const downloadTask = yield* environment.becomeDownload({
        originalRequest,
        request: currentRequest,
        loading,
        scope: hopScope,
        forwardTo: events
      })
      becameDownload = true
      yield* emit(URLSessionEvent.DidBecomeDownloadTask({ taskIdentifier, downloadTask }))
      yield* downloadTask.resume
      return { _tag: "BecameDownload", taskIdentifier: downloadTask.taskIdentifier } as const
    }))

  // The body of the final response, into the delivery.
  const receiveBody = (
    request: URLRequest.URLRequest,
    loading: Loading,
    clock: Clock.Clock
  ): Effect.Effect<Hop<A>, URLError.URLError> =>
    Effect.gen(function*() {
      const finalResponse = loading.response
      yield* delivery.onResponse(finalResponse)
      const bodyOutcome = yield* Effect.either(
        loading.pull === undefined
          ? Stream.runForEach(loading.body, (chunk) => deliver(clock)(chunk) ?? Effect.void)
          : drain(loading.pull, deliver(clock))
      )
      if (bodyOutcome._tag === "Left") {
        awaitingConsumer = false
        // Apple: a download suspended long enough for the server to close the connection goes
        // on from its resume data when resumed.
        const goOn = bodyOutcome.left.code === "NetworkConnectionLost" && wasSuspended &&
          delivery.continueAfterConnectionLoss !== undefined &&
          (yield* delivery.continueAfterConnectionLoss())
        if (goOn) return { _tag: "Restart", request } as const
        return yield* Effect.fail(bodyOutcome.left)
      }
      // The body is complete: from here the task succeeds, whatever arrives (a cancel, a
      // timeout) before its completion is announced. Finishing (closing, flushing a file) is
      // the task's own work, not network idleness.
      awaitingConsumer = true
      const value = yield* delivery.finish(finalResponse)
      awaitingConsumer = false
      finished = Option.some(value)
      return { _tag: "Done", value } as const
    })

  const followRedirect = (url: URL, redirectResponse: HTTPURLResponse, redirects: number) =>
    Option.match(Redirect.redirectRequest(currentRequest, url, redirectResponse), {
      onNone: () => Effect.succeedNone,
      onSome: (next) => {
        if (Redirect.isDowngrade(url, next.url) && !environment.configuration.allowsInsecureRedirects) {
          return Effect.fail(Redirect.downgradeRefused(next.url))
        }
        if (redirects >= Redirect.maximumRedirects) {
          return Effect.fail(URLError.make("HTTPTooManyRedirects", {
            failingURL: next.url.href,
            message: `More than ${Redirect.maximumRedirects} redirects`
          }))
        }
        const announce = observed()
          ? emit(URLSessionEvent.WillPerformHTTPRedirection({
            taskIdentifier,
            response: redirectResponse,
            newRequest: next.request
          }))
          : Effect.void
        const decide = environment.delegate.willPerformHTTPRedirection === undefined
          ? Effect.succeed(Option.some(next.request))
          : environment.delegate.willPerformHTTPRedirection(handle, redirectResponse, next.request).pipe(
            Effect.flatMap(Option.match({
              onNone: () => Effect.succeedNone,
              onSome: (chosen) =>
                Effect.asSome(Redirect.checkChosen(
                  currentRequest,
                  url,
                  chosen,
                  environment.configuration.allowsInsecureRedirects
                ))
            }))
          )
        return Effect.zipRight(announce, decide)
      }
    })

  // A download task made from a data task starts with the data task's response and body;
  // the connection is its own from here and goes when this hop ends.
  const adoptedHop = (load: AdoptedLoad, clock: Clock.Clock) =>
    Effect.gen(function*() {
      yield* Effect.addFinalizer((exit) => Scope.close(load.scope, exit))
      currentRequest = delivery.prepare === undefined ? load.request : delivery.prepare(load.request)
      response = Option.some(load.loading.response)
      expected = load.loading.response.expectedContentLength
      lastActivity = clock.unsafeCurrentTimeMillis()
      return yield* receiveBody(load.request, load.loading, clock)
    })

  // The scope of the hop under way: closed when the hop ends (by `complete` if it fails),
  // unless the hop handed its load over.
  let hopScope: Scope.CloseableScope | undefined

  const hopIn = (hop: (scope: Scope.CloseableScope) => Effect.Effect<Hop<A>, URLError.URLError, Scope.Scope>) =>
    Effect.flatMap(Scope.make(), (scope) => {
      hopScope = scope
      return Effect.flatMap(withScope(scope, hop(scope)), (result) => {
        hopScope = undefined
        return becameDownload ? Effect.succeed(result) : Effect.as(Scope.close(scope, Exit.void), result)
      })
    })

  const withUploadBody = (request: URLRequest.URLRequest) =>
    upload === undefined
      ? Effect.succeed(request)
      : Effect.map(
        UploadBody.attach(upload, request, { files: environment.uploadFiles, needNewBodyStream }),
        (attached) => {
          if (upload._tag === "File") reusableStream = Option.getOrUndefined(attached.bodyStream)
          return attached
        }
      )

  const load = (clock: Clock.Clock) => Effect.gen(function*() {
    let request = adopted === undefined ? yield* withUploadBody(originalRequest) : adopted.request
    // The adopted load is the first hop only: a restart (after the connection broke while
    // suspended) sends a new request from resume data.
    let adoptedPending = adopted !== undefined
    for (let redirects = 0;; redirects++) {
      const adoptedNow = adoptedPending
      adoptedPending = false
      const hop = adoptedNow
        ? yield* Effect.scoped(adoptedHop(adopted!, clock))
        : yield* hopIn((scope) => loadHop(request, redirects, clock, scope))
      if (hop._tag === "Done") return hop.value
      if (hop._tag === "BecameDownload") {
        return yield* Effect.fail(
          failure("Cancelled", `The delegate turned this data task into download task ${hop.taskIdentifier}.`)
        )
      }
      request = hop.request
      if (hop._tag === "Restart") redirects--
    }
  })

  // Apple's request timeout is an idle timer: any byte re-arms it. While the caller keeps
  // the task suspended, or a consumer holds the task back, nothing is expected to arrive, so
  // the timer does not run (and `resume` re-arms it). The resource timeout bounds the whole
  // task. The session's watchdog keeps both deadlines and, when one passes, sets the reason
  // and interrupts the task.
  let timedOut: string | undefined

  let watched: { readonly watchdog: Watchdog.Watchdog; readonly entry: Watchdog.Watched } | undefined

  // Watches the task (running as `self`) on the session's watchdog: an Effect only when the
  // watchdog must be started or woken earlier.
  const watchTimeouts = (clock: Clock.Clock, self: Fiber.RuntimeFiber<unknown, unknown>): Effect.Effect<void> | undefined => {
    const idle = Option.getOrElse(currentRequest.timeoutInterval, () => environment.configuration.timeoutIntervalForRequest)
    const resource = environment.configuration.timeoutIntervalForResource
    if (!Duration.isFinite(idle) && !Duration.isFinite(resource)) return undefined
    const idleMillis = Duration.isFinite(idle) ? Duration.toMillis(idle) : Infinity
    const now = clock.unsafeCurrentTimeMillis()
    const resourceDeadline = Duration.isFinite(resource) ? now + Duration.toMillis(resource) : Infinity
    lastActivity = now
    const entry: Watchdog.Watched = {
      deadline: (now) => {
        if (state === "suspended" || awaitingConsumer) lastActivity = now
        return Math.min(lastActivity + idleMillis, resourceDeadline)
      },
      expire: (now) =>
        Effect.suspend(() => {
          // A task that is finishing, cancelled or complete has nothing left to time out.
          if (completed || state === "canceling" || Option.isSome(finished) || becameDownload) return Effect.void
          timedOut = now >= resourceDeadline ? "The resource timed out." : "The request timed out."
          return Fiber.interruptFork(self)
        })
    }
    const watchdog = environment.watchdog(clock)
    watched = { watchdog, entry }
    return watchdog.add(entry, now)
  }

  // Everything after the load, in order: the failed hop's connection, the last event, the
  // delivery's end, then `await`. Nothing of it needs an Effect for a plain load nobody
  // watches.
  const complete = (exit: Exit.Exit<A, URLError.URLError>): Effect.Effect<void> =>
    Effect.suspend(() => {
      if (completed) return Effect.void
      completed = true
      if (watched !== undefined) watched.watchdog.remove(watched.entry)
      const outcome = Exit.isSuccess(exit)
        ? exit
        : Option.match(finished, {
          onNone: () => {
            const error = errorOf(exit.cause)
            return Exit.fail(delivery.enrichFailure === undefined ? error : delivery.enrichFailure(error))
          },
          onSome: Exit.succeed
        })
      state = "completed"
      const steps: Array<Effect.Effect<void>> = []
      if (hopScope !== undefined && !becameDownload) steps.push(Scope.close(hopScope, exit))
      hopScope = undefined
      // A data task that became a download says nothing more: its subscribers hear the
      // download task's completion instead, and their stream ends with it.
      if (!becameDownload) {
        if (observed()) {
          steps.push(
            emit(URLSessionEvent.DidCompleteWithError({
              taskIdentifier,
              error: Exit.isFailure(outcome) ? Cause.failureOption(outcome.cause) : Option.none()
            })),
            events.close()
          )
        } else {
          events.closeNow()
        }
      }
      if (adopted !== undefined) {
        // Ended before its first hop ran (cancelled, or its session invalidated): the
        // connection it was handed is still open.
        steps.push(Scope.close(adopted.scope, exit), adopted.forwardTo.close())
      }
      if (delivery.onFinish !== undefined) steps.push(delivery.onFinish(outcome))
      const settle = () => {
        Deferred.unsafeDone(done, outcome)
        environment.onFinished(taskIdentifier)
      }
      if (steps.length === 0) {
        settle()
        return Effect.void
      }
      return Effect.zipRight(Effect.all(steps, { discard: true }), Effect.sync(settle))
    })

  const errorOf = (cause: Cause.Cause<URLError.URLError>): URLError.URLError =>
    Option.getOrElse(
      Cause.failureOption(cause),
      () =>
        Cause.isInterruptedOnly(cause)
          ? timedOut !== undefined && state !== "canceling"
            ? failure("TimedOut", timedOut)
            : failure("Cancelled", "The task was cancelled.")
          : failure("Unknown", "The task died of a defect", Cause.squash(cause))
    )

  // A cancel that lands between `resume` and the fork has completed the task already.
  // Yielding first lets a subscriber forked just before `resume` subscribe before the
  // task's first event (setting up a stream takes it more than one turn of the scheduler).
  const run = Effect.withFiberRuntime<A, URLError.URLError>((self) => {
    if (completed) return Effect.interrupt
    const clock = Context.get(self.getFiberRef(DefaultServices.currentServices), Clock.Clock)
    const watching = watchTimeouts(clock, self)
    const loading = watching === undefined ? load(clock) : Effect.zipRight(watching, load(clock))
    return eventsAsked ? Effect.zipRight(Effect.yieldNow(), loading) : loading
  }).pipe(
    Effect.onExit(complete),
    Effect.ignore
  )

  // The task's fiber yields before loading (see `run`). A task that completes at once,
  // without a fiber, yields first for the same reason.
  const resume = Effect.suspend(() => {
      if (state === "completed" || state === "canceling" || suspendCount === 0) return Effect.void
      suspendCount -= 1
      if (suspendCount > 0) return Effect.void
      state = "running"
      if (!started) {
        started = true
        // A download task made from a running data task goes on, as that task would have.
        if (environment.isInvalidated() && adopted === undefined) {
          return Effect.zipRight(Effect.yieldNow(), complete(Exit.interrupt(FiberId.none)))
        }
        return Effect.map(environment.fork(run), (forked) => {
          fiber = forked
        })
      }
      return Effect.flatMap(Clock.currentTimeMillis, (now) => {
        lastActivity = now
        gateOpen = true
        return gate.open
      })
    })

  const suspend = Effect.suspend(() => {
    if (state === "completed" || state === "canceling") return Effect.void
    suspendCount += 1
    if (state !== "running") return Effect.void
    state = "suspended"
    wasSuspended = true
    gateOpen = false
    return gate.close
  })

  const cancel = Effect.zipRight(
    Effect.yieldNow(),
    Effect.suspend(() => {
      if (state === "completed" || state === "canceling" || Option.isSome(finished)) return Effect.void
      state = "canceling"
      if (fiber === undefined) {
        started = true
        return complete(Exit.interrupt(FiberId.none))
      }
      return Fiber.interruptFork(fiber)
    })
  )

  const handle: TaskHandle<A> = {
    taskIdentifier,
    originalRequest,
    currentRequest: Effect.sync(() => currentRequest),
    response: Effect.sync(() => response),
    state: Effect.sync(() => state),
    countOfBytesReceived: Effect.sync(() => received),
    countOfBytesExpectedToReceive: Effect.sync(() => expected),
    countOfBytesSent: Effect.sync(() => sent),
    countOfBytesExpectedToSend: Effect.sync(() => expectedToSend),
    resume,
    suspend,
    cancel,
    get events() {
      eventsAsked = true
      return events.subscribe
    },
    await: Effect.onInterrupt(Deferred.await(done), () => cancel),
    completion: Effect.ignore(Deferred.await(done)),
    isStarted: () => started
  }
  return handle
}

/**
 * Makes a task, resumes it and waits for its result; interrupting the caller cancels it (an
 * interruption cannot fall between resume and await).
 */
export const resumeAndAwait = <A, E, R>(
  makeTask: Effect.Effect<URLSessionTask<A>, E, R>
): Effect.Effect<A, E | URLError.URLError, R> =>
  Effect.uninterruptibleMask((restore) =>
    Effect.flatMap(makeTask, (task) => Effect.zipRight(task.resume, restore(task.await)))
  )

type Hop<A> =
  | { readonly _tag: "Redirect"; readonly request: URLRequest.URLRequest }
  | { readonly _tag: "BecameDownload"; readonly taskIdentifier: number }
  | { readonly _tag: "Restart"; readonly request: URLRequest.URLRequest }
  | { readonly _tag: "Done"; readonly value: A }

// Every chunk a pull gives, to `f`, in order: a body read without running a Stream.
// `f` gives `undefined` for a chunk it took at once.
const drain = <E>(
  pull: Effect.Effect<Option.Option<Uint8Array>, E>,
  f: (chunk: Uint8Array) => Effect.Effect<void, E> | undefined
): Effect.Effect<void, E> => {
  const next: Effect.Effect<void, E> = Effect.flatMap(pull, (chunk) => {
    if (Option.isNone(chunk)) return Effect.void
    const taking = f(chunk.value)
    return taking === undefined ? next : Effect.zipRight(taking, next)
  })
  return next
}

// Runs `effect`, which needs a scope, in `scope`. The task's fiber is its own: setting its
// context is enough, and costs a fraction of `Scope.extend` (which restores the context
// after, in an uninterruptible region). The next hop sets its own scope the same way.
const withScope = <A, E>(
  scope: Scope.Scope,
  effect: Effect.Effect<A, E, Scope.Scope>
): Effect.Effect<A, E> =>
  Effect.zipRight(
    FiberRef.update(FiberRef.currentContext, (context) => Context.add(context, Scope.Scope, scope)),
    effect as Effect.Effect<A, E>
  )

// 0 without a body; -1 for a stream of unknown length, sent chunked.
const bodyLength = (request: URLRequest.URLRequest): number =>
  Option.isSome(request.body)
    ? request.body.value.byteLength
    : Option.isSome(request.bodyStream)
    ? Option.match(URLRequest.header(request, "Content-Length"), {
      onNone: () => -1,
      onSome: (length) => /^\d+$/.test(length.trim()) ? Number(length) : -1
    })
    : 0

const originOf = (url: string): string => {
  try {
    return new URL(url).origin
  } catch {
    return ""
  }
}

const parseURL = (url: string): Effect.Effect<URL, URLError.URLError> =>
  Effect.try({
    try: () => new URL(url),
    catch: (cause) => URLError.make("BadURL", { failingURL: url, message: `Not a valid URL: "${url}"`, cause })
  })
