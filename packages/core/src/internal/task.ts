import * as Cause from "effect/Cause"
import * as Clock from "effect/Clock"
import * as Context from "effect/Context"
import * as Duration from "effect/Duration"
import * as Effect from "effect/Effect"
import * as Exit from "effect/Exit"
import * as Fiber from "effect/Fiber"
import * as FiberId from "effect/FiberId"
import * as Option from "effect/Option"
import * as Runtime from "effect/Runtime"
import * as Scope from "effect/Scope"
import * as Stream from "effect/Stream"
import * as URLError from "../URLError.js"
import type { Loading } from "../URLProtocol.js"
import * as URLRequest from "../URLRequest.js"
import { isHTTPURLResponse, type URLResponse } from "../URLResponse.js"
import * as URLSessionEvent from "../URLSessionEvent.js"
import type { State, URLSessionTask } from "../URLSessionTask.js"
import * as Admission from "./admission.js"
import { TaskEvents } from "./taskEvents.js"
import * as Phase from "./taskPhase.js"
import * as Redirect from "./redirect.js"
import * as Hop from "./hop.js"
import type * as Watchdog from "./watchdog.js"
import * as UploadBody from "./uploadBody.js"

import type { Delivery, TaskContext } from "./delivery.js"
import type { AdoptedLoad, TaskEnvironment, TaskHandle, TaskOptions } from "./taskEnvironment.js"

export type { AdoptedLoad, Delivery, TaskContext, TaskEnvironment, TaskHandle, TaskOptions }

export const make = <A>(
  environment: TaskEnvironment,
  taskIdentifier: number,
  originalRequest: URLRequest.URLRequest,
  makeDelivery: (context: TaskContext) => Delivery<A>,
  options: TaskOptions = {}
): Task<A> => new Task(environment, taskIdentifier, originalRequest, makeDelivery, options)

/**
 * A task: its state, its load (run by a fiber of its own once resumed) and its public
 * handle. A class rather than a closure: a session may hold thousands of tasks waiting for
 * a connection, and each closure of a task would be an allocation per task; the handle's
 * Effects are made when asked for.
 */
export class Task<A> implements TaskHandle<A>, TaskContext {
  readonly originalURL: string
  private readonly delivery: Delivery<A>
  private readonly adopted: AdoptedLoad | undefined
  private readonly bodies: UploadBody.BodySends
  private readonly fanOut: TaskEvents
  // Closed while the caller has the task suspended (made at the first `suspend`); `gateOpen`
  // mirrors it, so a running task passes without an Effect.
  private gate: Effect.Latch | undefined
  private gateOpen = true
  // Who waits for the task's outcome.
  private waiters: Array<(outcome: Exit.Exit<A, URLError.URLError>) => void> | undefined
  private phase: Phase.Phase<A> = Phase.created
  // Apple's suspend count: a task is created suspended once; every `suspend` needs its own
  // `resume`, and a `resume` with nothing to undo does nothing.
  private suspendCount = 1
  // While the task waits for a consumer (backpressure), the network is not idle: it is us.
  private awaitingConsumer = false
  // Whether the caller has suspended the task since it started.
  private wasSuspended = false
  private fiber: Fiber.RuntimeFiber<unknown, unknown> | undefined
  // The origin whose place the task holds while it runs (see `start`).
  private admitted: string | undefined
  private requestNow: URLRequest.URLRequest
  private responseNow: Option.Option<URLResponse> = Option.none()
  private received = 0
  private expected = -1
  private sent = 0
  private expectedToSend = 0
  private lastActivity = 0
  // What the redirect decision is lent, made at the first response.
  private redirecting: Redirect.RedirectContext | undefined
  // The scope of the hop under way: closed when the hop ends (by `complete` if it fails),
  // unless the hop handed its load over.
  private hopScope: Scope.CloseableScope | undefined
  // Apple's request timeout is an idle timer: any byte re-arms it. While the caller keeps
  // the task suspended, or a consumer holds the task back, nothing is expected to arrive, so
  // the timer does not run (and `resume` re-arms it). The resource timeout bounds the whole
  // task. The session's watchdog keeps both deadlines and, when one passes, puts the task in
  // its `TimingOut` phase and interrupts it.
  private watched: { readonly watchdog: Watchdog.Watchdog; readonly entry: Watchdog.Watched } | undefined

