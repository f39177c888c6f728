/**
 * Connections reset (RST) at random offsets, from raw `net` peers. The offsets come from a
 * seeded source, so a failure names the seed that reproduces it; `URLSESSION_FAULT_RUNS=500`
 * makes a longer hunt. Whatever the offset, a load fails with `NetworkConnectionLost`, and a
 * download goes on from its resume data to a file byte-identical to the original.
 */
import { describe, expect, it } from "@effect/vitest"
import { type ResumeData, URLSession, URLSessionConfiguration } from "@urlsession/core"
import { NodeURLSession } from "@urlsession/node"
import { Effect, Schedule } from "effect"
import * as fs from "node:fs"
import * as path from "node:path"
import { patterned, sha256, tempDirectory } from "../../fixtures/files.js"
import {
  failureOf,
  faultRuns,
  type HostileRequest,
  hostileServer,
  resetAfter,
  type Resource,
  responseHead,
  seededRandom,
  serveRanges,
  wholeFields
} from "../../fixtures/hostile.js"

const resource: Resource = { body: patterned(256 * 1024, 3), etag: "\"r1\"" }
const { body } = resource

const session = (directory: string) =>
  NodeURLSession.layer(URLSessionConfiguration.default, { downloadsDirectory: directory })

/**
 * Serves `resource` with byte ranges, but resets the connection at each offset of `cuts` (in
 * the resource's bytes) once, when an answer reaches it; past the cuts it serves whole
 * answers. `applied` lists the cuts made, in order.
 */
const resettingServer = (cuts: ReadonlyArray<number>) =>
  Effect.gen(function*() {
    const pending = [...cuts]
    const applied: Array<number> = []
    const server = yield* hostileServer((socket, request) => {
      const start = startOf(request)
      const index = pending.findIndex((offset) => offset > start)
      if (index === -1) return serveRanges(socket, request, resource)
      const [cut] = pending.splice(index, 1)
      applied.push(cut!)
      const head = start === 0
        ? responseHead(200, wholeFields(resource))
        : responseHead(206, {
          ETag: resource.etag,
          "Content-Range": `bytes ${start}-${body.length - 1}/${body.length}`,
          "Content-Length": body.length - start
        })
      resetAfter(socket, Buffer.concat([Buffer.from(head), body.subarray(start, cut)]))
    })
    return { ...server, applied }
  })

const startOf = (request: HostileRequest) =>
  request.rangeStart !== undefined && request.headers["if-range"] === resource.etag ? request.rangeStart : 0

/** 1 to 3 ascending offsets inside the body, drawn from `seed`. */
const cutsFor = (seed: number) => {
  const random = seededRandom(seed)
  const count = random.integer(1, 4)
  const cuts = Array.from({ length: count }, () => random.integer(1, body.length))
  return [...new Set(cuts)].sort((a, b) => a - b)
}

const partialBytes = (directory: string, resumeData: ResumeData.ResumeData) =>
  fs.readFileSync(path.join(directory, resumeData.partialFile))

describe("resets at random offsets", () => {
  const runs = faultRuns(12)

  it.live(
    `a download reset at random offsets resumes from each failure to the original bytes (${runs} seeded runs)`,
    () =>
      Effect.gen(function*() {
        for (let seed = 1; seed <= runs; seed++) {
          const cuts = cutsFor(seed)
          const because = `seed ${seed}, cuts at ${cuts.join(", ")}`
          const directory = yield* tempDirectory
          const server = yield* resettingServer(cuts)
          // The sha256 is taken while the session, which owns the finished file, is open.
          const finished = yield* Effect.gen(function*() {
            let error = yield* failureOf(Effect.scoped(URLSession.download(server.url)))
            while (true) {
              expect(error.code, because).toBe("NetworkConnectionLost")
              const resumeData = error.resumeData
              // A reset discards what was still in flight: a failure may carry fewer bytes than
              // were sent, or none (then there is nothing to resume, and nothing left on disk).
              if (resumeData === undefined) {
                expect(fs.readdirSync(directory), because).toEqual([])
                const restarted = yield* Effect.either(URLSession.download(server.url))
                if (restarted._tag === "Right") return sha256(fs.readFileSync(restarted.right.location))
                error = restarted.left
                continue
              }
              expect(resumeData.bytesReceived, because).toBeLessThanOrEqual(server.applied.at(-1)!)
              expect(resumeData.expectedLength, because).toBe(body.length)
              expect(fs.readdirSync(directory), because).toEqual([resumeData.partialFile])
              expect(sha256(partialBytes(directory, resumeData)), because).toBe(
                sha256(body.subarray(0, resumeData.bytesReceived))
              )
              const task = yield* URLSession.downloadTaskWithResumeData(resumeData)
              yield* task.resume
              const outcome = yield* Effect.either(task.await)
              expect(server.requests.at(-1)!.rangeStart, because).toBe(resumeData.bytesReceived)
              if (outcome._tag === "Right") return sha256(fs.readFileSync(outcome.right.location))
              error = outcome.left
            }
          }).pipe(Effect.provide(session(directory)))
          expect(finished, because).toBe(sha256(body))
        }
      }).pipe(Effect.scoped),
    { timeout: 120_000 }
  )

  it.live(
    `retryDownload through random resets leaves the original bytes at \`to\` and nothing else (${runs} seeded runs)`,
    () =>
      Effect.gen(function*() {
        for (let seed = 1001; seed < 1001 + runs; seed++) {
          const cuts = cutsFor(seed)
          const because = `seed ${seed}, cuts at ${cuts.join(", ")}`
          const directory = yield* tempDirectory
          const target = yield* tempDirectory
          const to = path.join(target, "file.bin")
          const server = yield* resettingServer(cuts)
          yield* URLSession.download(server.url, { to }).pipe(
            URLSession.retryDownload(Schedule.recurs(2 * cuts.length + 2)),
            Effect.scoped,
            Effect.provide(session(directory))
          )
          expect(sha256(fs.readFileSync(to)), because).toBe(sha256(body))
          expect(fs.readdirSync(directory), because).toEqual([])
          expect(fs.readdirSync(target), because).toEqual(["file.bin"])
        }
      }).pipe(Effect.scoped),
    { timeout: 120_000 }
  )

  it.live(
    `a data task reset at any offset of its head or body fails with NetworkConnectionLost (${runs * 4} seeded runs)`,
    () =>
      Effect.gen(function*() {
        const head = Buffer.from(
          responseHead(200, { ...wholeFields(resource), "Content-Type": "application/octet-stream" })
        )
        const answer = Buffer.concat([head, body])
        for (let seed = 2001; seed < 2001 + runs * 4; seed++) {
          const random = seededRandom(seed)
          // Half the runs cut inside the head, where there is no response yet.
          const cut = random.next() < 0.5 ? random.integer(0, head.length) : random.integer(head.length, answer.length)
          const server = yield* hostileServer((socket) => resetAfter(socket, answer.subarray(0, cut)))
          const error = yield* failureOf(URLSession.data(server.url))
          expect(error.code, `seed ${seed}, cut at ${cut} of ${answer.length}`).toBe("NetworkConnectionLost")
        }
      }).pipe(Effect.provide(NodeURLSession.layer(URLSessionConfiguration.default)), Effect.scoped),
    { timeout: 120_000 }
  )
})
