/**
 * Hostile resume data through a real session: strings that `ResumeData.decode` must refuse,
 * values that decode but lie (about the partial file, its length, the URL, the header
 * fields), and values that never went through `decode` at all (a plain object type-checks as
 * `ResumeData`). Each ends with a clear `URLError` or a byte-identical file; none sends a
 * forged range, and none reads or writes outside the session's directory.
 */
import { describe, expect, it } from "@effect/vitest"
import { ResumeData, URLSession, URLSessionConfiguration } from "@urlsession/core"
import { NodeURLSession } from "@urlsession/node"
import { Effect, Exit } from "effect"
import * as fs from "node:fs"
import * as path from "node:path"
import { patterned, sha256, tempDirectory } from "../../fixtures/files.js"
import { failureOf, hostileServer, outcomeOf, type Resource, serveRanges } from "../../fixtures/hostile.js"

const resource: Resource = { body: patterned(120_000, 5), etag: "\"p1\"" }
const { body } = resource
const partialName = "CFNetworkDownload_0b9a2c5e-1f3d-4c8e-9a7b-2d6e5f4a3b21.tmp"
const recorded = 40_000

/**
 * A session directory holding a partial file of the first `recorded` bytes, a file beside the
 * directory that no download may touch, and a well-behaved server for the resource.
 */
const setting = Effect.gen(function*() {
  const root = yield* tempDirectory
  const directory = path.join(root, "session")
  fs.mkdirSync(directory, { mode: 0o700 })
  fs.writeFileSync(path.join(directory, partialName), body.subarray(0, recorded))
  const outside = path.join(root, "outside.bin")
  fs.writeFileSync(outside, patterned(50_000, 77))
  const server = yield* hostileServer((socket, request) => serveRanges(socket, request, resource))
  const valid = {
    version: 1,
    originalURL: server.url,
    url: server.url,
    headers: {},
    etag: resource.etag,
    bytesReceived: recorded,
    expectedLength: body.length,
    partialFile: partialName
  }
  /** Everything outside the session's directory is as it was. */
  const outsideUntouched = () => {
    expect(fs.readdirSync(root).sort()).toEqual(["outside.bin", "session"])
    expect(sha256(fs.readFileSync(outside))).toBe(sha256(patterned(50_000, 77)))
  }
  return { root, directory, outside, server, valid, outsideUntouched }
})

const session = (directory: string) =>
  NodeURLSession.layer(URLSessionConfiguration.default, { downloadsDirectory: directory })

const encoded = (value: unknown) => Buffer.from(JSON.stringify(value)).toString("base64url")

/** Resumes from `resumeData` and gives the sha256 of the finished file, or the failure's code. */
const resumeFrom = (resumeData: ResumeData.ResumeData) =>
  Effect.gen(function*() {
    const task = yield* URLSession.downloadTaskWithResumeData(resumeData)
    yield* task.resume
    const { location } = yield* task.await
    return sha256(fs.readFileSync(location))
  }).pipe(
    Effect.exit,
    Effect.map((exit) =>
      Exit.isFailure(exit)
        ? outcomeOf(exit)
        : exit.value === sha256(body)
        ? "the original bytes"
        : `other bytes (${exit.value})`
    )
  )

describe("resume data that decode refuses never reaches the network or the disk", () => {
  const hostile: ReadonlyArray<readonly [string, (valid: Record<string, unknown>) => unknown]> = [
    ["a partial file in the parent directory", (valid) => ({ ...valid, partialFile: "../outside.bin" })],
    ["a partial file given as an absolute path", (valid) => ({ ...valid, partialFile: "/etc/passwd" })],
    [
      "a session-shaped name with a path after it",
      (valid) => ({ ...valid, partialFile: `${partialName}/../../outside.bin` })
    ],
    ["a session-shaped name with a newline after it", (valid) => ({ ...valid, partialFile: `${partialName}\n` })],
    ["a negative byte count", (valid) => ({ ...valid, bytesReceived: -1 })],
    ["a fractional byte count", (valid) => ({ ...valid, bytesReceived: 1.5 })],
    ["a byte count given as a string", (valid) => ({ ...valid, bytesReceived: "40000" })],
    ["an expected length below -1", (valid) => ({ ...valid, expectedLength: -2 })],
    ["a file: URL", (valid) => ({ ...valid, url: "file:///etc/passwd" })],
    ["a weak ETag", (valid) => ({ ...valid, etag: "W/\"p1\"" })],
    ["a data: URL", (valid) => ({ ...valid, url: "data:,hello" })],
    ["a header value that is not a string", (valid) => ({ ...valid, headers: { "X-A": 1 } })],
    ["another version", (valid) => ({ ...valid, version: 2 })],
    ["no partial file", ({ partialFile: _, ...rest }) => rest],
    ["a __proto__ field", (valid) => JSON.parse(`{"__proto__":{"polluted":true},${JSON.stringify(valid).slice(1)}`)],
    ["an array", (valid) => [valid]]
  ]

  it.scoped("each fails with CannotDecodeRawData, with no request sent and nothing written anywhere", () =>
    Effect.gen(function*() {
      const { directory, outsideUntouched, server, valid } = yield* setting
      const outcomes = yield* Effect.forEach(hostile, ([name, make]) =>
        ResumeData.decode(encoded(make(valid))).pipe(
          Effect.flatMap(URLSession.downloadTaskWithResumeData),
          Effect.exit,
          Effect.map((exit) => `${name}: ${outcomeOf(exit)}`)
        )).pipe(Effect.provide(session(directory)))
      expect(outcomes).toEqual(hostile.map(([name]) => `${name}: CannotDecodeRawData`))
      expect(server.requests).toEqual([])
      expect(fs.readdirSync(directory)).toEqual([partialName])
      expect(fs.statSync(path.join(directory, partialName)).size).toBe(recorded)
      outsideUntouched()
      expect(({} as Record<string, unknown>)["polluted"]).toBeUndefined()
    }))
})

