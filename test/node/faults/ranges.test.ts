/**
 * Forged answers to a resumed download's `Range` request, from raw `net` peers. The rule
 * (README, "resume"): a 206 is appended only when its `Content-Range` starts at the recorded
 * offset, ends at the last byte of the recorded total, and comes with the recorded validator;
 * any other 206, or a 416, sends the request again without a range; a 200 starts the file
 * again from zero. Whatever the forgery, the finished file is byte-identical to what the
 * server last meant, or the download fails and leaves no file.
 */
import { describe, expect, it } from "@effect/vitest"
import type { URLResponse } from "@urlsession/core"
import { URLSession, URLSessionConfiguration, URLSessionEvent } from "@urlsession/core"
import { NodeURLSession } from "@urlsession/node"
import { Chunk, Effect, Fiber, Stream } from "effect"
import * as fs from "node:fs"
import type * as net from "node:net"
import * as path from "node:path"
import { patterned, sha256, tempDirectory } from "../../fixtures/files.js"
import {
  failureOf,
  type HostileRequest,
  hostileServer,
  type Resource,
  responseHead,
  serveRanges,
  wholeFields
} from "../../fixtures/hostile.js"

const resource: Resource = { body: patterned(200_000, 11), etag: "\"v1\"" }
const { body } = resource
const total = body.length
/** Where the first answer stops: the offset the resumed request asks from. */
const held = 70_000

type Forgery = (socket: net.Socket, request: HostileRequest) => void

/** A 206 with `range` as its Content-Range (none when undefined), `fields` over the usual ones, carrying `bytes`. */
const partial = (
  range: string | undefined,
  bytes: Uint8Array,
  fields: Readonly<Record<string, string | number>> = {}
) =>
  Buffer.concat([
    Buffer.from(responseHead(206, {
      ETag: resource.etag,
      ...(range === undefined ? {} : { "Content-Range": range }),
      "Content-Length": bytes.length,
      ...fields
    })),
    bytes
  ])

const rest = body.subarray(held)

/**
 * Runs a download whose first answer breaks off after `held` bytes (resume data), resumes it
 * against `forgery` (the answer to the ranged request), and answers any later request with
 * `later` (a well-behaved server by default). Gives what the resumed task ended with, the offset it resumed at, and
 * the range each request asked for.
 */
const resumeAgainst = (
  forgery: Forgery,
  later: Forgery = (socket, request) => serveRanges(socket, request, resource)
) =>
  Effect.gen(function*() {
    const directory = yield* tempDirectory
    const server = yield* hostileServer((socket, request, index) => {
      if (index === 0) {
        socket.end(Buffer.concat([Buffer.from(responseHead(200, wholeFields(resource))), body.subarray(0, held)]))
      } else if (index === 1) forgery(socket, request)
      else later(socket, request)
    })
    return yield* Effect.gen(function*() {
      const first = yield* failureOf(Effect.scoped(URLSession.download(server.url)))
      expect(first.code).toBe("NetworkConnectionLost")
      const resumeData = first.resumeData!
      expect(resumeData.bytesReceived).toBe(held)
      const task = yield* URLSession.downloadTaskWithResumeData(resumeData)
      const events = yield* task.events.pipe(Stream.runCollect, Effect.fork)
      yield* task.resume
      const outcome = yield* Effect.either(task.await)
      const observed = Chunk.toArray(yield* Fiber.join(events))
      const location = outcome._tag === "Right" ? outcome.right.location : undefined
      return {
        // Read while the session that owns the file is open.
        finished: location === undefined ? undefined : sha256(fs.readFileSync(location)),
        status: outcome._tag === "Right"
          ? (outcome.right.response as URLResponse.HTTPURLResponse).statusCode
          : undefined,
        code: outcome._tag === "Left" ? outcome.left.code : undefined,
        resumedAt: observed.filter(URLSessionEvent.$is("DidResumeAtOffset")).map((event) => event.fileOffset),
        ranges: server.requests.slice(1).map((request) => request.rangeStart),
        /** Files in the session's directory besides the finished one. */
        left: fs.readdirSync(directory).filter((name) => location === undefined || name !== path.basename(location))
      }
    }).pipe(Effect.provide(NodeURLSession.layer(URLSessionConfiguration.default, { downloadsDirectory: directory })))
  })