  constructor(
    private readonly environment: TaskEnvironment,
    readonly taskIdentifier: number,
    readonly originalRequest: URLRequest.URLRequest,
    makeDelivery: (context: TaskContext) => Delivery<A>,
    options: TaskOptions
  ) {
    this.adopted = options.adopted
    this.bodies = new UploadBody.BodySends(
      options.upload,
      environment.uploadFiles,
      Effect.suspend(() =>
        environment.delegate.needNewBodyStream === undefined
          ? Effect.succeedNone
          : environment.delegate.needNewBodyStream(this)
      )
    )
    this.requestNow = originalRequest
    this.originalURL = originalRequest.url
    this.fanOut = new TaskEvents(environment.sessionEvents, options.adopted?.forwardTo)
    this.delivery = makeDelivery(this)
  }

  // The public handle.

  get currentRequest(): Effect.Effect<URLRequest.URLRequest> {
    return Effect.sync(() => this.requestNow)
  }
  get response(): Effect.Effect<Option.Option<URLResponse>> {
    return Effect.sync(() => this.responseNow)
  }
  get state(): Effect.Effect<State> {
    return Effect.sync(() => Phase.stateOf(this.phase, this.suspendCount > 0))
  }
  get countOfBytesReceived(): Effect.Effect<number> {
    return Effect.sync(() => this.received)
  }
  get countOfBytesExpectedToReceive(): Effect.Effect<number> {
    return Effect.sync(() => this.expected)
  }
  get countOfBytesSent(): Effect.Effect<number> {
    return Effect.sync(() => this.sent)
  }
  get countOfBytesExpectedToSend(): Effect.Effect<number> {
    return Effect.sync(() => this.expectedToSend)
  }
  get events(): Stream.Stream<URLSessionEvent.TaskEvent> {
    return this.fanOut.subscribe
  }
  get await(): Effect.Effect<A, URLError.URLError> {
    // Interrupting the caller cancels the task.
    return this.waitFor((outcome) => outcome, () => this.cancel)
  }
  /** Waits for completion without cancelling when interrupted. */
  get completion(): Effect.Effect<void> {
    return this.waitFor(() => Effect.void, () => Effect.void)
  }
  // One async step, where a Deferred and `onInterrupt` took several.
  private waitFor<B, E>(
    then: (outcome: Exit.Exit<A, URLError.URLError>) => Effect.Effect<B, E>,
    onInterrupt: () => Effect.Effect<void>
  ): Effect.Effect<B, E> {
    return Effect.async<B, E>((resume) => {
      if (this.phase._tag === "Completed") return resume(then(this.phase.outcome))
      const waiter = (outcome: Exit.Exit<A, URLError.URLError>) => resume(then(outcome))
      ;(this.waiters ??= []).push(waiter)
      return Effect.suspend(() => {
        const index = this.waiters?.indexOf(waiter) ?? -1
        if (index !== -1) this.waiters!.splice(index, 1)
        return onInterrupt()
      })
    })
  }

  isStarted(): boolean {
    return this.phase._tag !== "Created"
  }

