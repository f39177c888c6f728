import * as Cause from "effect/Cause"
import * as Clock from "effect/Clock"
import * as Deferred from "effect/Deferred"
import * as Duration from "effect/Duration"
import * as Effect from "effect/Effect"
import * as Exit from "effect/Exit"
import * as Fiber from "effect/Fiber"
import * as FiberId from "effect/FiberId"
import * as Option from "effect/Option"
import type * as Scope from "effect/Scope"
import * as Stream from "effect/Stream"
import * as URLError from "../URLError.js"
import type { URLProtocol } from "../URLProtocol.js"
import * as URLRequest from "../URLRequest.js"
import { type HTTPURLResponse, isHTTPURLResponse, type URLResponse } from "../URLResponse.js"
import type { URLSessionConfiguration } from "../URLSessionConfiguration.js"
import type { URLSessionDelegate } from "../URLSessionDelegate.js"
import * as URLSessionEvent from "../URLSessionEvent.js"
import type { State, URLSessionTask } from "../URLSessionTask.js"
import { EventHub } from "./eventHub.js"
import * as Redirect from "./redirect.js"
import * as RequestRules from "./requestRules.js"

/** Where a task's response and body go, and what its `await` gives on success. */
export interface Delivery<A> {
  /** Whether the task reports body chunks as `DidReceiveData` (a download reports its own). */
  readonly reportsData: boolean
  /** Adds what the delivery needs to each request sent (a resumed download: `Range`). */
  readonly prepare?: (request: URLRequest.URLRequest) => URLRequest.URLRequest
  /** Looks at the final response before anything is reported: `"restart"` sends the request
   * again (the delivery having dropped what made it unusable, e.g. a mismatched range). */
  readonly examine?: (response: URLResponse) => Effect.Effect<"continue" | "restart">
  readonly onResponse: (response: URLResponse) => Effect.Effect<void, URLError.URLError>
  readonly onData: (chunk: Uint8Array) => Effect.Effect<void, URLError.URLError>
  /** The body is complete: what `await` gives. */
  readonly finish: (response: URLResponse) => Effect.Effect<A, URLError.URLError>
  /** The connection broke while the caller had the task suspended: may the delivery go on
   * with a new request (a download: from its resume data)? */
  readonly continueAfterConnectionLoss?: () => Effect.Effect<boolean>
  /** Adds what the delivery knows to the task's failure (a download: its resume data). */
  readonly enrichFailure?: (error: URLError.URLError) => URLError.URLError
  /** Runs once, after `DidCompleteWithError`, with what `await` will give. */
  readonly onFinish: (exit: Exit.Exit<A, URLError.URLError>) => Effect.Effect<void>
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

/** What a session lends its tasks. */
export interface TaskEnvironment {
  readonly configuration: URLSessionConfiguration
  readonly protocols: ReadonlyArray<URLProtocol>
  readonly delegate: URLSessionDelegate
  readonly sessionEvents: EventHub<URLSessionEvent.URLSessionEvent>
  /** Forks a task's fiber into the session's scope. */
  readonly fork: (effect: Effect.Effect<void>) => Effect.Effect<Fiber.RuntimeFiber<void>>
  readonly onFinished: (taskIdentifier: number) => void
  /** An invalidated session starts no task: one resumed then completes with `Cancelled`. */
  readonly isInvalidated: () => boolean
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
  makeDelivery: (context: TaskContext) => Delivery<A>
): TaskHandle<A> => {
  const events = new EventHub<URLSessionEvent.TaskEvent>(
    URLSessionEvent.isBackpressured,
    URLSessionEvent.coalescingKey,
    URLSessionEvent.coalesce
  )
  const gate = Effect.unsafeMakeLatch(true)
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
  let lastActivity = 0
  const originalOrigin = originOf(originalRequest.url)

  const observed = () => events.active || environment.sessionEvents.active
  const emit = (event: URLSessionEvent.TaskEvent) =>
    Effect.zipRight(events.publish(event), environment.sessionEvents.publish(event))
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

  const deliver = (clock: Clock.Clock) => (chunk: Uint8Array) =>
    gate.whenOpen(Effect.suspend(() => {
      received += chunk.byteLength
      awaitingConsumer = true
      const delivered = delivery.onData(chunk)
      return Effect.ensuring(
        delivery.reportsData && observed()
          ? Effect.zipRight(emit(URLSessionEvent.DidReceiveData({ taskIdentifier, data: chunk })), delivered)
          : delivered,
        Effect.sync(() => {
          awaitingConsumer = false
          lastActivity = clock.unsafeCurrentTimeMillis()
        })
      )
    }))

  // One request/response exchange. A followed redirect ends the hop (its scope closes, which
  // releases the redirect's connection) and names the next request.
  const loadHop = (
    request: URLRequest.URLRequest,
    redirects: number,
    clock: Clock.Clock
  ): Effect.Effect<Hop<A>, URLError.URLError, Scope.Scope> =>
    Effect.gen(function*() {
      const url = yield* parseURL(request.url)
      const prepared = yield* RequestRules.prepare(request, environment.configuration, {
        crossOrigin: redirects > 0 && url.origin !== originalOrigin
      })
      currentRequest = delivery.prepare === undefined ? prepared : delivery.prepare(prepared)
      const protocol = yield* selectProtocol(url)
      const loading = yield* protocol.startLoading(currentRequest, url, {
        didSendBodyData: () => {
          lastActivity = clock.unsafeCurrentTimeMillis()
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
      yield* delivery.onResponse(loading.response)
      const bodyOutcome = yield* Effect.either(Stream.runForEach(loading.body, deliver(clock)))
      if (bodyOutcome._tag === "Left") {
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
      const value = yield* Effect.ensuring(
        delivery.finish(loading.response),
        Effect.sync(() => {
          awaitingConsumer = false
        })
      )
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

  const load = Effect.gen(function*() {
    const clock = yield* Effect.clock
    let request = originalRequest
    for (let redirects = 0;; redirects++) {
      const hop = yield* Effect.scoped(loadHop(request, redirects, clock))
      if (hop._tag === "Done") return hop.value
      request = hop.request
      if (hop._tag === "Restart") redirects--
    }
  })

  // Apple's request timeout is an idle timer: any byte re-arms it. While the caller keeps
  // the task suspended, or a consumer holds the task back, nothing is expected to arrive, so
  // the timer does not run (and `resume` re-arms it).
  const idleTimeout = (timeout: Duration.Duration) =>
    Effect.gen(function*() {
      const millis = Duration.toMillis(timeout)
      lastActivity = yield* Clock.currentTimeMillis
      while (true) {
        const now = yield* Clock.currentTimeMillis
        if (state === "suspended" || awaitingConsumer) lastActivity = now
        const remaining = lastActivity + millis - now
        if (remaining <= 0) return yield* Effect.fail(failure("TimedOut", "The request timed out."))
        yield* Effect.sleep(Duration.millis(remaining))
      }
    })

  const withTimeouts = (effect: Effect.Effect<A, URLError.URLError>) => {
    const idle = Option.getOrElse(currentRequest.timeoutInterval, () => environment.configuration.timeoutIntervalForRequest)
    const resource = environment.configuration.timeoutIntervalForResource
    const bounded = Duration.isFinite(idle) ? Effect.raceFirst(effect, idleTimeout(idle)) : effect
    return Duration.isFinite(resource)
      ? Effect.timeoutFail(bounded, {
        duration: resource,
        onTimeout: () => failure("TimedOut", "The resource timed out.")
      })
      : bounded
  }

  const complete = (exit: Exit.Exit<A, URLError.URLError>) =>
    Effect.gen(function*() {
      if (completed) return
      completed = true
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
      yield* emit(URLSessionEvent.DidCompleteWithError({
        taskIdentifier,
        error: Exit.isFailure(outcome) ? Cause.failureOption(outcome.cause) : Option.none()
      }))
      yield* events.close()
      yield* delivery.onFinish(outcome)
      yield* Deferred.done(done, outcome)
      environment.onFinished(taskIdentifier)
    })

  const errorOf = (cause: Cause.Cause<URLError.URLError>): URLError.URLError =>
    Option.getOrElse(
      Cause.failureOption(cause),
      () =>
        Cause.isInterruptedOnly(cause)
          ? failure("Cancelled", "The task was cancelled.")
          : failure("Unknown", "The task died of a defect", Cause.squash(cause))
    )

  // A cancel that lands between `resume` and the fork has completed the task already.
  const run = Effect.suspend(() => completed ? Effect.interrupt : withTimeouts(load)).pipe(
    Effect.onExit(complete),
    Effect.ignore
  )

  // Yielding first lets a subscriber forked just before `resume` (or `cancel`) subscribe
  // before the task's first event.
  const resume = Effect.zipRight(
    Effect.yieldNow(),
    Effect.suspend(() => {
      if (state === "completed" || state === "canceling" || suspendCount === 0) return Effect.void
      suspendCount -= 1
      if (suspendCount > 0) return Effect.void
      state = "running"
      if (!started) {
        started = true
        if (environment.isInvalidated()) return complete(Exit.interrupt(FiberId.none))
        return Effect.map(environment.fork(run), (forked) => {
          fiber = forked
        })
      }
      return Effect.flatMap(Clock.currentTimeMillis, (now) => {
        lastActivity = now
        return gate.open
      })
    })
  )

  const suspend = Effect.suspend(() => {
    if (state === "completed" || state === "canceling") return Effect.void
    suspendCount += 1
    if (state !== "running") return Effect.void
    state = "suspended"
    wasSuspended = true
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
    resume,
    suspend,
    cancel,
    events: events.subscribe,
    await: Effect.onInterrupt(Deferred.await(done), () => cancel),
    completion: Effect.ignore(Deferred.await(done)),
    isStarted: () => started
  }
  return handle
}

type Hop<A> =
  | { readonly _tag: "Redirect"; readonly request: URLRequest.URLRequest }
  | { readonly _tag: "Restart"; readonly request: URLRequest.URLRequest }
  | { readonly _tag: "Done"; readonly value: A }

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
