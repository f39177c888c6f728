import { describe, expect, it } from "@effect/vitest"
import { URLSession, URLSessionConfiguration, URLSessionEvent } from "@urlsession/core"
import { NodeURLSession } from "@urlsession/node"
import { Chunk, Effect, Fiber, Option, Stream } from "effect"
import { collectCompletions } from "../fixtures/events.js"
import { patterned, sha256 } from "../fixtures/files.js"
import { bodyServer, httpServer } from "../fixtures/servers.js"

const session = NodeURLSession.layer(URLSessionConfiguration.default)

type Event = URLSessionEvent.URLSessionEvent
const tagsOf = (events: ReadonlyArray<Event>) => events.map((event) => event._tag)

describe("events", () => {
  it.scoped("a subscriber that subscribes before resume sees every event in Apple's order", () =>
    Effect.gen(function*() {
      const body = patterned(300 * 1024)
      const server = yield* bodyServer(body)
      const task = yield* URLSession.dataTask(server.url)
      const observed = yield* task.events.pipe(Stream.runCollect, Effect.fork)
      yield* task.resume
      const { data } = yield* task.await
      const events = Chunk.toArray(yield* Fiber.join(observed))
      const tags = tagsOf(events)
      expect(tags[0]).toBe("DidReceiveResponse")
      expect(tags.at(-1)).toBe("DidCompleteWithError")
      expect(tags.slice(1, -1).every((tag) => tag === "DidReceiveData")).toBe(true)
      expect(tags.length).toBeGreaterThan(2)
      expect(events.every((event) => "taskIdentifier" in event && event.taskIdentifier === task.taskIdentifier)).toBe(
        true
      )
      const received = Buffer.concat(
        events.filter(URLSessionEvent.$is("DidReceiveData")).map((event) => event.data)
      )
      expect(sha256(received)).toBe(sha256(body))
      expect(sha256(data)).toBe(sha256(body))
      const completion = events.at(-1) as Extract<Event, { _tag: "DidCompleteWithError" }>
      expect(completion.error).toEqual(Option.none())
    }).pipe(Effect.provide(session)))

  it.scoped("a task's events end at once for a subscriber that comes after completion", () =>
    Effect.gen(function*() {
      const server = yield* httpServer((_, response) => response.end("done"))
      const task = yield* URLSession.dataTask(server.url)
      yield* task.resume
      yield* task.await
      expect(Chunk.toArray(yield* Stream.runCollect(task.events))).toEqual([])
    }).pipe(Effect.provide(session)))

  it.scoped("the session's events carry every task's events", () =>
    Effect.gen(function*() {
      const server = yield* httpServer((request, response) => response.end(request.url))
      const observed = yield* collectCompletions(3)
      const tasks = yield* Effect.forEach(["/a", "/b", "/c"], (path) => URLSession.dataTask(server.url + path))
      yield* Effect.forEach(tasks, (task) => task.resume)
      yield* Effect.forEach(tasks, (task) => task.await)
      const completed = Chunk.toArray(yield* Fiber.join(observed)).map((event) => event.taskIdentifier)
      expect(completed.sort()).toEqual(tasks.map((task) => task.taskIdentifier).sort())
    }).pipe(Effect.provide(session)))

  it.scoped("a slow subscriber slows the transfer instead of buffering the body", () =>
    Effect.gen(function*() {
      const body = patterned(16 * 1024 * 1024)
      const server = yield* bodyServer(body)
      const task = yield* URLSession.dataTask(server.url)
      let seen = 0
      let maxAhead = 0
      let largestChunk = 0
      const subscriber = yield* task.events.pipe(
        Stream.runForEach((event) =>
          Effect.gen(function*() {
            if (event._tag !== "DidReceiveData") return
            seen += event.data.byteLength
            largestChunk = Math.max(largestChunk, event.data.byteLength)
            maxAhead = Math.max(maxAhead, (yield* task.countOfBytesReceived) - seen)
            yield* Effect.promise(() => new Promise((resolve) => setImmediate(resolve)))
          })
        ),
        Effect.fork
      )
      yield* task.resume
      const { data } = yield* task.await
      yield* Fiber.join(subscriber)
      expect(seen).toBe(body.length)
      expect(sha256(data)).toBe(sha256(body))
      // The task may run ahead of the subscriber by the subscriber's queue (16 events) and
      // the chunk in hand, never by the body.
      expect(maxAhead).toBeLessThanOrEqual(17 * largestChunk)
      expect(maxAhead).toBeLessThan(body.length / 4)
    }).pipe(Effect.provide(session)))
})