  // The task's fiber yields before loading (see `run`). A task that completes at once,
  // without a fiber, yields first for the same reason.
  // Whole: once it has marked the task started, the task must get a fiber or a completion.
  get resume(): Effect.Effect<void> {
    return Effect.uninterruptible(Effect.suspend(() => {
      if (!Phase.isSuspendable(this.phase) || this.suspendCount === 0) return Effect.void
      this.suspendCount -= 1
      if (this.suspendCount > 0) return Effect.void
      if (this.phase._tag === "Created") {
        this.phase = Phase.loading
        // A download task made from a running data task goes on, as that task would have.
        if (this.environment.isInvalidated() && this.adopted === undefined) {
          return Effect.zipRight(Effect.yieldNow(), Effect.suspend(() => this.complete(Exit.interrupt(FiberId.none))))
        }
        return this.start()
      }
      return Effect.flatMap(Clock.currentTimeMillis, (now) => {
        this.lastActivity = now
        this.gateOpen = true
        return this.gate === undefined ? Effect.void : this.gate.open
      })
    }))
  }

  get suspend(): Effect.Effect<void> {
    return Effect.suspend(() => {
      if (!Phase.isSuspendable(this.phase)) return Effect.void
      this.suspendCount += 1
      // Only the first suspend of a running task holds it back; the others count.
      if (this.suspendCount !== 1) return Effect.void
      this.wasSuspended = true
      this.gateOpen = false
      return (this.gate ??= Effect.unsafeMakeLatch(true)).close
    })
  }

  get cancel(): Effect.Effect<void> {
    return Effect.zipRight(
      Effect.yieldNow(),
      Effect.suspend(() => {
        if (!Phase.isCancellable(this.phase)) return Effect.void
        this.phase = Phase.cancelling
        if (this.fiber === undefined) return this.complete(Exit.interrupt(FiberId.none))
        return Fiber.interruptFork(this.fiber)
      })
    )
  }

  // A task runs at once if its origin has a place free (a download going on from a data
  // task always does). Otherwise it waits as it is, without a fiber, and starts in a fiber
  // of its own, with the fiber refs of the fiber that resumed it, when a place is given
  // back. Apple: the request timeout runs while a task waits for a connection.
  private start(): Effect.Effect<void> {
    const origin = this.adopted === undefined ? Admission.originOf(this.originalRequest.url) : undefined
    const admission = this.environment.admission
    if (origin === undefined || admission.tryEnter(origin)) {
      this.admitted = origin
      return Effect.map(this.environment.fork(this.run()), (forked) => {
        this.fiber = forked
      })
    }
    return Effect.withFiberRuntime((resumer) => {
      const runtime = Runtime.make({
        context: resumer.currentContext,
        fiberRefs: resumer.getFiberRefs(),
        runtimeFlags: Runtime.defaultRuntimeFlags
      })
      admission.wait(origin, () => {
        if (Phase.isEnded(this.phase)) return false
        this.admitted = origin
        this.fiber = Runtime.runFork(runtime)(this.run(), { immediate: false })
        return true
      })
      return this.watchTimeouts(Context.get(resumer.currentDefaultServices, Clock.Clock)) ?? Effect.void
    })
  }

  // What a delivery may use (TaskContext).

  observed(): boolean {
    return this.fanOut.observed()
  }

  emit(event: URLSessionEvent.TaskEvent): Effect.Effect<void> {
    return this.fanOut.emit(event)
  }

  currentURL(): string {
    return this.requestNow.url
  }

  private whenResumed<B, E, R>(effect: Effect.Effect<B, E, R>): Effect.Effect<B, E, R> {
    return Effect.suspend(() => this.gateOpen || this.gate === undefined ? effect : this.gate.whenOpen(effect))
  }

  private failure(code: URLError.Code, message?: string, cause?: unknown): URLError.URLError {
    return URLError.make(code, { failingURL: this.requestNow.url, message, cause })
  }

  // A chunk into the delivery: `undefined` when it was taken at once. A suspended task holds
  // it at the gate until resumed.
  private deliver(clock: Clock.Clock, chunk: Uint8Array): Effect.Effect<void, URLError.URLError> | undefined {
    return this.gateOpen || this.gate === undefined
      ? this.deliverNow(clock, chunk)
      : this.gate.whenOpen(Effect.suspend(() => this.deliverNow(clock, chunk) ?? Effect.void))
  }

