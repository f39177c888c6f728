import type * as Clock from "effect/Clock"
import * as Effect from "effect/Effect"
import * as Option from "effect/Option"
import * as Scope from "effect/Scope"
import * as URLError from "../URLError.js"
import type { Loading } from "../URLProtocol.js"
import type * as URLRequest from "../URLRequest.js"
import { isHTTPURLResponse } from "../URLResponse.js"
import * as URLSessionEvent from "../URLSessionEvent.js"
import type { URLSessionTask } from "../URLSessionTask.js"
import type { Delivery } from "./delivery.js"
import { handOver } from "./handOver.js"
import * as Hop from "./hop.js"
import * as Redirect from "./redirect.js"
import type { AdoptedLoad, TaskEnvironment } from "./taskEnvironment.js"
import type { TaskEvents } from "./taskEvents.js"
import type { SuspendGate, TaskProgress } from "./taskProgress.js"
import type { BodySends } from "./uploadBody.js"

/**
 * What a task's hops work with: its record, its delivery and events, its gate, and a say on
 * the two phase changes a hop decides (the body is complete; the task became a download).
 * The task lends this, not itself.
 */
export interface Exchange<A> {
  /** The task, as the delegate is shown it. */
  readonly task: URLSessionTask
  readonly originalRequest: URLRequest.URLRequest
  readonly environment: TaskEnvironment
  readonly delivery: Delivery<A>
  readonly events: TaskEvents
  readonly progress: TaskProgress
  readonly gate: SuspendGate
  readonly bodies: BodySends
  readonly redirecting: Redirect.RedirectContext
  /** The body is complete and delivered: the task succeeds with `value`, whatever comes. */
  readonly finished: (value: A) => void
  /** The task handed its load to the download task `taskIdentifier`. */
  readonly handedOver: (taskIdentifier: number) => void
}

/**
 * One request/response exchange: prepare the request, send it, handle the response (the
 * redirect decision, the delivery's look, `DidReceiveResponse`, the delegate's disposition),
 * then the body into the delivery. A followed redirect ends the hop (its scope closes, which
 * releases the redirect's connection) and names the next request.
 */
export const load = <A>(
  exchange: Exchange<A>,
  request: URLRequest.URLRequest,
  redirects: number,
  clock: Clock.Clock,
  hopScope: Scope.CloseableScope
): Effect.Effect<Hop.Hop<A>, URLError.URLError, Scope.Scope> => {
  const { delivery, environment, events, progress } = exchange
  const taskIdentifier = exchange.task.taskIdentifier
  return Effect.gen(function*() {
    const url = yield* Hop.parseURL(request.url)
    const protocol = yield* Hop.protocolFor(environment.protocols, url, request.url)
    progress.request = yield* Hop.prepare(request, {
      configuration: environment.configuration,
      bodies: exchange.bodies,
      crossOrigin: redirects > 0 && url.origin !== Hop.originOf(exchange.originalRequest.url),
      delivery
    })
    progress.sent = 0
    progress.expectedToSend = Hop.bodyLength(progress.request)
    const loading = yield* protocol.startLoading(Hop.wire(progress.request, protocol), url, {
      whenResumed: (effect) => Effect.suspend(() => exchange.gate.whenOpen(effect)),
      didReceiveHeadData: () => {
        progress.lastActivity = clock.unsafeCurrentTimeMillis()
      },
      didSendBodyData: (bytes) => {
        progress.lastActivity = clock.unsafeCurrentTimeMillis()
        progress.sent += bytes
        // Progress events coalesce and never wait: published from the protocol's callback.
        if (events.observed()) {
          Effect.runSync(events.emit(URLSessionEvent.DidSendBodyData({
            taskIdentifier,
            bytesSent: bytes,
            totalBytesSent: progress.sent,
            totalBytesExpectedToSend: progress.expectedToSend
          })))
        }
      }
    })
    progress.lastActivity = clock.unsafeCurrentTimeMillis()
    progress.response = Option.some(loading.response)
    if (isHTTPURLResponse(loading.response)) {
      const next = yield* Redirect.decide(exchange.redirecting, progress.request, url, loading.response, redirects)
      if (Option.isSome(next)) return { _tag: "Redirect", request: next.value } as const
    }
    if (delivery.examine !== undefined && (yield* delivery.examine(loading.response)) === "restart") {
      return { _tag: "Restart", request } as const
    }
    progress.expected = loading.response.expectedContentLength
    const announcing = events.observed()
      ? events.emitNow(URLSessionEvent.DidReceiveResponse({ taskIdentifier, response: loading.response }))
      : undefined
    if (announcing !== undefined) yield* announcing
    const disposition = environment.delegate.didReceiveResponse === undefined
      ? "allow"
      : yield* environment.delegate.didReceiveResponse(exchange.task, loading.response)
    if (disposition === "cancel") {
      return yield* Effect.fail(URLError.make("Cancelled", {
        failingURL: progress.request.url,
        message: "the delegate cancelled the task on its response"
      }))
    }
    if (disposition === "becomeDownload" && delivery.mayBecomeDownload === true) {
      const downloadTask = yield* handOver({
        becomeDownload: environment.becomeDownload,
        adopted: {
          originalRequest: exchange.originalRequest,
          request: progress.request,
          loading,
          scope: hopScope,
          forwardTo: events.ownHub()
        },
        taskIdentifier,
        events,
        onHandedOver: exchange.handedOver
      })
      return { _tag: "BecameDownload", taskIdentifier: downloadTask } as const
    }
    return yield* receiveBody(exchange, request, loading, clock)
  })
}

