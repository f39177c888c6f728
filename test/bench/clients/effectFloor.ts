/**
 * Not a client anyone would use: the floor under any Effect client of undici. Each GET is
 * `undici.request` and its body in one `Effect.async`, nothing else (no scope, no events, no
 * timeouts, no headers of its own), run like urlsession (one `ManagedRuntime`,
 * `timedForEach`). `forked` also runs each GET in a fiber of its own, joined, as a task runs
 * in its fiber. The gap between these and undici.request is what Effect's runtime costs; the
 * gap between them and urlsession is what urlsession adds.
 */
import { Effect, Fiber, Layer, ManagedRuntime } from "effect"
import { Agent, request } from "undici"
import type { BenchClient } from "../BenchClient.js"
import { timedForEach } from "./timedForEach.js"

export const make = async (forked: boolean): Promise<BenchClient> => {
  const dispatcher = new Agent({ connections: 6 })
  const runtime = ManagedRuntime.make(Layer.empty)
  const get = (url: string) =>
    Effect.async<ArrayBuffer, unknown>((resume) => {
      request(url, { dispatcher }).then((response) => response.body.arrayBuffer()).then(
        (body) => resume(Effect.succeed(body)),
        (error: unknown) => resume(Effect.fail(error))
      )
    })
  const one = (url: string) => forked ? Effect.flatMap(Effect.fork(get(url)), Fiber.join) : get(url)
  return {
    get: (url, count, concurrency) => runtime.runPromise(timedForEach(count, concurrency, one(url))),
    close: async () => {
      await runtime.dispose()
      await dispatcher.close()
    }
  }
}