  private deliverNow(clock: Clock.Clock, chunk: Uint8Array): Effect.Effect<void, URLError.URLError> | undefined {
    this.received += chunk.byteLength
    const delivery = this.delivery
    const reporting = delivery.reportsData && this.observed()
      ? this.fanOut.emitNow(URLSessionEvent.DidReceiveData({ taskIdentifier: this.taskIdentifier, data: chunk }))
      : undefined
    const delivered = reporting === undefined
      ? delivery.onData(chunk)
      : Effect.zipRight(reporting, Effect.suspend(() => delivery.onData(chunk) ?? Effect.void))
    if (delivered === undefined) {
      this.lastActivity = clock.unsafeCurrentTimeMillis()
      return undefined
    }
    // A failure or an interruption here ends the task, so the flag needs no finalizer.
    this.awaitingConsumer = true
    return Effect.map(delivered, () => {
      this.awaitingConsumer = false
      this.lastActivity = clock.unsafeCurrentTimeMillis()
    })
  }

  // One request/response exchange. A followed redirect ends the hop (its scope closes, which
  // releases the redirect's connection) and names the next request.
  private loadHop(
    request: URLRequest.URLRequest,
    redirects: number,
    clock: Clock.Clock,
    hopScope: Scope.CloseableScope
  ): Effect.Effect<Hop.Hop<A>, URLError.URLError, Scope.Scope> {
    const self = this
    const { delivery, environment, taskIdentifier } = this
    return Effect.gen(function*() {
      const url = yield* Hop.parseURL(request.url)
      self.requestNow = yield* Hop.prepare(request, {
        configuration: environment.configuration,
        bodies: self.bodies,
        crossOrigin: redirects > 0 && url.origin !== Hop.originOf(self.originalURL),
        delivery
      })
      self.sent = 0
      self.expectedToSend = Hop.bodyLength(self.requestNow)
      const protocol = yield* Hop.protocolFor(environment.protocols, url, self.requestNow.url)
      const loading = yield* protocol.startLoading(self.requestNow, url, {
        whenResumed: (effect) => self.whenResumed(effect),
        didReceiveHeadData: () => {
          self.lastActivity = clock.unsafeCurrentTimeMillis()
        },
        didSendBodyData: (bytes) => {
          self.lastActivity = clock.unsafeCurrentTimeMillis()
          self.sent += bytes
          // Progress events coalesce and never wait, so they can be published from here.
          if (self.observed()) {
            Effect.runSync(self.emit(URLSessionEvent.DidSendBodyData({
              taskIdentifier,
              bytesSent: bytes,
              totalBytesSent: self.sent,
              totalBytesExpectedToSend: self.expectedToSend
            })))
          }
        }
      })
      self.lastActivity = clock.unsafeCurrentTimeMillis()
      self.responseNow = Option.some(loading.response)
      if (isHTTPURLResponse(loading.response)) {
        const next = yield* Redirect.decide(self.redirectContext(), self.requestNow, url, loading.response, redirects)
        if (Option.isSome(next)) return { _tag: "Redirect", request: next.value } as const
      }
      if (delivery.examine !== undefined && (yield* delivery.examine(loading.response)) === "restart") {
        return { _tag: "Restart", request } as const
      }
      self.expected = loading.response.expectedContentLength
      const announcing = self.observed()
        ? self.fanOut.emitNow(URLSessionEvent.DidReceiveResponse({ taskIdentifier, response: loading.response }))
        : undefined
      if (announcing !== undefined) yield* announcing
      const disposition = environment.delegate.didReceiveResponse === undefined
        ? "allow"
        : yield* environment.delegate.didReceiveResponse(self, loading.response)
      if (disposition === "cancel") {
        return yield* Effect.fail(self.failure("Cancelled", "the delegate cancelled the task on its response"))
      }
      if (disposition === "becomeDownload" && delivery.mayBecomeDownload === true) {
        return yield* self.handOver(loading, hopScope)
      }
      return yield* self.receiveBody(request, loading, clock)
    })
  }