/**
 * A download task made from a data task starts with the data task's response and body; the
 * connection is its own from here and goes when this hop ends.
 */
export const adopted = <A>(
  exchange: Exchange<A>,
  load: AdoptedLoad,
  clock: Clock.Clock
): Effect.Effect<Hop.Hop<A>, URLError.URLError> =>
  Effect.scoped(Effect.suspend(() => {
    const { delivery, progress } = exchange
    progress.request = delivery.prepare === undefined ? load.request : delivery.prepare(load.request)
    progress.response = Option.some(load.loading.response)
    progress.expected = load.loading.response.expectedContentLength
    progress.lastActivity = clock.unsafeCurrentTimeMillis()
    return Effect.zipRight(
      Effect.addFinalizer((exit) => Scope.close(load.scope, exit)),
      receiveBody(exchange, load.request, load.loading, clock)
    )
  }))

// The body of the final response, into the delivery.
const receiveBody = <A>(
  exchange: Exchange<A>,
  request: URLRequest.URLRequest,
  loading: Loading,
  clock: Clock.Clock
): Effect.Effect<Hop.Hop<A>, URLError.URLError> => {
  const { delivery, progress } = exchange
  const deliver = (chunk: Uint8Array) => deliverChunk(exchange, clock, chunk)
  return Effect.gen(function*() {
    const finalResponse = loading.response
    yield* delivery.onResponse(finalResponse)
    const bodyOutcome = yield* Effect.either(Hop.drain(loading.pull, deliver))
    if (bodyOutcome._tag === "Left") {
      progress.awaitingConsumer = false
      // Apple: a download suspended long enough for the server to close the connection goes
      // on from its resume data when resumed.
      const goOn = bodyOutcome.left.code === "NetworkConnectionLost" && progress.wasSuspended &&
        delivery.continueAfterConnectionLoss !== undefined &&
        (yield* delivery.continueAfterConnectionLoss())
      if (goOn) return { _tag: "Restart", request } as const
      return yield* Effect.fail(bodyOutcome.left)
    }
    // The body is complete: from here the task succeeds, whatever arrives (a cancel, a
    // timeout) before its completion is announced. Finishing (closing, flushing a file) is
    // the task's own work, not network idleness.
    progress.awaitingConsumer = true
    const value = yield* delivery.finish(finalResponse)
    progress.awaitingConsumer = false
    exchange.finished(value)
    return { _tag: "Done", value } as const
  })
}

// A chunk into the delivery: `undefined` when it was taken at once. A suspended task holds
// it at the gate until resumed.
const deliverChunk = <A>(
  exchange: Exchange<A>,
  clock: Clock.Clock,
  chunk: Uint8Array
): Effect.Effect<void, URLError.URLError> | undefined =>
  exchange.gate.isOpen
    ? deliverNow(exchange, clock, chunk)
    : exchange.gate.whenOpen(Effect.suspend(() => deliverNow(exchange, clock, chunk) ?? Effect.void))

const deliverNow = <A>(
  exchange: Exchange<A>,
  clock: Clock.Clock,
  chunk: Uint8Array
): Effect.Effect<void, URLError.URLError> | undefined => {
  const { delivery, events, progress } = exchange
  progress.received += chunk.byteLength
  const reporting = delivery.reportsData && events.observed()
    ? events.emitNow(URLSessionEvent.DidReceiveData({ taskIdentifier: exchange.task.taskIdentifier, data: chunk }))
    : undefined
  const delivered = reporting === undefined
    ? delivery.onData(chunk)
    : Effect.zipRight(reporting, Effect.suspend(() => delivery.onData(chunk) ?? Effect.void))
  if (delivered === undefined) {
    progress.lastActivity = clock.unsafeCurrentTimeMillis()
    return undefined
  }
  // A failure or an interruption here ends the task, so the flag needs no finalizer.
  progress.awaitingConsumer = true
  return Effect.map(delivered, () => {
    progress.awaitingConsumer = false
    progress.lastActivity = clock.unsafeCurrentTimeMillis()
  })
}
