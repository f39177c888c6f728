import { describe, expect, it } from "@effect/vitest"
import type { URLResponse } from "@urlsession/core"
import {
  type URLError,
  URLSession,
  URLSessionConfiguration,
  type URLSessionDelegate,
  URLSessionEvent,
  type URLSessionTask
} from "@urlsession/core"
import { NodeURLSession } from "@urlsession/node"
import { Chunk, Deferred, Effect, Exit, Fiber, Option, Stream } from "effect"
import * as fs from "node:fs"
import * as path from "node:path"
import { patterned, sha256, tempDirectory } from "../fixtures/files.js"
import { httpServer } from "../fixtures/servers.js"

// Responses larger than this go to disk; smaller ones stay in memory.
const toDiskAbove = 64 * 1024

const largeToDisk: URLSessionDelegate.URLSessionDelegate = {
  didReceiveResponse: (_, response) =>
    Effect.succeed(response.expectedContentLength > toDiskAbove ? "becomeDownload" : "allow")
}

const alwaysDownload: URLSessionDelegate.URLSessionDelegate = {
  didReceiveResponse: () => Effect.succeed("becomeDownload")
}

/** Serves `/small` and `/large` with validators and byte ranges; `/held` sends `holdAfter`
 * bytes of the large body and waits. Counts requests. */
const server = (large: Buffer, holdAfter = 300_000) =>
  Effect.gen(function*() {
    const small = patterned(1000, 3)
    const requests: Array<string> = []
    const held = yield* Deferred.make<void>()
    const served = yield* httpServer((request, response) => {
      requests.push(request.url ?? "")
      const headers = { ETag: "\"v1\"", "Accept-Ranges": "bytes" }
      if (request.url === "/small") {
        response.writeHead(200, { ...headers, "Content-Length": String(small.length) })
        return void response.end(small)
      }
      const range = request.headers.range?.match(/^bytes=(\d+)-$/)
      if (range) {
        const start = Number(range[1])
        response.writeHead(206, {
          ...headers,
          "Content-Range": `bytes ${start}-${large.length - 1}/${large.length}`,
          "Content-Length": String(large.length - start)
        })
        return void response.end(large.subarray(start))
      }
      response.writeHead(200, { ...headers, "Content-Length": String(large.length) })
      if (request.url === "/held") {
        return void response.write(large.subarray(0, holdAfter), () => Deferred.unsafeDone(held, Exit.void))
      }
      response.end(large)
    })
    return { url: served.url, connections: served.connections, small, requests, held }
  })

const sessionWith = (delegate: URLSessionDelegate.URLSessionDelegate) =>
  Effect.map(tempDirectory, (directory) => ({
    directory,
    layer: NodeURLSession.layer(URLSessionConfiguration.default, { delegate, downloadsDirectory: directory })
  }))

const downloadTaskOf = (events: ReadonlyArray<URLSessionEvent.URLSessionEvent>) =>
  events.find(URLSessionEvent.$is("DidBecomeDownloadTask"))!.downloadTask

