import * as Effect from "effect/Effect"
import type * as Stream from "effect/Stream"
import * as URLSessionEvent from "../URLSessionEvent.js"
import { EventHub } from "./eventHub.js"

/**
 * Where a task's events go: its own subscribers (a hub made when the first one comes: most
 * tasks are never watched), the data task's it went on from (a download made by
 * `becomeDownload`), and the session's.
 */
export class TaskEvents {
  private hub: EventHub<URLSessionEvent.TaskEvent> | undefined
  private ended = false

  constructor(
    private readonly session: EventHub<URLSessionEvent.URLSessionEvent>,
    private readonly forwardTo: EventHub<URLSessionEvent.TaskEvent> | undefined
  ) {}

  /** Is anybody listening? Build no event when nobody is. */
  observed(): boolean {
    return this.hub?.active === true || this.session.active || this.forwardTo?.active === true
  }

  emit(event: URLSessionEvent.TaskEvent): Effect.Effect<void> {
    return Effect.suspend(() => this.emitNow(event) ?? Effect.void)
  }

  /** Publishes `event`: `undefined` when every subscriber took it at once. */
  emitNow(event: URLSessionEvent.TaskEvent): Effect.Effect<void> | undefined {
    const own = this.hub?.offer(event)
    const forwarded = this.forwardTo?.offer(event)
    const session = this.session.offer(event)
    if (own === undefined && forwarded === undefined) return session
    return Effect.all([own ?? Effect.void, forwarded ?? Effect.void, session ?? Effect.void], { discard: true })
  }

  get subscribe(): Stream.Stream<URLSessionEvent.TaskEvent> {
    return this.ownHub().subscribe
  }

  /** The task's own subscribers, who go on to hear the download task it becomes. A hub made
   * after the task ended is closed from the start: its subscribers end at once. */
  ownHub(): EventHub<URLSessionEvent.TaskEvent> {
    if (this.hub !== undefined) return this.hub
    const hub = new EventHub<URLSessionEvent.TaskEvent>(
      URLSessionEvent.isBackpressured,
      URLSessionEvent.coalescingKey,
      URLSessionEvent.coalesce
    )
    if (this.ended) hub.closeNow()
    this.hub = hub
    return hub
  }

  /** No more events of the task's own: later subscribers end at once, and present ones too
   * unless they go on to hear the download task it became (`keepSubscribers`). */
  end(keepSubscribers: boolean): Effect.Effect<void> | undefined {
    this.ended = true
    return keepSubscribers ? undefined : this.hub?.close()
  }
}
