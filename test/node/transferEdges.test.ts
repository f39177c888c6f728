import { describe, expect, it } from "@effect/vitest"
import {
  URLSession,
  URLSessionConfiguration,
  type URLSessionDelegate,
  URLSessionEvent,
  type URLSessionTask
} from "@urlsession/core"
import { NodeURLSession } from "@urlsession/node"
import { Chunk, Deferred, Effect, Exit, Fiber, Option, Stream } from "effect"
import * as fs from "node:fs"
import type * as http from "node:http"
import { patterned, sha256, tempDirectory } from "../fixtures/files.js"
import { answerRange, closedPort, httpServer } from "../fixtures/servers.js"

const alwaysDownload: URLSessionDelegate.URLSessionDelegate = {
  didReceiveResponse: () => Effect.succeed("becomeDownload")
}

/**
 * One resource with an ETag and byte ranges. The first request without a range gets
 * `holdAfter` bytes and then nothing; `cut()` closes the held connections. Later requests
 * get everything (206 for a range).
 */
const rangeServer = (body: Buffer, holdAfter: number) =>
  Effect.gen(function*() {
    const requests: Array<http.IncomingHttpHeaders> = []
    const held = yield* Deferred.make<void>()
    const heldResponses: Array<http.ServerResponse> = []
    let full = 0
    const server = yield* httpServer((request, response) => {
      requests.push(request.headers)
      const headers = { ETag: "\"v1\"", "Accept-Ranges": "bytes" }
      if (answerRange(request, response, body, headers)) return
      response.writeHead(200, { ...headers, "Content-Length": String(body.length) })
      if (full++ > 0) return void response.end(body)
      heldResponses.push(response)
      response.write(body.subarray(0, holdAfter), () => Deferred.unsafeDone(held, Exit.void))
    })
    const cut = () => heldResponses.splice(0).forEach((response) => response.socket?.destroy())
    return { url: server.url, requests, held, cut }
  })

/** Reads every request body and answers 200 with its length. */
const sinkServer = Effect.gen(function*() {
  const server = yield* httpServer((request, response) => {
    let length = 0
    request.on("data", (chunk: Buffer) => {
      length += chunk.length
    })
    request.on("end", () => {
      response.writeHead(200, { "Content-Type": "text/plain" })
      response.end(String(length))
    })
  })
  return server
})

describe("a data task that became a download, at the edges", () => {
  it.live("a download made from a data task, suspended while the server closed the connection, goes on from resume data", () =>
    Effect.gen(function*() {
      const directory = yield* tempDirectory
      const body = patterned(1024 * 1024)
      const server = yield* rangeServer(body, 400_000)
      const layer = NodeURLSession.layer(URLSessionConfiguration.default, {
        delegate: alwaysDownload,
        downloadsDirectory: directory
      })
      yield* Effect.gen(function*() {
        const handedOver = yield* Deferred.make<URLSessionTask.URLSessionDownloadTask>()
        const task = yield* URLSession.dataTask(server.url)
        const events = yield* task.events.pipe(
          Stream.tap((event) =>
            event._tag === "DidBecomeDownloadTask" ? Deferred.succeed(handedOver, event.downloadTask) : Effect.void
          ),
          Stream.runCollect,
          Effect.fork
        )
        yield* task.resume
        const downloadTask = yield* Deferred.await(handedOver)
        yield* Deferred.await(server.held)
        while ((yield* downloadTask.countOfBytesReceived) < 400_000) yield* Effect.sleep("5 millis")
        yield* downloadTask.suspend
        server.cut()
        yield* Effect.sleep("50 millis")
        yield* downloadTask.resume
        const outcome = yield* downloadTask.await.pipe(Effect.timeout("5 seconds"), Effect.either)
        const observed = Chunk.toArray(yield* Fiber.join(events))
        // Like any download (resume.test.ts): the rest is asked for with a Range and appended.
        expect(outcome._tag === "Left" ? outcome.left : "ok").toBe("ok")
        if (outcome._tag === "Right") expect(sha256(fs.readFileSync(outcome.right.location))).toBe(sha256(body))
        expect(server.requests.at(-1)!.range).toMatch(/^bytes=\d+-$/)
        const resumed = observed.find(URLSessionEvent.$is("DidResumeAtOffset"))
        expect(resumed?.fileOffset).toBeGreaterThan(0)
      }).pipe(Effect.provide(layer))
    }).pipe(Effect.scoped))

  it.live("finishTasksAndInvalidate lets a running data task that becomes a download finish", () =>
    Effect.gen(function*() {
      const directory = yield* tempDirectory
      const body = patterned(300 * 1024)
      const server = yield* httpServer((_, response) => {
        response.writeHead(200, { "Content-Length": String(body.length) })
        response.end(body)
      })
      const asked = yield* Deferred.make<void>()
      const answer = yield* Deferred.make<void>()
      const delegate: URLSessionDelegate.URLSessionDelegate = {
        didReceiveResponse: () =>
          Deferred.succeed(asked, undefined).pipe(
            Effect.zipRight(Deferred.await(answer)),
            Effect.as("becomeDownload" as const)
          )
      }
      const layer = NodeURLSession.layer(URLSessionConfiguration.default, { delegate, downloadsDirectory: directory })
      yield* Effect.gen(function*() {
        const handedOver = yield* Deferred.make<URLSessionTask.URLSessionDownloadTask>()
        const task = yield* URLSession.dataTask(server.url)
        yield* task.events.pipe(
          Stream.runForEach((event) =>
            event._tag === "DidBecomeDownloadTask" ? Deferred.succeed(handedOver, event.downloadTask) : Effect.void
          ),
          Effect.fork
        )
        yield* task.resume
        yield* Deferred.await(asked)
        // The data task is running: finishTasksAndInvalidate must let it finish.
        const invalidating = yield* Effect.fork(URLSession.finishTasksAndInvalidate)
        yield* Effect.sleep("20 millis")
        yield* Deferred.succeed(answer, undefined)
        const downloadTask = yield* Deferred.await(handedOver)
        const outcome = yield* Effect.either(downloadTask.await)
        yield* Fiber.join(invalidating)
        expect(outcome._tag === "Left" ? outcome.left.code : "ok").toBe("ok")
        if (outcome._tag === "Right") expect(sha256(fs.readFileSync(outcome.right.location))).toBe(sha256(body))
      }).pipe(Effect.provide(layer))
    }).pipe(Effect.scoped))
})

