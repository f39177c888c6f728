/**
 * Tasks beyond 16 × `httpMaximumConnectionsPerHost` per origin wait for a place without a
 * fiber. What a caller sees must not change: every task completes, in order of resumption;
 * a waiting task is running, can be cancelled and times out (Apple: waiting for a connection
 * is part of the request); one origin's queue never holds up another's; and a session that
 * finishes its tasks runs the waiting ones too.
 */
import { describe, expect, it } from "@effect/vitest"
import { ScriptedURLProtocol, URLRequest, URLSession, URLSessionConfiguration } from "@urlsession/core"
import { NodeURLSession } from "@urlsession/node"
import { Cause, Deferred, Effect, Exit, Fiber, Option, TestClock } from "effect"
import type * as http from "node:http"
import { httpServer } from "../fixtures/servers.js"

// One connection per host: sixteen tasks run, the seventeenth on waits.
const oneConnection = NodeURLSession.layer(
  URLSessionConfiguration.default.pipe(URLSessionConfiguration.with({ httpMaximumConnectionsPerHost: 1 }))
)
const places = 16

/** A server that holds every request until `release` is called; `seen` lists the paths in
 * the order they arrived. */
const holdingServer = Effect.gen(function*() {
  const held: Array<http.ServerResponse> = []
  const seen: Array<string> = []
  let releasing = false
  const answer = (response: http.ServerResponse) => {
    response.writeHead(200, { "Content-Type": "text/plain" })
    response.end("ok")
  }
  const server = yield* httpServer((request, response) => {
    seen.push(request.url ?? "")
    if (releasing) answer(response)
    else held.push(response)
  })
  return {
    url: server.url,
    seen,
    held: () => held.length,
    release: () => {
      releasing = true
      for (const response of held.splice(0)) answer(response)
    }
  }
})

const waitUntil = (condition: () => boolean) =>
  Effect.promise(async () => {
    while (!condition()) await new Promise((resolve) => setTimeout(resolve, 10))
  })

const codeOf = (exit: Exit.Exit<unknown, { readonly code: string }>) =>
  Exit.isFailure(exit) ? Option.map(Cause.failureOption(exit.cause), (error) => error.code) : Option.none()