describe("resume data that decodes but does not match what is on disk or on the server", () => {
  const decodedFrom = (value: unknown) => ResumeData.decode(encoded(value))

  it.scoped("a byte count larger than the partial file: CannotOpenFile, no request, the file untouched", () =>
    Effect.gen(function*() {
      const { directory, outsideUntouched, server, valid } = yield* setting
      const outcome = yield* Effect.flatMap(decodedFrom({ ...valid, bytesReceived: recorded + 1 }), resumeFrom).pipe(
        Effect.provide(session(directory))
      )
      expect(outcome).toBe("CannotOpenFile")
      expect(server.requests).toEqual([])
      expect(sha256(fs.readFileSync(path.join(directory, partialName)))).toBe(sha256(body.subarray(0, recorded)))
      outsideUntouched()
    }))

  it.scoped("a partial file that is a directory: CannotOpenFile, no request", () =>
    Effect.gen(function*() {
      const { directory, server, valid } = yield* setting
      const name = "CFNetworkDownload_00000000-0000-0000-0000-000000000000.tmp"
      fs.mkdirSync(path.join(directory, name))
      const outcome = yield* Effect.flatMap(decodedFrom({ ...valid, partialFile: name }), resumeFrom).pipe(
        Effect.provide(session(directory))
      )
      expect(outcome).toBe("CannotOpenFile")
      expect(server.requests).toEqual([])
    }))

  it.scoped("a byte count smaller than the partial file: the file is cut to it and the rest asked from there", () =>
    Effect.gen(function*() {
      const { directory, outsideUntouched, server, valid } = yield* setting
      const outcome = yield* Effect.flatMap(decodedFrom({ ...valid, bytesReceived: 1234 }), resumeFrom).pipe(
        Effect.provide(session(directory))
      )
      expect(outcome).toBe("the original bytes")
      expect(server.requests.map((request) => request.rangeStart)).toEqual([1234])
      outsideUntouched()
    }))

  it.scoped("a byte count of zero: the whole resource, asked from zero", () =>
    Effect.gen(function*() {
      const { directory, server, valid } = yield* setting
      const outcome = yield* Effect.flatMap(decodedFrom({ ...valid, bytesReceived: 0 }), resumeFrom).pipe(
        Effect.provide(session(directory))
      )
      expect(outcome).toBe("the original bytes")
      expect(server.requests[0]!.rangeStart).toBe(0)
    }))

  it.scoped("an expected length that is not the server's: the 206 is refused and the resource fetched from zero", () =>
    Effect.gen(function*() {
      const { directory, server, valid } = yield* setting
      const outcome = yield* Effect.flatMap(decodedFrom({ ...valid, expectedLength: 1000 }), resumeFrom).pipe(
        Effect.provide(session(directory))
      )
      expect(outcome).toBe("the original bytes")
      expect(server.requests.map((request) => request.rangeStart)).toEqual([recorded, undefined])
    }))

  it.scoped("a byte count at the whole length: the 416 is answered by fetching from zero", () =>
    Effect.gen(function*() {
      const { directory, server, valid } = yield* setting
      fs.writeFileSync(path.join(directory, partialName), body)
      const outcome = yield* Effect.flatMap(decodedFrom({ ...valid, bytesReceived: body.length }), resumeFrom).pipe(
        Effect.provide(session(directory))
      )
      expect(outcome).toBe("the original bytes")
      expect(server.requests.map((request) => request.rangeStart)).toEqual([body.length, undefined])
    }))

  it.scoped("a URL on another server, with another resource: its 200 starts the file from zero, nothing appended", () =>
    Effect.gen(function*() {
      const { directory, valid } = yield* setting
      const other: Resource = { body: patterned(10_000, 200), etag: "\"other\"" }
      const elsewhere = yield* hostileServer((socket, request) => serveRanges(socket, request, other))
      const outcome = yield* Effect.flatMap(decodedFrom({ ...valid, url: elsewhere.url }), resumeFrom).pipe(
        Effect.provide(session(directory))
      )
      expect(outcome).toBe(`other bytes (${sha256(other.body)})`)
      expect(elsewhere.requests.map((request) => request.headers["if-range"])).toEqual([resource.etag])
    }))

  it.scoped("header fields that try to set the range, its validator or the coding are overruled", () =>
    Effect.gen(function*() {
      const { directory, server, valid } = yield* setting
      const headers = { range: "bytes=0-9", "IF-RANGE": "\"forged\"", "accept-encoding": "gzip", "X-Kept": "yes" }
      const outcome = yield* Effect.flatMap(decodedFrom({ ...valid, headers }), resumeFrom).pipe(
        Effect.provide(session(directory))
      )
      expect(outcome).toBe("the original bytes")
      const [sent] = server.requests
      expect(sent!.headers).toMatchObject({
        range: `bytes=${recorded}-`,
        "if-range": resource.etag,
        "accept-encoding": "identity",
        "x-kept": "yes"
      })
    }))

  it.scoped("a header field with CR LF: BadURL, no request", () =>
    Effect.gen(function*() {
      const { directory, outsideUntouched, server, valid } = yield* setting
      const outcome = yield* Effect.flatMap(
        decodedFrom({ ...valid, headers: { "X-A": "a\r\nRange: bytes=0-" } }),
        resumeFrom
      ).pipe(Effect.provide(session(directory)))
      expect(outcome).toBe("BadURL")
      expect(server.requests).toEqual([])
      outsideUntouched()
    }))
})