// A body that trickles out: five chunks of 10 kB, 30 ms apart.
const trickle = () =>
  Stream.fromIterable(Array.from({ length: 5 }, (_, i) => patterned(10_000, i))).pipe(
    Stream.tap(() => Effect.sleep("30 millis"))
  )

describe("uploads at the edges", () => {
  it.live("an upload that never reaches a server reports no bytes sent", () =>
    Effect.gen(function*() {
      const url = `http://127.0.0.1:${yield* closedPort}/upload`
      const task = yield* URLSession.uploadTask(url, patterned(1000))
      const events = yield* task.events.pipe(Stream.runCollect, Effect.fork)
      yield* task.resume
      const error = yield* Effect.flip(task.await)
      expect(error.code).toBe("CannotConnectToHost")
      // Nothing reached a socket: nothing was sent.
      expect(yield* task.countOfBytesSent).toBe(0)
      const observed = Chunk.toArray(yield* Fiber.join(events))
      expect(observed.filter(URLSessionEvent.$is("DidSendBodyData"))).toEqual([])
    }).pipe(Effect.provide(NodeURLSession.layer(URLSessionConfiguration.default)), Effect.scoped))

  it.live("a suspended upload sends nothing until it is resumed", () =>
    Effect.gen(function*() {
      const server = yield* sinkServer
      const chunks = Stream.fromIterable(Array.from({ length: 40 }, (_, i) => patterned(4096, i))).pipe(
        Stream.tap(() => Effect.sleep("10 millis"))
      )
      const task = yield* URLSession.uploadTask(`${server.url}/upload`, chunks)
      const started = yield* Deferred.make<void>()
      yield* task.events.pipe(
        Stream.runForEach((event) =>
          event._tag === "DidSendBodyData" ? Deferred.succeed(started, undefined) : Effect.void
        ),
        Effect.fork
      )
      yield* task.resume
      yield* Deferred.await(started)
      yield* task.suspend
      yield* Effect.sleep("30 millis")
      const atSuspend = yield* task.countOfBytesSent
      yield* Effect.sleep("250 millis")
      const later = yield* task.countOfBytesSent
      expect(yield* task.state).toBe("suspended")
      expect(later).toBe(atSuspend)
      yield* task.resume
      const { data } = yield* task.await
      expect(new TextDecoder().decode(data)).toBe(String(40 * 4096))
    }).pipe(Effect.provide(NodeURLSession.layer(URLSessionConfiguration.default)), Effect.scoped))

  it.live("a body stream that fails is RequestBodyStreamExhausted, whatever its error's cause chain holds", () =>
    Effect.gen(function*() {
      const server = yield* sinkServer
      // e.g. a body piped from another HTTPS download that failed on its certificate
      const upstream = Object.assign(new Error("upstream: certificate has expired"), { code: "CERT_HAS_EXPIRED" })
      const failing = Stream.concat(Stream.make(patterned(1000)), Stream.fail(upstream))
      const error = yield* Effect.flip(URLSession.upload(`${server.url}/upload`, failing))
      expect(error.code).toBe("RequestBodyStreamExhausted")
    }).pipe(Effect.provide(NodeURLSession.layer(URLSessionConfiguration.default)), Effect.scoped))

  it.live("a lagging subscriber still sees the counts restart after a 307, after the redirect", () =>
    Effect.gen(function*() {
      const server = yield* httpServer((request, response) => {
        request.on("data", () => {})
        request.on("end", () => {
          if (request.url === "/307") {
            response.writeHead(307, { Location: "/upload" })
            return void response.end()
          }
          response.writeHead(200)
          response.end("ok")
        })
      })
      const task = yield* URLSession.uploadTask(`${server.url}/307`, trickle())
      // A subscriber that lags once, on its first event (e.g. busy drawing a progress bar).
      let first = true
      const events = yield* task.events.pipe(
        Stream.tap(() =>
          first ? Effect.sleep("500 millis").pipe(Effect.zipRight(Effect.sync(() => (first = false)))) : Effect.void
        ),
        Stream.runCollect,
        Effect.fork
      )
      yield* task.resume
      yield* task.await
      const observed = Chunk.toArray(yield* Fiber.join(events))
      const tags = observed.map((event) => event._tag)
      const redirect = tags.indexOf("WillPerformHTTPRedirection")
      // Progress of the second request comes after the redirect, and never claims more
      // bytes sent than its total.
      const progress = observed.filter(URLSessionEvent.$is("DidSendBodyData"))
      expect(progress.every((event) => event.bytesSent <= event.totalBytesSent)).toBe(true)
      expect(tags.lastIndexOf("DidSendBodyData")).toBeGreaterThan(redirect)
    }).pipe(
      Effect.provide(NodeURLSession.layer(URLSessionConfiguration.default, {
        delegate: {
          needNewBodyStream: () => Effect.succeed(Option.some(trickle()))
        }
      })),
      Effect.scoped
    ))
})