describe("a data task that becomes a download task", () => {
  it.live("goes on into a file on the same connection; the data task's subscribers see the download's events", () =>
    Effect.gen(function*() {
      const large = patterned(2 * 1024 * 1024 + 5)
      const origin = yield* server(large)
      const { directory, layer } = yield* sessionWith(largeToDisk)
      yield* Effect.gen(function*() {
        const task = yield* URLSession.dataTask(`${origin.url}/large`)
        const events = yield* task.events.pipe(Stream.runCollect, Effect.fork)
        yield* task.resume
        const failure = yield* Effect.flip(task.await)
        const observed = Chunk.toArray(yield* Fiber.join(events))

        const downloadTask = downloadTaskOf(observed)
        expect(downloadTask.taskIdentifier).not.toBe(task.taskIdentifier)
        const { location, response } = yield* downloadTask.await
        expect(path.dirname(location)).toBe(directory)
        expect(sha256(fs.readFileSync(location))).toBe(sha256(large))
        expect((response as URLResponse.HTTPURLResponse).statusCode).toBe(200)

        expect(failure.code).toBe("Cancelled")
        expect(failure.message).toContain(`download task ${downloadTask.taskIdentifier}`)
        expect(yield* task.state).toBe("completed")
        expect(yield* downloadTask.state).toBe("completed")
        expect(yield* downloadTask.countOfBytesReceived).toBe(large.length)
        expect(Option.isSome(yield* downloadTask.response)).toBe(true)

        // Apple's order: the data task's response, the hand-over, then only the download's events.
        const tags = observed.map((event) => `${event._tag}/${"taskIdentifier" in event ? event.taskIdentifier : "-"}`)
        expect(tags[0]).toBe(`DidReceiveResponse/${task.taskIdentifier}`)
        expect(tags[1]).toBe(`DidBecomeDownloadTask/${task.taskIdentifier}`)
        expect(tags.slice(-2)).toEqual([
          `DidFinishDownloadingTo/${downloadTask.taskIdentifier}`,
          `DidCompleteWithError/${downloadTask.taskIdentifier}`
        ])
        const rest = observed.slice(2, -2)
        expect(rest.length).toBeGreaterThan(0)
        expect(rest.every((event) => event._tag === "DidWriteData")).toBe(true)
        expect(observed.filter(URLSessionEvent.$is("DidReceiveData"))).toEqual([])
        expect(observed.filter(URLSessionEvent.$is("DidReceiveResponse"))).toHaveLength(1)
        const completion = observed.at(-1) as Extract<URLSessionEvent.TaskEvent, { _tag: "DidCompleteWithError" }>
        expect(Option.isNone(completion.error)).toBe(true)
        const progress = rest.filter(URLSessionEvent.$is("DidWriteData"))
        expect(progress.at(-1)!.totalBytesWritten).toBe(large.length)
        expect(progress.every((event) => event.totalBytesExpectedToWrite === large.length)).toBe(true)

        // One request, one connection: the body was not asked for again.
        expect(origin.requests).toEqual(["/large"])
        expect(origin.connections.accepted()).toBe(1)
      }).pipe(Effect.scoped, Effect.provide(layer))
    }).pipe(Effect.scoped))

  it.live("the session's subscribers see one completion, the download task's, and the delegate decides per response", () =>
    Effect.gen(function*() {
      const large = patterned(512 * 1024)
      const origin = yield* server(large)
      const { layer } = yield* sessionWith(largeToDisk)
      yield* Effect.gen(function*() {
        const events = yield* URLSession.events.pipe(
          Stream.takeUntil(URLSessionEvent.$is("DidCompleteWithError")),
          Stream.runCollect,
          Effect.fork
        )
        yield* Effect.yieldNow()
        const failure = yield* Effect.flip(URLSession.data(`${origin.url}/large`))
        expect(failure.code).toBe("Cancelled")
        const observed = Chunk.toArray(yield* Fiber.join(events))
        const downloadTask = downloadTaskOf(observed)
        const completion = observed.at(-1) as Extract<URLSessionEvent.TaskEvent, { _tag: "DidCompleteWithError" }>
        expect(completion.taskIdentifier).toBe(downloadTask.taskIdentifier)
        const { location } = yield* downloadTask.await
        expect(sha256(fs.readFileSync(location))).toBe(sha256(large))

        // A small response stays a data task.
        const { data } = yield* URLSession.data(`${origin.url}/small`)
        expect(sha256(data)).toBe(sha256(origin.small))
      }).pipe(Effect.scoped, Effect.provide(layer))
    }).pipe(Effect.scoped))

  it.live("the download task can be cancelled for resume data, and resumed", () =>
    Effect.gen(function*() {
      const large = patterned(1024 * 1024)
      const origin = yield* server(large, 400_000)
      const { directory, layer } = yield* sessionWith(alwaysDownload)
      yield* Effect.gen(function*() {
        const handedOver = yield* Deferred.make<URLSessionTask.URLSessionDownloadTask>()
        yield* URLSession.events.pipe(
          Stream.filter(URLSessionEvent.$is("DidBecomeDownloadTask")),
          Stream.runForEach((event) => Deferred.succeed(handedOver, event.downloadTask)),
          Effect.fork
        )
        yield* Effect.yieldNow()
        const task = yield* URLSession.dataTask(`${origin.url}/held`)
        yield* task.resume
        const downloadTask = yield* Deferred.await(handedOver)
        yield* Deferred.await(origin.held)
        // Let the held bytes reach the file.
        while ((yield* downloadTask.countOfBytesReceived) < 400_000) yield* Effect.sleep("5 millis")
        expect((yield* URLSession.allTasks).map((each) => each.taskIdentifier)).toEqual([downloadTask.taskIdentifier])

        const resumeData = Option.getOrThrow(yield* downloadTask.cancelByProducingResumeData)
        expect(resumeData.bytesReceived).toBe(400_000)
        expect(resumeData.originalURL).toBe(`${origin.url}/held`)
        expect((yield* Effect.flip(downloadTask.await)).code).toBe("Cancelled")
        expect(fs.existsSync(path.join(directory, resumeData.partialFile))).toBe(true)

        const resumed = yield* URLSession.downloadTaskWithResumeData(resumeData)
        yield* resumed.resume
        const { location } = yield* resumed.await
        expect(sha256(fs.readFileSync(location))).toBe(sha256(large))
      }).pipe(Effect.scoped, Effect.provide(layer))
    }).pipe(Effect.scoped))

  it.live("cancelling the download task closes the connection and leaves no file", () =>
    Effect.gen(function*() {
      const large = patterned(1024 * 1024)
      const origin = yield* server(large, 200_000)
      const { directory, layer } = yield* sessionWith(alwaysDownload)
      yield* Effect.gen(function*() {
        const task = yield* URLSession.dataTask(`${origin.url}/held`)
        const events = yield* task.events.pipe(Stream.runCollect, Effect.fork)
        yield* task.resume
        yield* Deferred.await(origin.held)
        const downloadTask = yield* Effect.gen(function*() {
          while (true) {
            const live = yield* URLSession.allTasks
            const other = live.find((each) => each.taskIdentifier !== task.taskIdentifier)
            if (other !== undefined) return other
            yield* Effect.sleep("5 millis")
          }
        })
        const closed = origin.connections.nextClose()
        yield* downloadTask.cancel
        const failure = (yield* Effect.flip(downloadTask.await)) as URLError.URLError
        expect(failure.code).toBe("Cancelled")
        yield* Effect.promise(() => closed)
        const observed = Chunk.toArray(yield* Fiber.join(events))
        expect(observed.at(-1)?._tag).toBe("DidCompleteWithError")
        expect(fs.readdirSync(directory)).toEqual([])
      }).pipe(Effect.scoped, Effect.provide(layer))
    }).pipe(Effect.scoped))

  it.live("only data tasks become downloads: for a download or a streamed load the answer means allow", () =>
    Effect.gen(function*() {
      const large = patterned(200 * 1024)
      const origin = yield* server(large)
      const { layer } = yield* sessionWith(alwaysDownload)
      yield* Effect.gen(function*() {
        const { location } = yield* URLSession.download(`${origin.url}/large`)
        expect(sha256(fs.readFileSync(location))).toBe(sha256(large))
        const { body } = yield* URLSession.bytes(`${origin.url}/large`)
        const chunks = yield* Stream.runCollect(body)
        expect(sha256(Buffer.concat(Chunk.toArray(chunks)))).toBe(sha256(large))
      }).pipe(Effect.scoped, Effect.provide(layer))
    }).pipe(Effect.scoped))

  it.live("a session invalidated with finishTasksAndInvalidate waits for the download the data task became", () =>
    Effect.gen(function*() {
      const large = patterned(1024 * 1024)
      const origin = yield* server(large)
      const { layer } = yield* sessionWith(alwaysDownload)
      yield* Effect.gen(function*() {
        const events = yield* URLSession.events.pipe(Stream.runCollect, Effect.fork)
        yield* Effect.yieldNow()
        const task = yield* URLSession.dataTask(`${origin.url}/large`)
        yield* task.resume
        yield* Effect.flip(task.await)
        yield* URLSession.finishTasksAndInvalidate
        const observed = Chunk.toArray(yield* Fiber.join(events))
        const downloadTask = downloadTaskOf(observed)
        expect(observed.map((event) => event._tag).slice(-3)).toEqual([
          "DidFinishDownloadingTo",
          "DidCompleteWithError",
          "DidBecomeInvalidWithError"
        ])
        expect(yield* downloadTask.state).toBe("completed")
      }).pipe(Effect.scoped, Effect.provide(layer))
    }).pipe(Effect.scoped))
})