  private redirectContext(): Redirect.RedirectContext {
    return this.redirecting ??= {
      task: this,
      delegate: this.environment.delegate,
      allowsInsecureRedirects: this.environment.configuration.allowsInsecureRedirects,
      observed: () => this.observed(),
      emit: (event) => this.emit(event)
    }
  }

  // Apple: "the delegate receives no further callbacks from the data task, and begins
  // receiving callbacks from the download task". The hand-over cannot be cut in two: a
  // download task made and never resumed would hold the connection forever.
  private handOver(loading: Loading, hopScope: Scope.CloseableScope): Effect.Effect<Hop.Hop<A>> {
    const self = this
    return Effect.uninterruptible(Effect.gen(function*() {
      const downloadTask = yield* self.environment.becomeDownload({
        originalRequest: self.originalRequest,
        request: self.requestNow,
        loading,
        scope: hopScope,
        forwardTo: self.fanOut.ownHub()
      })
      self.phase = { _tag: "HandedOver", downloadTask: downloadTask.taskIdentifier }
      yield* self.emit(URLSessionEvent.DidBecomeDownloadTask({ taskIdentifier: self.taskIdentifier, downloadTask }))
      yield* downloadTask.resume
      return { _tag: "BecameDownload", taskIdentifier: downloadTask.taskIdentifier } as const
    }))
  }

  // The body of the final response, into the delivery.
  private receiveBody(
    request: URLRequest.URLRequest,
    loading: Loading,
    clock: Clock.Clock
  ): Effect.Effect<Hop.Hop<A>, URLError.URLError> {
    const self = this
    const delivery = this.delivery
    const deliver = (chunk: Uint8Array) => self.deliver(clock, chunk)
    return Effect.gen(function*() {
      const finalResponse = loading.response
      yield* delivery.onResponse(finalResponse)
      const bodyOutcome = yield* Effect.either(Hop.drain(loading.pull, deliver))
      if (bodyOutcome._tag === "Left") {
        self.awaitingConsumer = false
        // Apple: a download suspended long enough for the server to close the connection goes
        // on from its resume data when resumed.
        const goOn = bodyOutcome.left.code === "NetworkConnectionLost" && self.wasSuspended &&
          delivery.continueAfterConnectionLoss !== undefined &&
          (yield* delivery.continueAfterConnectionLoss())
        if (goOn) return { _tag: "Restart", request } as const
        return yield* Effect.fail(bodyOutcome.left)
      }
      // The body is complete: from here the task succeeds, whatever arrives (a cancel, a
      // timeout) before its completion is announced. Finishing (closing, flushing a file) is
      // the task's own work, not network idleness.
      self.awaitingConsumer = true
      const value = yield* delivery.finish(finalResponse)
      self.awaitingConsumer = false
      self.phase = { _tag: "Finishing", value }
      return { _tag: "Done", value } as const
    })
  }

  // A download task made from a data task starts with the data task's response and body;
  // the connection is its own from here and goes when this hop ends.
  private adoptedHop(load: AdoptedLoad, clock: Clock.Clock): Effect.Effect<Hop.Hop<A>, URLError.URLError> {
    return Effect.scoped(Effect.suspend(() => {
      this.requestNow = this.delivery.prepare === undefined ? load.request : this.delivery.prepare(load.request)
      this.responseNow = Option.some(load.loading.response)
      this.expected = load.loading.response.expectedContentLength
      this.lastActivity = clock.unsafeCurrentTimeMillis()
      return Effect.zipRight(
        Effect.addFinalizer((exit) => Scope.close(load.scope, exit)),
        this.receiveBody(load.request, load.loading, clock)
      )
    }))
  }

