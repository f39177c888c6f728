/**
 * Whether the daemon has work: attached apps, data loads and transfers (running or waiting
 * to retry) each count while their scope is open; the daemon is idle once none has for a
 * while.
 */
import * as Duration from "effect/Duration"
import * as Effect from "effect/Effect"
import type * as Scope from "effect/Scope"
import * as Stream from "effect/Stream"
import * as SubscriptionRef from "effect/SubscriptionRef"

export interface Idleness {
  /** Counts as work while the current scope is open. */
  readonly busyWhile: Effect.Effect<void, never, Scope.Scope>
  /** Completes once nothing has counted as work for `duration` in a row. */
  readonly idleFor: (duration: Duration.DurationInput) => Effect.Effect<void>
}

export const make: Effect.Effect<Idleness> = Effect.map(SubscriptionRef.make(0), (busy) => {
  const when = (predicate: (n: number) => boolean) =>
    busy.changes.pipe(Stream.filter(predicate), Stream.take(1), Stream.runDrain)
  return {
    busyWhile: Effect.asVoid(Effect.acquireRelease(
      SubscriptionRef.update(busy, (n) => n + 1),
      () => SubscriptionRef.update(busy, (n) => n - 1)
    )),
    idleFor: (duration) =>
      Effect.gen(function*() {
        for (;;) {
          yield* when((n) => n === 0)
          const quiet = yield* Effect.raceFirst(
            Effect.as(Effect.sleep(Duration.decode(duration)), true),
            Effect.as(when((n) => n > 0), false)
          )
          if (quiet) return
        }
      })
  }
})
