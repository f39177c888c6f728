/**
 * What Effect's runtime itself costs on this machine, in a process of its own: microseconds
 * per operation, 64 at a time as in case 1b. These bound what urlsession can reach: a task is
 * a fiber, holds a scope per request, and a subscriber to a task's events runs a Stream.
 * Prints one JSON line: `{ "<operation>": microseconds, ... }`.
 */
import { Effect, Fiber, Stream } from "effect"

const count = 4000

const operations: ReadonlyArray<readonly [string, () => Effect.Effect<unknown>]> = [
  ["Effect.forEach step (the harness)", () => Effect.void],
  ["fork + join", () => Effect.flatMap(Effect.fork(Effect.void), Fiber.join)],
  ["scope with a finalizer", () => Effect.scoped(Effect.addFinalizer(() => Effect.void))],
  ["Stream.runDrain of 3 items", () => Stream.runDrain(Stream.fromIterable([1, 2, 3]))]
]

const microseconds = async (one: () => Effect.Effect<unknown>): Promise<number> => {
  const run = Effect.forEach(Array.from({ length: count }), one, { concurrency: 64, discard: true })
  await Effect.runPromise(run)
  const samples: Array<number> = []
  for (let round = 0; round < 3; round++) {
    const started = performance.now()
    await Effect.runPromise(run)
    samples.push((performance.now() - started) * 1000 / count)
  }
  return samples.sort((a, b) => a - b)[1]!
}

const main = async () => {
  const costs: Record<string, number> = {}
  for (const [name, one] of operations) costs[name] = Math.round(await microseconds(one))
  console.log(JSON.stringify(costs))
}

main().catch((error: unknown) => {
  console.error(error)
  process.exit(1)
})
