import * as Clock from "effect/Clock"
import * as Duration from "effect/Duration"
import * as Effect from "effect/Effect"
import * as Fiber from "effect/Fiber"

/** Something with a deadline that may move later while it waits. */
export interface Watched {
  /** The deadline as of `now` (milliseconds on the Clock), `Infinity` for none. */
  readonly deadline: (now: number) => number
  /** The deadline passed. */
  readonly expire: (now: number) => Effect.Effect<void>
}

/**
 * One fiber that keeps the deadlines of many tasks on one `Clock` (entries must be added
 * from fibers running on it, so that the fiber it forks sleeps on it): it sleeps (on Effect's `Clock`, so
 * `TestClock` drives it) until the nearest deadline, expires what is due and sleeps again.
 * A task costs a set entry instead of a fiber and a timer of its own; deadlines that moved
 * later (an idle timer re-armed by bytes) are simply found later when it wakes.
 */
export class Watchdog {
  private readonly watched = new Set<Watched>()
  private wakeAt = Infinity
  private sleeper: Fiber.RuntimeFiber<void> | undefined

  constructor(
    /** Forks the watchdog's fiber where it may live as long as the tasks it watches. */
    private readonly fork: (effect: Effect.Effect<void>) => Effect.Effect<Fiber.RuntimeFiber<void>>
  ) {}

  /**
   * Watches `entry` until it expires or is removed; `now` is the time on the watchdog's
   * clock. Gives an Effect to run only when the watchdog must start, or wake earlier.
   */
  add(entry: Watched, now: number): Effect.Effect<void> | undefined {
    this.watched.add(entry)
    const deadline = entry.deadline(now)
    if (this.sleeper !== undefined && deadline >= this.wakeAt) return undefined
    // Due before the watchdog wakes: wake it earlier.
    const previous = this.sleeper
    this.wakeAt = deadline
    return Effect.zipRight(
      previous === undefined ? Effect.void : Fiber.interruptFork(previous),
      Effect.map(this.fork(this.watch), (fiber) => {
        this.sleeper = fiber
      })
    )
  }

  remove(entry: Watched): void {
    this.watched.delete(entry)
  }

  private readonly watch: Effect.Effect<void> = Effect.gen(this, function*() {
    while (true) {
      const now = yield* Clock.currentTimeMillis
      yield* Effect.uninterruptible(this.expireDue(now))
      // Computed after expiring: entries added meanwhile count.
      let next = Infinity
      for (const entry of this.watched) next = Math.min(next, entry.deadline(now))
      this.wakeAt = next
      if (next === Infinity) {
        this.sleeper = undefined
        return
      }
      yield* Effect.sleep(Duration.millis(Math.max(next - now, 0)))
    }
  })

  private expireDue(now: number): Effect.Effect<void> {
    const due: Array<Watched> = []
    for (const entry of this.watched) {
      if (entry.deadline(now) <= now) due.push(entry)
    }
    for (const entry of due) this.watched.delete(entry)
    return Effect.forEach(due, (entry) => entry.expire(now), { discard: true })
  }
}
