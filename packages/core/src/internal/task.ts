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
import type * as Stream from "effect/Stream"
import * as URLError from "../URLError.js"
import type * as URLRequest from "../URLRequest.js"
import type { URLResponse } from "../URLResponse.js"
import * as URLSessionEvent from "../URLSessionEvent.js"
import type { State, URLSessionTask } from "../URLSessionTask.js"
import * as Admission from "./admission.js"
import * as Exchange from "./exchange.js"
import * as Hop from "./hop.js"
import { TaskEvents } from "./taskEvents.js"
import * as Phase from "./taskPhase.js"
import { SuspendGate, TaskProgress } from "./taskProgress.js"
import * as UploadBody from "./uploadBody.js"
import type * as Watchdog from "./watchdog.js"

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
export class Task<A> implements TaskHandle<A> {
  readonly originalURL: string
  private readonly delivery: Delivery<A>
  private readonly adopted: AdoptedLoad | undefined
  private readonly bodies: UploadBody.BodySends
  private readonly fanOut: TaskEvents
  private readonly gate = new SuspendGate()
  private readonly progress: TaskProgress
  private readonly exchange: Exchange.Exchange<A>
  // Who waits for the task's outcome.
  private waiters: Array<(outcome: Exit.Exit<A, URLError.URLError>) => void> | undefined
  private phase: Phase.Phase<A> = Phase.created
  // Apple's suspend count: a task is created suspended once; every `suspend` needs its own
  // `resume`, and a `resume` with nothing to undo does nothing.
  private suspendCount = 1
  private fiber: Fiber.RuntimeFiber<unknown, unknown> | undefined
  // The origin whose place the task holds while it runs (see `start`).
  private admitted: string | undefined
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
    protected readonly environment: TaskEnvironment,
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
    this.progress = new TaskProgress(originalRequest)
    this.originalURL = originalRequest.url
    this.fanOut = new TaskEvents(environment.sessionEvents, options.adopted?.forwardTo)
    const fanOut = this.fanOut
    const progress = this.progress
    // The delivery gets what it may use of the task, not the task.
    this.delivery = makeDelivery({
      taskIdentifier,
      originalURL: this.originalURL,
      observed: () => fanOut.observed(),
      emit: (event) => fanOut.emit(event),
      currentURL: () => progress.request.url
    })
    this.exchange = {
      task: this,
      originalRequest,
      environment,
      delivery: this.delivery,
      events: this.fanOut,
      progress: this.progress,
      gate: this.gate,
      bodies: this.bodies,
      redirecting: {
        task: this,
        delegate: environment.delegate,
        allowsInsecureRedirects: environment.configuration.allowsInsecureRedirects,
        observed: () => this.fanOut.observed(),
        emit: (event) => this.fanOut.emit(event)
      },
      finished: (value) => {
        this.phase = { _tag: "Finishing", value }
      },
      handedOver: (downloadTask) => {
        this.phase = { _tag: "HandedOver", downloadTask }
      }
    }
  }

  // The public handle.

  private description = Option.none<string>()
  get taskDescription(): Effect.Effect<Option.Option<string>> {
    return Effect.sync(() => this.description)
  }
  setTaskDescription(description: Option.Option<string>): Effect.Effect<void> {
    return Effect.sync(() => {
      this.description = description
    })
  }

  get currentRequest(): Effect.Effect<URLRequest.URLRequest> {
    return Effect.sync(() => this.progress.request)
  }
  get response(): Effect.Effect<Option.Option<URLResponse>> {
    return Effect.sync(() => this.progress.response)
  }
  get state(): Effect.Effect<State> {
    return Effect.sync(() => Phase.stateOf(this.phase, this.suspendCount > 0))
  }
  get countOfBytesReceived(): Effect.Effect<number> {
    return Effect.sync(() => this.progress.received)
  }
  get countOfBytesExpectedToReceive(): Effect.Effect<number> {
    return Effect.sync(() => this.progress.expected)
  }
  get countOfBytesSent(): Effect.Effect<number> {
    return Effect.sync(() => this.progress.sent)
  }
  get countOfBytesExpectedToSend(): Effect.Effect<number> {
    return Effect.sync(() => this.progress.expectedToSend)
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
        this.progress.lastActivity = now
        return this.gate.open()
      })
    }))
  }

  get suspend(): Effect.Effect<void> {
    return Effect.suspend(() => {
      if (!Phase.isSuspendable(this.phase)) return Effect.void
      this.suspendCount += 1
      // Only the first suspend of a running task holds it back; the others count.
      if (this.suspendCount !== 1) return Effect.void
      this.progress.wasSuspended = true
      return this.gate.close()
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

  private failure(code: URLError.Code, message?: string, cause?: unknown): URLError.URLError {
    return URLError.make(code, { failingURL: this.progress.request.url, message, cause })
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
    const adopted = this.adopted
    return Effect.gen(this, function*() {
      let request = adopted === undefined ? yield* this.bodies.first(this.originalRequest) : adopted.request
      // The adopted load is the first hop only: a restart (after the connection broke while
      // suspended) sends a new request from resume data.
      let adoptedPending = adopted !== undefined
      for (let redirects = 0;; redirects++) {
        const adoptedNow = adoptedPending
        adoptedPending = false
        const hop = adoptedNow
          ? yield* Exchange.adopted(this.exchange, adopted!, clock)
          : yield* this.hopIn((scope) => Exchange.load(this.exchange, request, redirects, clock, scope))
        if (hop._tag === "Done") return hop.value
        if (hop._tag === "BecameDownload") {
          return yield* Effect.fail(
            this.failure("Cancelled", `the delegate turned this data task into download task ${hop.taskIdentifier}`)
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
    const idle = Option.getOrElse(this.progress.request.timeoutInterval, () => configuration.timeoutIntervalForRequest)
    const resource = configuration.timeoutIntervalForResource
    if (!Duration.isFinite(idle) && !Duration.isFinite(resource)) return undefined
    const idleMillis = Duration.isFinite(idle) ? Duration.toMillis(idle) : Infinity
    const now = clock.unsafeCurrentTimeMillis()
    const resourceDeadline = Duration.isFinite(resource) ? now + Duration.toMillis(resource) : Infinity
    this.progress.lastActivity = now
    const entry: Watchdog.Watched = {
      deadline: (now) => {
        if (this.suspendCount > 0 || this.progress.awaitingConsumer) this.progress.lastActivity = now
        return Math.min(this.progress.lastActivity + idleMillis, resourceDeadline)
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
      if (this.fanOut.observed()) {
        const event = URLSessionEvent.DidCompleteWithError({
          taskIdentifier: this.taskIdentifier,
          error: Exit.isFailure(outcome) ? Cause.failureOption(outcome.cause) : Option.none()
        })
        // After the failed hop's connection is closed, if there is one.
        const announcing = steps.length === 0 ? this.fanOut.emitNow(event) : this.fanOut.emit(event)
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
      if (waiters !== undefined) { for (const waiter of waiters) waiter(outcome) }
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
    if (!Cause.isInterruptedOnly(cause)) {
      return this.failure("Unknown", "the task died of a defect", Cause.squash(cause))
    }
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
