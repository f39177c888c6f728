import { describe, expect, it } from "@effect/vitest"
import { URLSession, URLSessionConfiguration } from "@urlsession/core"
import { NodeURLSession } from "@urlsession/node"
import { Effect } from "effect"
import { sha256 } from "../fixtures/files.js"
import { httpServer } from "../fixtures/servers.js"

const session = NodeURLSession.layer(URLSessionConfiguration.default)
/** Serves `size` bytes as fast as the client reads them, recording when it must wait. */
const backpressuredServer = (size: number) =>
  Effect.gen(function*() {
    const body = Buffer.alloc(size, "abcdefgh")
    const progress = { written: 0, waitingForDrain: false }
    const server = yield* httpServer((_, response) => {
      response.writeHead(200, { "Content-Length": String(size) })
      const writeMore = () => {
        progress.waitingForDrain = false
        while (progress.written < size) {
          const piece = body.subarray(progress.written, progress.written + 64 * 1024)
          progress.written += piece.length
          if (!response.write(piece)) {
            progress.waitingForDrain = true
            return void response.once("drain", writeMore)
          }
        }
        response.end()
      }
      writeMore()
    })
    return { url: server.url, body, progress }
  })

const waitUntil = (condition: () => boolean) =>
  Effect.gen(function*() {
    while (!condition()) yield* Effect.sleep("5 millis")
  })

describe("suspend and resume", () => {
  it.live("suspend stops reading so the server is backpressured; resume finishes the body", () =>
    Effect.gen(function*() {
      const server = yield* backpressuredServer(32 * 1024 * 1024)
      const task = yield* URLSession.dataTask(server.url)
      yield* task.resume
      yield* waitUntil(() => server.progress.written > 0)
      yield* task.suspend
      expect(yield* task.state).toBe("suspended")
      expect((yield* URLSession.allTasks).map((t) => t.taskIdentifier)).toEqual([task.taskIdentifier])

      // The task reads nothing more while suspended…
      yield* Effect.sleep("20 millis")
      const received = yield* task.countOfBytesReceived
      // …so once the buffers between the two (undici's, the sockets', TCP's window) are full,
      // the server cannot write any more either.
      let stalled = false
      for (let round = 0; round < 50 && !stalled; round++) {
        const written = server.progress.written
        yield* Effect.sleep("200 millis")
        stalled = server.progress.waitingForDrain && server.progress.written === written
      }
      expect(stalled).toBe(true)
      expect(yield* task.countOfBytesReceived).toBe(received)
      expect(server.progress.written).toBeLessThan(server.body.length / 2)

      yield* task.resume
      expect(yield* task.state).toBe("running")
      const { data } = yield* task.await
      expect(sha256(data)).toBe(sha256(server.body))
    }).pipe(Effect.provide(session), Effect.scoped))

  it.scoped("suspend before resume and extra resumes change nothing", () =>
    Effect.gen(function*() {
      const server = yield* httpServer((_, response) => response.end("ok"))
      const task = yield* URLSession.dataTask(server.url)
      yield* task.suspend
      expect(yield* task.state).toBe("suspended")
      yield* task.resume
      yield* task.resume
      expect(new TextDecoder().decode((yield* task.await).data)).toBe("ok")
      expect(server.connections.accepted()).toBe(1)
    }).pipe(Effect.provide(session)))

  it.live("every suspend needs its own resume (Apple's suspend count)", () =>
    Effect.gen(function*() {
      const server = yield* backpressuredServer(8 * 1024 * 1024)
      const task = yield* URLSession.dataTask(server.url)
      yield* task.resume
      yield* waitUntil(() => server.progress.written > 0)
      yield* task.suspend
      yield* task.suspend
      yield* task.resume
      expect(yield* task.state).toBe("suspended")
      yield* task.resume
      expect(yield* task.state).toBe("running")
      yield* task.resume // nothing left to undo
      expect(sha256((yield* task.await).data)).toBe(sha256(server.body))
    }).pipe(Effect.provide(session), Effect.scoped))
})