describe("resume data that never went through decode", () => {
  // A plain object type-checks as ResumeData (the class has no private members), so resume
  // data read back with JSON.parse, or built by hand, would reach the session unchecked: a
  // partial file in the parent directory would be truncated, appended to, handed over and
  // removed; a byte count of -5 or NaN would go on the wire as `Range: bytes=-5-`; 1.5 would
  // be a defect; a file: URL would load a local file. The session checks it again as decode
  // does.
  const unchecked: ReadonlyArray<readonly [string, Record<string, unknown>]> = [
    ["a partial file given as an absolute path", { partialFile: "/etc/passwd" }],
    ["a partial file in the parent directory", { partialFile: "../outside.bin" }],
    ["a negative byte count", { bytesReceived: -5 }],
    ["a fractional byte count", { bytesReceived: 1.5 }],
    ["a byte count that is NaN", { bytesReceived: Number.NaN }],
    ["a byte count past the safe integers", { bytesReceived: 2 ** 53 }],
    ["a file: URL", { url: "file:///etc/hostname" }],
    ["a weak ETag", { etag: "W/\"p1\"" }]
  ]

  for (const [name, change] of unchecked) {
    it.scoped(`${name}: CannotDecodeRawData before any request, nothing touched`, () =>
      Effect.gen(function*() {
        const { directory, outsideUntouched, server, valid } = yield* setting
        const resumeData = { ...valid, ...change } as unknown as ResumeData.ResumeData
        const outcome = yield* resumeFrom(resumeData).pipe(Effect.provide(session(directory)))
        expect(outcome).toBe("CannotDecodeRawData")
        expect(server.requests).toEqual([])
        expect(sha256(fs.readFileSync(path.join(directory, partialName)))).toBe(sha256(body.subarray(0, recorded)))
        outsideUntouched()
      }))
  }

  it.scoped("its message says which field is at fault, as decode's does", () =>
    Effect.gen(function*() {
      const { directory, valid } = yield* setting
      const error = yield* failureOf(
        URLSession.downloadTaskWithResumeData(
          { ...valid, partialFile: "../outside.bin" } as unknown as ResumeData.ResumeData
        )
      ).pipe(Effect.provide(session(directory)))
      expect(error.message).toBe("The data could not be decoded: the resume data has an invalid partialFile")
    }))

  it.scoped("a plain object that decode would accept resumes as decoded resume data does", () =>
    Effect.gen(function*() {
      const { directory, server, valid } = yield* setting
      const outcome = yield* resumeFrom(valid as unknown as ResumeData.ResumeData).pipe(
        Effect.provide(session(directory))
      )
      expect(outcome).toBe("the original bytes")
      expect(server.requests.map((request) => request.rangeStart)).toEqual([recorded])
    }))
})
