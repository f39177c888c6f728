import * as Chunk from "effect/Chunk"
import * as Effect from "effect/Effect"
import * as Option from "effect/Option"
import * as Stream from "effect/Stream"

const End: unique symbol = Symbol.for("@urlsession/core/EventHub/End")

// A subscriber may lag this many backpressured events behind before their publisher waits.
const subscriberCapacity = 16

const nextTurn = Effect.async<void>((resume) => {
  const timer = setTimeout(() => resume(Effect.void), 0)
  return Effect.sync(() => clearTimeout(timer))
})

/** Stands in a subscriber's queue for the latest coalesced event of its key. */
class Latest {
  constructor(readonly key: string) {}
}

type Item<A> = A | Latest | typeof End

class Subscriber<A> {
  // What the subscriber has not taken yet, and the wait of its pull for something to come.
  private items: Array<Item<A>> = []
  private wake: (() => void) | undefined
  /** The latest coalesced event per key, not yet taken by the subscriber. */
  readonly latest = new Map<string, A>()
  /** Counts the other events queued: coalescing never reaches across one of them. */
  generation = 0
  // Backpressured events the subscriber may still buffer, and the publishers waiting for
  // room (each queues its event in the same step as it takes the room, so an interrupted
  // publisher never takes room without using it).
  private room = subscriberCapacity
  private readonly waiting: Array<() => void> = []

  constructor(
    readonly isBackpressured: (item: A) => boolean
  ) {}

  /** Queues `item` (an event not backpressured, a coalesced one, or the end). */
  push(item: Item<A>): void {
    this.items.push(item)
    const wake = this.wake
    this.wake = undefined
    if (wake !== undefined) wake()
  }

  /**
   * At least one item, and what else is queued by the next turn of the event loop: a
   * consumer ahead of its publishers would otherwise wake for every item or two (tasks
   * progress one network callback at a time), paying a stream step for each. A timer, not
   * the Clock: the wait is for other callbacks to run, in any Clock. Items are taken only
   * in the step that returns them, never before a wait: an interrupted pull loses nothing.
   */
  get takeBatch(): Effect.Effect<Array<Item<A>>> {
    return Effect.suspend(() =>
      this.items.length > 0 ? Effect.succeed(this.takeAll()) : Effect.zipRight(
        this.whenNonEmpty,
        Effect.zipRight(nextTurn, Effect.sync(() => this.takeAll()))
      )
    )
  }

  private takeAll(): Array<Item<A>> {
    const items = this.items
    this.items = []
    return items
  }

  // An interrupted wait clears its own waker only: its cleanup may run after the next pull
  // has set one.
  private readonly whenNonEmpty = Effect.async<void>((resume) => {
    if (this.items.length > 0) return resume(Effect.void)
    const wake = () => resume(Effect.void)
    this.wake = wake
    return Effect.sync(() => {
      if (this.wake === wake) this.wake = undefined
    })
  })

  /** Drops what was not taken: the subscription ended. */
  clear(): void {
    this.items = []
    this.wake = undefined
  }

  /** Queues a backpressured event now if there is room (`undefined`), or once there is. */
  offerWhenRoom(event: A): Effect.Effect<void> | undefined {
    if (this.room > 0) {
      this.room--
      this.generation++
      this.push(event)
      return undefined
    }
    // Checked again when the wait starts: the publisher waits for its subscribers one after
    // another, and this one may have caught up (and asks for nothing more) meanwhile.
    return Effect.async<void>((resume) => {
      if (this.room > 0) {
        this.room--
        this.generation++
        this.push(event)
        return resume(Effect.void)
      }
      const waiter = () => {
        this.generation++
        this.push(event)
        resume(Effect.void)
      }
      this.waiting.push(waiter)
      return Effect.sync(() => {
        const index = this.waiting.indexOf(waiter)
        if (index !== -1) this.waiting.splice(index, 1)
      })
    })
  }

  /** Gives back room for `count` events taken by the consumer. */
  release(count: number): void {
    this.room += count
    while (this.room > 0 && this.waiting.length > 0) {
      this.room--
      this.waiting.shift()!()
    }
  }

  /** The subscriber left: nobody waits for it any more (what it is offered is dropped). */
  leave(): void {
    this.release(Number.POSITIVE_INFINITY)
  }
}

/**
 * A broadcast of events to the subscribers present when each event is published.
 *
 * Events published with backpressure (body data) make the publisher wait while a subscriber
 * already holds `subscriberCapacity` of them, so a slow subscriber slows the transfer instead
 * of growing memory. Every other event (responses, redirects, completions) is delivered
 * without waiting, so completing a task or closing a session never hangs on a subscriber.
 *
 * Subscribing and closing are synchronous with respect to each other: a subscriber either
 * sees the hub's last event and then the end, or sees an already closed hub and ends at
 * once. `active` lets publishers skip building events nobody will read.
 */
