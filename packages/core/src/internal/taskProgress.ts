import * as Effect from "effect/Effect"
import * as Option from "effect/Option"
import type * as URLRequest from "../URLRequest.js"
import type { URLResponse } from "../URLResponse.js"

/** Where a task's load stands: its current request and response, and its counters. */
export class TaskProgress {
  response: Option.Option<URLResponse> = Option.none()
  received = 0
  expected = -1
  sent = 0
  expectedToSend = 0
  /** When a byte last moved, for the idle timer. */
  lastActivity = 0
  /** While the task waits for a consumer (backpressure), the network is not idle: it is us. */
  awaitingConsumer = false
  /** Whether the caller has suspended the task since it started. */
  wasSuspended = false

  constructor(public request: URLRequest.URLRequest) {}
}

/**
 * What holds a task back while its caller keeps it suspended: a latch, made at the first
 * `suspend`. `isOpen` mirrors it, so a running task passes without an Effect.
 */
export class SuspendGate {
  isOpen = true
  private latch: Effect.Latch | undefined

  /** Runs `effect` once the gate is open. */
  whenOpen<A, E, R>(effect: Effect.Effect<A, E, R>): Effect.Effect<A, E, R> {
    return this.isOpen || this.latch === undefined ? effect : this.latch.whenOpen(effect)
  }

  close(): Effect.Effect<void> {
    this.isOpen = false
    return (this.latch ??= Effect.unsafeMakeLatch(true)).close
  }

  open(): Effect.Effect<void> {
    this.isOpen = true
    return this.latch === undefined ? Effect.void : this.latch.open
  }
}