  private hopIn(
    hop: (scope: Scope.CloseableScope) => Effect.Effect<Hop.Hop<A>, URLError.URLError, Scope.Scope>
  ): Effect.Effect<Hop.Hop<A>, URLError.URLError> {
    return Effect.flatMap(Scope.make(), (scope) => {
      this.hopScope = scope
      return Effect.flatMap(Hop.withScope(scope, hop(scope)), (result) => {
        if (this.phase._tag === "HandedOver") {
          this.hopScope = undefined
          return Effect.succeed(result)
        }
        // Whole, or `complete` closes it: a cancel landing half way must not skip finalizers.
        return Effect.as(
          Effect.uninterruptible(Effect.zipRight(
            Scope.close(scope, Exit.void),
            Effect.sync(() => {
              this.hopScope = undefined
            })
          )),
          result
        )
      })
    })
  }

  private load(clock: Clock.Clock): Effect.Effect<A, URLError.URLError> {
    const self = this
    const adopted = this.adopted
    return Effect.gen(function*() {
      let request = adopted === undefined ? yield* self.bodies.first(self.originalRequest) : adopted.request
      // The adopted load is the first hop only: a restart (after the connection broke while
      // suspended) sends a new request from resume data.
      let adoptedPending = adopted !== undefined
      for (let redirects = 0;; redirects++) {
        const adoptedNow = adoptedPending
        adoptedPending = false
        const hop = adoptedNow
          ? yield* self.adoptedHop(adopted!, clock)
          : yield* self.hopIn((scope) => self.loadHop(request, redirects, clock, scope))
        if (hop._tag === "Done") return hop.value
        if (hop._tag === "BecameDownload") {
          return yield* Effect.fail(
            self.failure("Cancelled", `the delegate turned this data task into download task ${hop.taskIdentifier}`)
          )
        }
        request = hop.request
        if (hop._tag === "Restart") redirects--
      }
    })
  }

  // Watches the task on the session's watchdog (once: from when it waits for a place, or
  // from its start): an Effect only when the watchdog must be started or woken earlier.
  private watchTimeouts(clock: Clock.Clock): Effect.Effect<void> | undefined {
    if (this.watched !== undefined) return undefined
    const { configuration } = this.environment
    const idle = Option.getOrElse(this.requestNow.timeoutInterval, () => configuration.timeoutIntervalForRequest)
    const resource = configuration.timeoutIntervalForResource
    if (!Duration.isFinite(idle) && !Duration.isFinite(resource)) return undefined
    const idleMillis = Duration.isFinite(idle) ? Duration.toMillis(idle) : Infinity
    const now = clock.unsafeCurrentTimeMillis()
    const resourceDeadline = Duration.isFinite(resource) ? now + Duration.toMillis(resource) : Infinity
    this.lastActivity = now
    const entry: Watchdog.Watched = {
      deadline: (now) => {
        if (this.suspendCount > 0 || this.awaitingConsumer) this.lastActivity = now
        return Math.min(this.lastActivity + idleMillis, resourceDeadline)
      },
      expire: (now) =>
        Effect.suspend(() => {
          // A task that is finishing, cancelled, handed over or complete has nothing left to
          // time out.
          if (!Phase.mayTimeOut(this.phase)) return Effect.void
          this.phase = {
            _tag: "TimingOut",
            reason: now >= resourceDeadline
              ? "the resource took longer than timeoutIntervalForResource"
              : "no byte came within timeoutIntervalForRequest"
          }
          return this.fiber === undefined
            ? this.complete(Exit.interrupt(FiberId.none))
            : Fiber.interruptFork(this.fiber)
        })
    }
    const watchdog = this.environment.watchdog(clock)
    this.watched = { watchdog, entry }
    return watchdog.add(entry, now)
  }

