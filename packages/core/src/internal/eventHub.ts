import * as Effect from "effect/Effect"
import * as Queue from "effect/Queue"
import * as Stream from "effect/Stream"

const End: unique symbol = Symbol.for("@urlsession/core/EventHub/End")

// Each subscriber gets a small bounded queue: a slow subscriber makes `publish` wait
// (so data events backpressure the transfer) instead of letting memory grow.
const subscriberCapacity = 16

// A subscriber that leaves shuts its queue down, which fails a publisher waiting on that
// queue with an interruption of its own. That is the subscriber's business, not the
// publisher's: the event is simply not delivered. (An interruption from outside the
// publisher's fiber is not caught here.)
const offer = <A>(queue: Queue.Queue<A>, item: A): Effect.Effect<void> =>
  Queue.offer(queue, item).pipe(Effect.catchAllCause(() => Effect.void))

/**
 * A broadcast of events to the subscribers present when each event is published.
 *
 * Unlike `PubSub`, subscribing and closing are synchronous with respect to each other, so a
 * subscriber either sees the hub's last event and then the end, or sees an already closed
 * hub and ends at once: it never waits forever. `active` lets publishers skip building
 * events nobody will read.
 */
export class EventHub<A> {
  private readonly subscribers = new Set<Queue.Queue<A | typeof End>>()
  private closed = false

  get active(): boolean {
    return this.subscribers.size > 0
  }

  publish(event: A): Effect.Effect<void> {
    if (this.subscribers.size === 0) return Effect.void
    if (this.subscribers.size === 1) {
      for (const queue of this.subscribers) return offer(queue, event)
    }
    return Effect.forEach(this.subscribers, (queue) => offer(queue, event), { discard: true })
  }

  /** Ends every subscription after the events already published. Idempotent. */
  close(): Effect.Effect<void> {
    if (this.closed) return Effect.void
    this.closed = true
    return Effect.forEach(this.subscribers, (queue) => offer(queue, End), { discard: true })
  }

  readonly subscribe: Stream.Stream<A> = Stream.unwrapScoped(
    Effect.acquireRelease(
      Effect.flatMap(Queue.bounded<A | typeof End>(subscriberCapacity), (queue) =>
        Effect.sync(() => {
          if (this.closed) return undefined
          this.subscribers.add(queue)
          return queue
        })),
      (queue) =>
        queue === undefined ? Effect.void : Effect.suspend(() => {
          this.subscribers.delete(queue)
          return Queue.shutdown(queue)
        })
    ).pipe(
      Effect.map((queue) =>
        queue === undefined
          ? Stream.empty
          : Stream.fromQueue(queue).pipe(Stream.takeWhile((item): item is A => item !== End))
      )
    )
  )
}