describe("the answer to a resumed download's range", () => {
  it.scoped("a 206 at the offset asked for, with the recorded total and validator, is appended", () =>
    Effect.gen(function*() {
      const outcome = yield* resumeAgainst((socket) =>
        socket.write(partial(`bytes ${held}-${total - 1}/${total}`, rest))
      )
      expect(outcome).toMatchObject({ finished: sha256(body), status: 206, resumedAt: [held], ranges: [held] })
    }))

  // Each forgery is answered by asking again without a range; the well-behaved answer to that
  // gives the whole resource from zero.
  const restarted: ReadonlyArray<readonly [string, Forgery]> = [
    [
      "a 206 that starts one byte later",
      (socket) => socket.write(partial(`bytes ${held + 1}-${total - 1}/${total}`, body.subarray(held + 1)))
    ],
    [
      "a 206 that starts one byte earlier",
      (socket) => socket.write(partial(`bytes ${held - 1}-${total - 1}/${total}`, body.subarray(held - 1)))
    ],
    ["a 206 that starts at zero", (socket) => socket.write(partial(`bytes 0-${total - 1}/${total}`, body))],
    ["a 206 with another total", (socket) => socket.write(partial(`bytes ${held}-${total - 1}/${total + 1}`, rest))],
    ["a 206 with an unknown total", (socket) => socket.write(partial(`bytes ${held}-${total - 1}/*`, rest))],
    [
      "a 206 that stops before the last byte",
      (socket) => socket.write(partial(`bytes ${held}-${total - 2}/${total}`, body.subarray(held, total - 1)))
    ],
    ["a 206 without Content-Range", (socket) => socket.write(partial(undefined, rest))],
    ["a 206 whose Content-Range names no range", (socket) => socket.write(partial(`bytes */${total}`, rest))],
    ["a 206 in another unit", (socket) => socket.write(partial(`items ${held}-${total - 1}/${total}`, rest))],
    [
      "a 206 with a Content-Range that is not a number",
      (socket) => socket.write(partial(`bytes ${held}-x/${total}`, rest))
    ],
    [
      "a 206 with another ETag",
      (socket) => socket.write(partial(`bytes ${held}-${total - 1}/${total}`, rest, { ETag: "\"v2\"" }))
    ],
    [
      "a 206 with a weak form of the same ETag",
      (socket) => socket.write(partial(`bytes ${held}-${total - 1}/${total}`, rest, { ETag: `W/${resource.etag}` }))
    ],
    ["a 206 without an ETag", (socket) => {
      const head = responseHead(206, {
        "Content-Range": `bytes ${held}-${total - 1}/${total}`,
        "Content-Length": rest.length
      })
      socket.write(Buffer.concat([Buffer.from(head), rest]))
    }],
    ["a multipart/byteranges 206", (socket) => {
      const part = Buffer.concat([
        Buffer.from(`--B\r\nContent-Range: bytes ${held}-${total - 1}/${total}\r\n\r\n`),
        rest,
        Buffer.from("\r\n--B--\r\n")
      ])
      socket.write(partial(undefined, part, { "Content-Type": "multipart/byteranges; boundary=B" }))
    }],
    ["a 416", (socket) => socket.write(responseHead(416, { "Content-Range": `bytes */${total}`, "Content-Length": 0 }))]
  ]

  for (const [name, forgery] of restarted) {
    it.scoped(`${name} is never appended: the request goes again without a range, from zero`, () =>
      Effect.gen(function*() {
        const outcome = yield* resumeAgainst(forgery)
        expect(outcome).toMatchObject({
          finished: sha256(body),
          status: 200,
          resumedAt: [0],
          ranges: [held, undefined],
          left: []
        })
      }))
  }

  it.scoped("a 200 in answer to the range starts the file again from zero, also when shorter than the partial file", () =>
    Effect.gen(function*() {
      const changed = patterned(30_000, 99)
      const outcome = yield* resumeAgainst((socket) => {
        socket.write(responseHead(200, { ETag: "\"v2\"", "Accept-Ranges": "bytes", "Content-Length": changed.length }))
        socket.write(changed)
      })
      expect(outcome).toMatchObject({ finished: sha256(changed), status: 200, resumedAt: [0], ranges: [held] })
    }))

  it.scoped("a 206 whose body runs past its Content-Range fails with BadServerResponse and leaves no file", () =>
    Effect.gen(function*() {
      const outcome = yield* resumeAgainst((socket) =>
        socket.write(partial(`bytes ${held}-${total - 1}/${total}`, Buffer.concat([rest, Buffer.from("0123456789")])))
      )
      expect(outcome).toMatchObject({ code: "BadServerResponse", resumedAt: [held], ranges: [held], left: [] })
    }))

  it.scoped("a 206 whose body stops short of its Content-Range fails with BadServerResponse and leaves no file", () =>
    Effect.gen(function*() {
      const outcome = yield* resumeAgainst((socket) =>
        socket.write(partial(`bytes ${held}-${total - 1}/${total}`, rest.subarray(0, rest.length - 10)))
      )
      expect(outcome).toMatchObject({ code: "BadServerResponse", resumedAt: [held], ranges: [held], left: [] })
    }))

  it.scoped("the same wrong 206 to every request: the one to the request without a range is the response", () =>
    Effect.gen(function*() {
      // The request sent again has no range, so there is nothing to check its 206 against:
      // it is a final response like any status, and its status tells the caller.
      const forgery: Forgery = (socket) => socket.write(partial(`bytes 5-${total - 1}/${total}`, body.subarray(5)))
      const outcome = yield* resumeAgainst(forgery, forgery)
      expect(outcome).toMatchObject({
        finished: sha256(body.subarray(5)),
        status: 206,
        resumedAt: [0],
        ranges: [held, undefined],
        left: []
      })
    }))
})