describe("tasks waiting for a place on their origin", () => {
  it.effect("at most 16 × httpMaximumConnectionsPerHost loads of an origin start at once; another origin has its own", () =>
    Effect.gen(function*() {
      let started = 0
      let maxStarted = 0
      const gate = yield* Deferred.make<void>()
      const session = ScriptedURLProtocol.layer(
        (request) =>
          Effect.zipRight(
            Effect.zipRight(
              Effect.sync(() => {
                started++
                maxStarted = Math.max(maxStarted, started)
              }),
              request.url.startsWith("https://other.test/") ? Effect.void : Deferred.await(gate)
            ),
            Effect.ensuring(ScriptedURLProtocol.respond({ body: "ok" })(request), Effect.sync(() => started--))
          ),
        URLSessionConfiguration.default.pipe(URLSessionConfiguration.with({ httpMaximumConnectionsPerHost: 2 }))
      )
      yield* Effect.gen(function*() {
        const loads = yield* Effect.forEach(
          Array.from({ length: 40 }, (_, i) => i),
          (i) => Effect.fork(URLSession.data(`https://busy.test/${i}`))
        )
        yield* Effect.repeat(Effect.sync(() => started), { until: (n) => n === 32 })
        yield* Effect.yieldNow({ priority: 1 })
        expect(started).toBe(32)
        // Another origin starts at once.
        yield* URLSession.data("https://other.test/")
        yield* Deferred.succeed(gate, undefined)
        yield* Effect.forEach(loads, Fiber.join, { discard: true })
        expect(maxStarted).toBe(33)
      }).pipe(Effect.provide(session))
    }))

  it.scopedLive("more tasks than places: all complete, in the order they were resumed", () =>
    Effect.gen(function*() {
      const server = yield* holdingServer
      const tasks = yield* Effect.forEach(Array.from({ length: places + 8 }, (_, i) => i), (i) =>
        URLSession.dataTask(`${server.url}/${i}`))
      yield* Effect.forEach(tasks, (task) =>
        task.resume, { discard: true })
      yield* waitUntil(() => server.held() === 1)
      // Every resumed task is running, waiting or not.
      expect(yield* Effect.forEach(tasks, (task) => task.state)).toEqual(Array(places + 8).fill("running"))
      expect((yield* URLSession.allTasks).length).toBe(places + 8)
      server.release()
      const results = yield* Effect.forEach(tasks, (task) => task.await)
      expect(results.map(({ data }) => new TextDecoder().decode(data))).toEqual(Array(places + 8).fill("ok"))
      expect(server.seen).toEqual(Array.from({ length: places + 8 }, (_, i) => `/${i}`))
    }).pipe(Effect.provide(oneConnection)))

  it.scopedLive("a waiting task cancelled gives up its turn: it ends Cancelled, the others complete", () =>
    Effect.gen(function*() {
      const server = yield* holdingServer
      const tasks = yield* Effect.forEach(
        Array.from({ length: places + 2 }, (_, i) => i),
        (i) => URLSession.dataTask(`${server.url}/${i}`)
      )
      yield* Effect.forEach(tasks, (task) => task.resume, { discard: true })
      const waiting = tasks[places]!
      yield* waiting.cancel
      expect(codeOf(yield* Effect.exit(waiting.await))).toEqual(Option.some("Cancelled"))
      expect(yield* waiting.state).toBe("completed")
      server.release()
      const others = tasks.filter((task) => task !== waiting)
      yield* Effect.forEach(others, (task) => task.await, { discard: true })
      expect(server.seen).not.toContain(`/${places}`)
      expect(server.seen).toHaveLength(places + 1)
    }).pipe(Effect.provide(oneConnection)))

  it.scopedLive("interrupting a caller whose task waits cancels the task", () =>
    Effect.gen(function*() {
      const server = yield* holdingServer
      const running = yield* Effect.forEach(Array.from({ length: places }, (_, i) => i), (i) =>
        Effect.fork(URLSession.data(`${server.url}/${i}`)))
      const waiting = yield* Effect.fork(URLSession.data(`${server.url}/waiting`))
      yield* waitUntil(() =>
        server.held() === 1
      )
      // Its task exists and waits.
      yield* Effect.repeat(URLSession.allTasks, { until: (tasks) => tasks.length === places + 1 })
      yield* Fiber.interrupt(waiting)
      server.release()
      yield* Effect.forEach(running, Fiber.join, { discard: true })
      expect(server.seen).not.toContain("/waiting")
    }).pipe(Effect.provide(oneConnection)))

  it.scoped(
    "a waiting task's request timeout runs on its resumer's clock, from its resume",
    () =>
      Effect.gen(function*() {
        const server = yield* holdingServer
        const request = (i: number) =>
          URLRequest.make(`${server.url}/${i}`).pipe(URLRequest.setTimeoutInterval("10 seconds"))
        const loads = yield* Effect.forEach(
          Array.from({ length: places + 2 }, (_, i) => i),
          (i) => Effect.fork(Effect.exit(URLSession.data(request(i))))
        )
        yield* waitUntil(() => server.held() === 1)
        yield* TestClock.adjust("11 seconds")
        const exits = yield* Effect.forEach(loads, Fiber.join)
        expect(exits.map(codeOf)).toEqual(Array(places + 2).fill(Option.some("TimedOut")))
        // The waiting ones never reached the server.
        expect(server.seen).toHaveLength(1)
      }).pipe(Effect.provide(oneConnection)),
    20_000
  )

  it.scopedLive("a full origin does not hold up another", () =>
    Effect.gen(function*() {
      const busy = yield* holdingServer
      const other = yield* holdingServer
      other.release()
      const busyLoads = yield* Effect.forEach(Array.from({ length: places * 2 }, (_, i) => i), (i) =>
        Effect.fork(URLSession.data(`${busy.url}/${i}`)))
      yield* waitUntil(() =>
        busy.held() === 1
      )
      const { data } = yield* URLSession.data(`${other.url}/free`)
      expect(new TextDecoder().decode(data)).toBe("ok")
      busy.release()
      yield* Effect.forEach(busyLoads, Fiber.join, { discard: true })
    }).pipe(Effect.provide(oneConnection)))

  it.scopedLive("finishTasksAndInvalidate runs the waiting tasks to completion", () =>
    Effect.gen(function*() {
      const server = yield* holdingServer
      const tasks = yield* Effect.forEach(Array.from({ length: places + 3 }, (_, i) => i), (i) =>
        URLSession.dataTask(`${server.url}/${i}`))
      yield* Effect.forEach(tasks, (task) =>
        task.resume, { discard: true })
      yield* waitUntil(() => server.held() === 1)
      const invalidating = yield* Effect.fork(Effect.flatMap(URLSession.URLSession, (session) =>
        session.finishTasksAndInvalidate))
      const released = yield* Deferred.make<void>()
      yield* Effect.fork(Effect.zipRight(
        Effect.sleep("100 millis"),
        Effect.sync(() => {
          server.release()
          Deferred.unsafeDone(released, Exit.void)
        })
      ))
      yield* Deferred.await(released)
      yield* Fiber.join(invalidating)
      const exits = yield* Effect.forEach(tasks, (task) =>
        Effect.exit(task.await))
      expect(exits.every(Exit.isSuccess)).toBe(true)
      expect(server.seen).toHaveLength(places + 3)
    }).pipe(Effect.provide(oneConnection)))
})
