/**
 * A background session's events on the app side: the stored events the app has not
 * acknowledged, replayed to every subscriber whenever it subscribes, then
 * `DidFinishEventsForBackgroundURLSession` once the attach caught up, then the live ones.
 */
import * as URLSessionEvent from "@urlsession/core/URLSessionEvent"
import * as Effect from "effect/Effect"
import * as Exit from "effect/Exit"
import * as Mailbox from "effect/Mailbox"
import type * as Scope from "effect/Scope"
import * as Stream from "effect/Stream"

interface StoredEvent {
  readonly sequence: number
  readonly event: URLSessionEvent.URLSessionEvent
}

const taskOf = (event: URLSessionEvent.URLSessionEvent): number | undefined =>
  "taskIdentifier" in event ? event.taskIdentifier : undefined

export class SessionEvents {
  private stored: Array<StoredEvent> = []
  // The daemon's sequence numbers survive its restarts: a re-attach replays what this
  // session delivered already, and this is how it knows. A set, not the highest seen: two
  // completions committed in one order may be published in the other.
  private readonly delivered = new Set<number>()
  private caughtUp = false
  private closed = false
  private readonly subscribers = new Set<Mailbox.Mailbox<URLSessionEvent.URLSessionEvent>>()

  /** Whether the stored event `sequence` is one this session has not delivered yet. */
  isNew(sequence: number): boolean {
    return !this.delivered.has(sequence)
  }

  /** Keeps a stored event until its task is acknowledged, and delivers it. */
  store(sequence: number, event: URLSessionEvent.URLSessionEvent): void {
    this.delivered.add(sequence)
    this.stored.push({ sequence, event })
    this.publish(event)
  }

  /** Delivers an event nobody keeps (progress, responses, data tasks' events). */
  publish(event: URLSessionEvent.URLSessionEvent): void {
    if (this.closed) return
    for (const subscriber of this.subscribers) subscriber.unsafeOffer(event)
  }

  /** The attach delivered every stored event: said once, even if the session re-attaches. */
  catchUp(): void {
    if (this.caughtUp) return
    this.caughtUp = true
    this.publish(URLSessionEvent.DidFinishEventsForBackgroundURLSession())
  }

  /** Forgets the task's stored events: the daemon no longer has them either. */
  acknowledge(taskIdentifier: number): void {
    for (const { event, sequence } of this.stored) if (taskOf(event) === taskIdentifier) this.delivered.delete(sequence)
    this.stored = this.stored.filter(({ event }) => taskOf(event) !== taskIdentifier)
  }

  /** Whether a stored event of the task is still waiting for its acknowledgement. */
  holds(taskIdentifier: number): boolean {
    return this.stored.some(({ event }) => taskOf(event) === taskIdentifier)
  }

  /** Ends every subscription after the events already delivered. */
  close(): void {
    if (this.closed) return
    this.closed = true
    for (const subscriber of this.subscribers) subscriber.unsafeDone(Exit.void)
    this.subscribers.clear()
  }

  /**
   * A subscription for the current scope: the replay, then what comes. The replay and the
   * subscription are taken in one step, so that no event falls between them.
   */
  get open(): Effect.Effect<Mailbox.ReadonlyMailbox<URLSessionEvent.URLSessionEvent>, never, Scope.Scope> {
    return Effect.acquireRelease(
      Effect.flatMap(Mailbox.make<URLSessionEvent.URLSessionEvent>(), (mailbox) =>
        Effect.sync(() => {
          mailbox.unsafeOfferAll(this.stored.map(({ event }) => event))
          if (this.caughtUp) mailbox.unsafeOffer(URLSessionEvent.DidFinishEventsForBackgroundURLSession())
          if (this.closed) mailbox.unsafeDone(Exit.void)
          else this.subscribers.add(mailbox)
          return mailbox
        })),
      (mailbox) => Effect.sync(() => this.subscribers.delete(mailbox))
    )
  }

  get subscribe(): Stream.Stream<URLSessionEvent.URLSessionEvent> {
    return Stream.unwrapScoped(Effect.map(this.open, Mailbox.toStream))
  }

  /**
   * One task's events, ending after its `DidCompleteWithError`; at once for a task that
   * completed and whose events were acknowledged (nothing of it is left to deliver).
   */
  subscribeTask(
    taskIdentifier: number,
    isCompleted: () => boolean
  ): Stream.Stream<URLSessionEvent.TaskEvent> {
    return Stream.suspend(() =>
      isCompleted() && !this.holds(taskIdentifier) ? Stream.empty : this.subscribe.pipe(
        Stream.filter((event): event is URLSessionEvent.TaskEvent => taskOf(event) === taskIdentifier),
        Stream.takeUntil((event) => event._tag === "DidCompleteWithError")
      )
    )
  }
}