describe("a 206 nobody asked for", () => {
  it.scoped("a 206 to a download that sent no Range is its final response, delivered as it came", () =>
    Effect.gen(function*() {
      const directory = yield* tempDirectory
      const piece = body.subarray(1000, 2000)
      const server = yield* hostileServer((socket) => socket.write(partial(`bytes 1000-1999/${total}`, piece)))
      const { status, finished } = yield* Effect.gen(function*() {
        const { location, response } = yield* URLSession.download(server.url)
        return {
          status: (response as URLResponse.HTTPURLResponse).statusCode,
          finished: sha256(fs.readFileSync(location))
        }
      }).pipe(
        Effect.scoped,
        Effect.provide(NodeURLSession.layer(URLSessionConfiguration.default, { downloadsDirectory: directory }))
      )
      expect(status).toBe(206)
      expect(finished).toBe(sha256(piece))
      expect(server.requests[0]!.rangeStart).toBeUndefined()
      expect(fs.readdirSync(directory)).toEqual([])
    }))
})

describe("validators the resumed request sends", () => {
  const lastModified = "Mon, 02 Nov 2026 10:00:00 GMT"

  /**
   * Downloads from a server whose first answer, a 200 with `fields`, breaks off after `held`
   * bytes, then resumes from the failure's resume data if it has any. Gives whether it had,
   * the `If-Range` the resumed request sent, and the files left in the session's directory
   * after the first attempt.
   */
  const cutShortThenResumed = (resource: Resource, fields: Readonly<Record<string, string>>) =>
    Effect.gen(function*() {
      const directory = yield* tempDirectory
      const server = yield* hostileServer((socket, request, index) =>
        index === 0
          ? socket.end(Buffer.concat([
            Buffer.from(responseHead(200, { ...wholeFields(resource), ...fields })),
            body.subarray(0, held)
          ]))
          : serveRanges(socket, request, resource)
      )
      return yield* Effect.gen(function*() {
        const error = yield* failureOf(Effect.scoped(URLSession.download(server.url)))
        const left = fs.readdirSync(directory)
        if (error.resumeData === undefined) return { resumable: false, left }
        const task = yield* URLSession.downloadTaskWithResumeData(error.resumeData)
        yield* task.resume
        yield* Effect.ignore(task.await)
        return { resumable: true, ifRange: server.requests[1]!.headers["if-range"], left }
      }).pipe(Effect.provide(NodeURLSession.layer(URLSessionConfiguration.default, { downloadsDirectory: directory })))
    })

  // RFC 9110 §13.1.5: "A client MUST NOT generate an If-Range header field containing an
  // entity tag that is marked as weak": a server that follows it answers every such resume
  // with a 200, so the download would always start again.
  it.scoped("a weak ETag is never sent as If-Range: the Last-Modified date is", () =>
    Effect.gen(function*() {
      const outcome = yield* cutShortThenResumed({ body, etag: "W/\"w1\"" }, { "Last-Modified": lastModified })
      expect(outcome).toMatchObject({ resumable: true, ifRange: lastModified })
    }))

  it.scoped("a response whose only validator is a weak ETag gives no resume data and leaves no file", () =>
    Effect.gen(function*() {
      const outcome = yield* cutShortThenResumed({ body, etag: "W/\"w1\"" }, {})
      expect(outcome).toEqual({ resumable: false, left: [] })
    }))

  it.scoped("a strong ETag is sent as If-Range before the Last-Modified date", () =>
    Effect.gen(function*() {
      const outcome = yield* cutShortThenResumed(resource, { "Last-Modified": lastModified })
      expect(outcome).toMatchObject({ resumable: true, ifRange: resource.etag })
    }))
})