export class EventHub<A> {
  private readonly subscribers = new Set<Subscriber<A>>()
  private closed = false

  /**
   * @param isBackpressured events that make their publisher wait for lagging subscribers
   * @param coalescingKey events with a key replace a not yet taken event of the same key
   * @param coalesce how an event replaces the one waiting (by default: the newer wins)
   */
  constructor(
    private readonly isBackpressured: (item: A) => boolean,
    private readonly coalescingKey: (item: A) => string | undefined = () => undefined,
    private readonly coalesce: (waiting: A, next: A) => A = (_, next) => next
  ) {}

  get active(): boolean {
    return this.subscribers.size > 0
  }

  publish(event: A): Effect.Effect<void> {
    return Effect.suspend(() => this.offer(event) ?? Effect.void)
  }

  /**
   * Publishes `event` now: `undefined` when every subscriber took it, else what the
   * publisher must wait for (room at a subscriber lagging behind).
   */
  offer(event: A): Effect.Effect<void> | undefined {
    if (this.subscribers.size === 0 || this.closed) return undefined
    const key = this.coalescingKey(event)
    if (key !== undefined) {
      for (const subscriber of this.subscribers) {
        const slot = `${key}#${subscriber.generation}`
        const waiting = subscriber.latest.get(slot)
        subscriber.latest.set(slot, waiting === undefined ? event : this.coalesce(waiting, event))
        if (waiting === undefined) subscriber.push(new Latest(slot))
      }
      return undefined
    }
    if (!this.isBackpressured(event)) {
      for (const subscriber of this.subscribers) {
        subscriber.generation++
        subscriber.push(event)
      }
      return undefined
    }
    // Each subscriber in turn: one with room takes the event at once; the publisher waits
    // for one without.
    let waits: Array<Effect.Effect<void>> | undefined
    for (const subscriber of this.subscribers) {
      const wait = subscriber.offerWhenRoom(event)
      if (wait !== undefined) (waits ??= []).push(wait)
    }
    return waits === undefined ? undefined : Effect.all(waits, { discard: true })
  }

  /** Ends every subscription after the events already published. Idempotent. */
  close(): Effect.Effect<void> {
    return Effect.sync(() => this.closeNow())
  }

  /** {@link close}, at once. */
  closeNow(): void {
    if (this.closed) return
    this.closed = true
    for (const subscriber of this.subscribers) subscriber.push(End)
  }

  /** Built when first asked for: most hubs (a task's, with nobody listening) never are. */
  get subscribe(): Stream.Stream<A> {
    return this.subscription ??= this.makeSubscription()
  }

  private subscription: Stream.Stream<A> | undefined

  private makeSubscription = (): Stream.Stream<A> =>
    Stream.unwrapScoped(
      Effect.acquireRelease(
        Effect.sync(() => {
          if (this.closed) return undefined
          const subscriber = new Subscriber<A>(this.isBackpressured)
          this.subscribers.add(subscriber)
          return subscriber
        }),
        (subscriber) =>
          subscriber === undefined ? Effect.void : Effect.sync(() => {
            this.subscribers.delete(subscriber)
            subscriber.leave()
            subscriber.clear()
          })
      ).pipe(
        Effect.map((subscriber) => subscriber === undefined ? Stream.empty : this.eventsOf(subscriber))
      )
    )

  // Whatever is queued, as one chunk per pull (at least one event): one step of the stream
  // per batch rather than per event. The permits of a batch's data events go back when the
  // next batch is asked for, that is once the consumer is done with it: a subscriber never
  // holds more than `subscriberCapacity` of them, queued or in hand.
  private eventsOf(subscriber: Subscriber<A>): Stream.Stream<A> {
    let ended = false
    let inHand = 0
    const takeBatch = Effect.map(
      subscriber.takeBatch,
      (items) => {
        const events: Array<A> = []
        let backpressured = 0
        for (const item of items) {
          if (item === End) {
            ended = true
            break
          }
          let event: A
          if (item instanceof Latest) {
            event = subscriber.latest.get(item.key)!
            subscriber.latest.delete(item.key)
          } else {
            event = item
          }
          if (subscriber.isBackpressured(event)) backpressured++
          events.push(event)
        }
        inHand = backpressured
        return Chunk.unsafeFromArray(events)
      }
    )
    const releaseInHand = Effect.sync(() => {
      const done = inHand
      inHand = 0
      if (done > 0) subscriber.release(done)
    })
    return Stream.repeatEffectChunkOption(
      Effect.zipRight(releaseInHand, Effect.suspend(() => ended ? Effect.fail(Option.none()) : takeBatch))
    )
  }
}