  // Everything after the load, in order: the failed hop's connection, the last event, the
  // delivery's end, then `await`. Nothing of it needs an Effect for a plain load nobody
  // watches.
  private complete(exit: Exit.Exit<A, URLError.URLError>): Effect.Effect<void> {
    const phase = this.phase
    if (Phase.isEnded(phase)) return Effect.void
    const handedOver = phase._tag === "HandedOver"
    if (this.watched !== undefined) this.watched.watchdog.remove(this.watched.entry)
    if (this.admitted !== undefined) this.environment.admission.leave(this.admitted)
    const outcome: Exit.Exit<A, URLError.URLError> = Exit.isSuccess(exit)
      ? exit
      : phase._tag === "Finishing"
      ? Exit.succeed(phase.value)
      : Exit.fail(this.enrich(this.errorOf(phase, exit.cause)))
    this.phase = { _tag: "Completing", outcome }
    const steps: Array<Effect.Effect<void>> = []
    if (this.hopScope !== undefined && !handedOver) steps.push(Scope.close(this.hopScope, exit))
    this.hopScope = undefined
    // A data task that became a download says nothing more: its subscribers hear the
    // download task's completion instead, and their stream ends with it.
    if (!handedOver) {
      if (this.observed()) {
        const event = URLSessionEvent.DidCompleteWithError({
          taskIdentifier: this.taskIdentifier,
          error: Exit.isFailure(outcome) ? Cause.failureOption(outcome.cause) : Option.none()
        })
        // After the failed hop's connection is closed, if there is one.
        const announcing = steps.length === 0 ? this.fanOut.emitNow(event) : this.emit(event)
        if (announcing !== undefined) steps.push(announcing)
      }
    }
    const ending = this.fanOut.end(handedOver)
    if (ending !== undefined) steps.push(ending)
    if (this.adopted !== undefined) {
      // Ended before its first hop ran (cancelled, or its session invalidated): the
      // connection it was handed is still open.
      steps.push(Scope.close(this.adopted.scope, exit), this.adopted.forwardTo.close())
    }
    if (this.delivery.onFinish !== undefined) steps.push(this.delivery.onFinish(outcome))
    const settle = () => {
      this.phase = { _tag: "Completed", outcome }
      const waiters = this.waiters
      this.waiters = undefined
      if (waiters !== undefined) for (const waiter of waiters) waiter(outcome)
      this.environment.onFinished(this.taskIdentifier)
    }
    if (steps.length === 0) {
      settle()
      return Effect.void
    }
    // Whole, whoever runs it (a cancel, the watchdog): `completed` is set already, so steps
    // cut short would leave the task's waiters waiting for ever.
    return Effect.uninterruptible(Effect.zipRight(Effect.all(steps, { discard: true }), Effect.sync(settle)))
  }

  private enrich(error: URLError.URLError): URLError.URLError {
    return this.delivery.enrichFailure === undefined ? error : this.delivery.enrichFailure(error)
  }

  private errorOf(phase: Phase.Phase<A>, cause: Cause.Cause<URLError.URLError>): URLError.URLError {
    const failed = Cause.failureOption(cause)
    if (Option.isSome(failed)) return failed.value
    if (!Cause.isInterruptedOnly(cause)) return this.failure("Unknown", "the task died of a defect", Cause.squash(cause))
    return phase._tag === "TimingOut" ? this.failure("TimedOut", phase.reason) : this.failure("Cancelled")
  }

  // A cancel that lands between `resume` and the fork has completed the task already.
  // Yielding first lets a subscriber to the task's or the session's events, forked just
  // before `resume`, subscribe before the task's first event (setting up a stream takes it
  // more than one turn of the scheduler; a load from memory publishes within one).
  private run(): Effect.Effect<void> {
    return Effect.withFiberRuntime<A, URLError.URLError>((fiber) => {
      if (Phase.isEnded(this.phase)) return Effect.interrupt
      this.fiber = fiber
      const clock = Context.get(fiber.currentDefaultServices, Clock.Clock)
      const watching = this.watchTimeouts(clock)
      const loading = watching === undefined ? this.load(clock) : Effect.zipRight(watching, this.load(clock))
      return Effect.zipRight(Effect.yieldNow(), loading)
    }).pipe(
      Effect.onExit((exit) => Effect.suspend(() => this.complete(exit))),
      Effect.ignore
    )
  }
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
