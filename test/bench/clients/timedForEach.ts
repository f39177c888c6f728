/**
 * The Effect clients' counterpart of `timedPool` (../BenchClient.ts): `count` runs of one
 * effect, at most `concurrency` at once, each timed; for clients whose requests are fibers.
 * (A file of its own so that the Promise clients' processes never load Effect.)
 */
import { Effect } from "effect"

export const timedForEach = <E, R>(
  count: number,
  concurrency: number,
  one: Effect.Effect<unknown, E, R>
): Effect.Effect<Float64Array, E, R> =>
  Effect.suspend(() => {
    const latencies = new Float64Array(count)
    return Effect.as(
      Effect.forEach(
        Array.from({ length: count }, (_, index) => index),
        (index) =>
          Effect.suspend(() => {
            const start = performance.now()
            return Effect.map(one, () => {
              latencies[index] = performance.now() - start
            })
          }),
        { concurrency, discard: true }
      ),
      latencies
    )
  })
