/**
 * The session's downloads directory: one private directory per user under the OS temp
 * directory (or where URLSESSION_DOWNLOADS_DIRECTORY says), checked on every session start,
 * named by an identifier that cannot lead out of it, and partial files opened without
 * following links, so that no other local user can make a session write outside it.
 */
import { describe, expect, it } from "@effect/vitest"
import { ResumeData, URLError, URLSession, URLSessionConfiguration } from "@urlsession/core"
import { NodeURLSession } from "@urlsession/node"
import { Cause, Effect, Exit, Option } from "effect"
import * as fs from "node:fs"
import * as path from "node:path"
import { patterned, tempDirectory } from "../fixtures/files.js"
import { answerRange, httpServer } from "../fixtures/servers.js"

const uid = process.getuid!()
// Giving a directory to another user takes root (as CI runs).
const canChown = uid === 0
const body = patterned(64 * 1024)
const bytesReceived = 1000
const variable = "URLSESSION_DOWNLOADS_DIRECTORY"

/** Sets (or with `undefined` removes) an environment variable for the test's scope. */
const withEnvironment = (name: string, value: string | undefined) =>
  Effect.acquireRelease(
    Effect.sync(() => {
      const previous = process.env[name]
      if (value === undefined) delete process.env[name]
      else process.env[name] = value
      return previous
    }),
    (previous) =>
      Effect.sync(() => {
        if (previous === undefined) delete process.env[name]
        else process.env[name] = previous
      })
  )

/** The OS temp directory, moved to a fresh directory of the test's own for its scope, and no
 * URLSESSION_DOWNLOADS_DIRECTORY from the caller's environment. */
const privateTemp = Effect.tap(
  tempDirectory,
  (directory) => Effect.zipRight(withEnvironment("TMPDIR", directory), withEnvironment(variable, undefined))
)

/** Serves `body` with an ETag and byte ranges, answering a range with `answer`. */
const resumableServer = (answer: 200 | 206) =>
  httpServer((request, response) => {
    const headers = { ETag: "\"v1\"", "Accept-Ranges": "bytes" }
    if (answer === 206 && answerRange(request, response, body, headers)) return
    response.writeHead(200, { ...headers, "Content-Length": String(body.length) })
    response.end(body)
  })

const resumeDataFor = (url: string) =>
  new ResumeData.ResumeData({
    version: ResumeData.version,
    originalURL: url,
    url,
    headers: {},
    etag: "\"v1\"",
    bytesReceived,
    expectedLength: body.length,
    partialFile: `CFNetworkDownload_${globalThis.crypto.randomUUID()}.tmp`
  })

/** A file outside every session directory, which no download may touch. */
const victimFile = (length: number) =>
  Effect.map(tempDirectory, (outside) => {
    const victim = path.join(outside, "precious")
    fs.writeFileSync(victim, "p".repeat(length))
    return victim
  })

/** The failure of `effect`; a success fails the test, saying so (not printing a task). */
const failureOf = <E, R>(effect: Effect.Effect<unknown, E, R>) =>
  Effect.matchEffect(effect, {
    onFailure: Effect.succeed,
    onSuccess: () => Effect.dieMessage("expected a failure, but it succeeded")
  })

/** The layer's failure: a URLError (an InvalidConfiguration would be a mistake in the test). */
const buildFailure = (layer: ReturnType<typeof NodeURLSession.layer>) =>
  Effect.flatMap(
    failureOf(Effect.scoped(Effect.provide(Effect.void, layer))),
    (error) => error instanceof URLError.URLError ? Effect.succeed(error) : Effect.die(error)
  )

const mode = (file: string) => fs.lstatSync(file).mode & 0o777

describe("partial files are opened without following links", () => {
  it.scoped("a symbolic link planted under a partial file's name fails the resume with CannotOpenFile; its target is untouched", () =>
    Effect.gen(function*() {
      const directory = yield* tempDirectory
      const victim = yield* victimFile(4 * bytesReceived)
      const server = yield* resumableServer(206)
      const resumeData = resumeDataFor(server.url)
      fs.symlinkSync(victim, path.join(directory, resumeData.partialFile))
      const error = yield* failureOf(URLSession.downloadTaskWithResumeData(resumeData)).pipe(
        Effect.provide(NodeURLSession.layer(URLSessionConfiguration.default, { downloadsDirectory: directory }))
      )
      expect(error.code).toBe("CannotOpenFile")
      expect(error.errorCode).toBe(-3001)
      expect(error.message).toContain("it is a symbolic link")
      expect(fs.readFileSync(victim, "latin1")).toBe("p".repeat(4 * bytesReceived))
    }))

  it.scoped("a hard link planted under a partial file's name fails the resume with CannotOpenFile; its other name is untouched", () =>
    Effect.gen(function*() {
      const directory = yield* tempDirectory
      const server = yield* resumableServer(206)
      const resumeData = resumeDataFor(server.url)
      // A hard link needs the same file system: the victim sits beside the directory.
      const victim = `${directory}.precious`
      yield* Effect.acquireRelease(
        Effect.sync(() => fs.writeFileSync(victim, "p".repeat(4 * bytesReceived))),
        () => Effect.sync(() => fs.rmSync(victim, { force: true }))
      )
      fs.linkSync(victim, path.join(directory, resumeData.partialFile))
      const error = yield* failureOf(URLSession.downloadTaskWithResumeData(resumeData)).pipe(
        Effect.provide(NodeURLSession.layer(URLSessionConfiguration.default, { downloadsDirectory: directory }))
      )
      expect(error.code).toBe("CannotOpenFile")
      expect(fs.readFileSync(victim, "latin1")).toBe("p".repeat(4 * bytesReceived))
    }))

  for (const answer of [206, 200] as const) {
    it.scoped(`a link planted after the task was made fails it with CannotOpenFile when the server answers ${answer}; its target is untouched`, () =>
      Effect.gen(function*() {
        const directory = yield* tempDirectory
        const victim = yield* victimFile(bytesReceived)
        const server = yield* resumableServer(answer)
        const resumeData = resumeDataFor(server.url)
        const partial = path.join(directory, resumeData.partialFile)
        fs.writeFileSync(partial, body.subarray(0, bytesReceived))
        const error = yield* Effect.gen(function*() {
          const task = yield* URLSession.downloadTaskWithResumeData(resumeData)
          fs.rmSync(partial)
          fs.symlinkSync(victim, partial)
          yield* task.resume
          return yield* failureOf(task.await)
        }).pipe(
          Effect.provide(NodeURLSession.layer(URLSessionConfiguration.default, { downloadsDirectory: directory }))
        )
        expect(error.code).toBe("CannotOpenFile")
        expect(error.message).toContain("it is a symbolic link")
        expect(fs.readFileSync(victim, "latin1")).toBe("p".repeat(bytesReceived))
        // The link goes with the failed task; what it pointed at stays.
        expect(fs.readdirSync(directory)).toEqual([])
      }))
  }
})

describe("the downloads directory", () => {
  it.scoped("the default directory is <OS temp>/urlsession-<uid>/default, each level made 0700", () =>
    Effect.gen(function*() {
      const temp = yield* privateTemp
      const server = yield* resumableServer(200)
      const { location } = yield* URLSession.download(server.url).pipe(
        Effect.provide(NodeURLSession.layer(URLSessionConfiguration.default))
      )
      const root = path.join(temp, `urlsession-${uid}`)
      expect(path.dirname(location)).toBe(path.join(root, "default"))
      expect(mode(root)).toBe(0o700)
      expect(mode(path.join(root, "default"))).toBe(0o700)
    }))

  it.scoped("URLSESSION_DOWNLOADS_DIRECTORY replaces <OS temp>/urlsession-<uid>", () =>
    Effect.gen(function*() {
      const temp = yield* privateTemp
      const elsewhere = path.join(yield* tempDirectory, "downloads")
      yield* withEnvironment(variable, elsewhere)
      const server = yield* resumableServer(200)
      const { location } = yield* URLSession.download(server.url).pipe(
        Effect.provide(NodeURLSession.layer(URLSessionConfiguration.default))
      )
      expect(path.dirname(location)).toBe(path.join(elsewhere, "default"))
      expect(mode(elsewhere)).toBe(0o700)
      expect(mode(path.join(elsewhere, "default"))).toBe(0o700)
      expect(fs.existsSync(path.join(temp, `urlsession-${uid}`))).toBe(false)
    }))

  it.scoped("a relative URLSESSION_DOWNLOADS_DIRECTORY fails the session's layer with CannotCreateFile, naming the variable", () =>
    Effect.gen(function*() {
      yield* privateTemp
      yield* withEnvironment(variable, "downloads")
      const error = yield* buildFailure(NodeURLSession.layer(URLSessionConfiguration.default))
      expect(error.code).toBe("CannotCreateFile")
      expect(error.message).toContain(variable)
    }))

  it.scoped.skipIf(!canChown)(
    "a default directory owned by another uid fails the session's layer with CannotCreateFile (-3000)",
    () =>
      Effect.gen(function*() {
        const temp = yield* privateTemp
        // What user 65534 gets by creating the predictable name first.
        const root = path.join(temp, `urlsession-${uid}`)
        fs.mkdirSync(path.join(root, "default"), { recursive: true, mode: 0o700 })
        fs.chownSync(path.join(root, "default"), 65534, 65534)
        fs.chownSync(root, 65534, 65534)
        const error = yield* buildFailure(NodeURLSession.layer(URLSessionConfiguration.default))
        expect(error.code).toBe("CannotCreateFile")
        expect(error.errorCode).toBe(-3000)
        expect(error.message).toContain(root)
        expect(error.message).toContain("65534")
      })
  )

  it.scoped.skipIf(!canChown)(
    "a downloadsDirectory owned by another uid fails the session's layer with CannotCreateFile",
    () =>
      Effect.gen(function*() {
        const directory = yield* tempDirectory
        fs.chownSync(directory, 65534, 65534)
        const error = yield* buildFailure(
          NodeURLSession.layer(URLSessionConfiguration.default, { downloadsDirectory: directory })
        )
        expect(error.code).toBe("CannotCreateFile")
      })
  )

  it.scoped("a default directory with mode 0777 fails the session's layer with CannotCreateFile", () =>
    Effect.gen(function*() {
      const temp = yield* privateTemp
      const root = path.join(temp, `urlsession-${uid}`)
      fs.mkdirSync(root)
      fs.chmodSync(root, 0o777)
      const error = yield* buildFailure(NodeURLSession.layer(URLSessionConfiguration.default))
      expect(error.code).toBe("CannotCreateFile")
      expect(error.message).toContain(`the directory ${root} is writable by its group and others (mode 777)`)
      expect(fs.readdirSync(root)).toEqual([])
    }))

  it.scoped("a downloadsDirectory writable by its group fails the session's layer with CannotCreateFile", () =>
    Effect.gen(function*() {
      const directory = yield* tempDirectory
      fs.chmodSync(directory, 0o770)
      const error = yield* buildFailure(
        NodeURLSession.layer(URLSessionConfiguration.default, { downloadsDirectory: directory })
      )
      expect(error.code).toBe("CannotCreateFile")
    }))

  it.scoped("a default directory that is a symbolic link fails the session's layer with CannotCreateFile", () =>
    Effect.gen(function*() {
      const temp = yield* privateTemp
      const target = yield* tempDirectory
      fs.symlinkSync(target, path.join(temp, `urlsession-${uid}`))
      const error = yield* buildFailure(NodeURLSession.layer(URLSessionConfiguration.default))
      expect(error.code).toBe("CannotCreateFile")
      expect(fs.readdirSync(target)).toEqual([])
    }))

  it.scoped("a downloadsDirectory that cannot be made fails the session's layer with CannotCreateFile (-3000)", () =>
    Effect.gen(function*() {
      const parent = yield* tempDirectory
      const blocker = path.join(parent, "a-file")
      fs.writeFileSync(blocker, "")
      const error = yield* buildFailure(
        NodeURLSession.layer(URLSessionConfiguration.default, { downloadsDirectory: path.join(blocker, "downloads") })
      )
      expect(error.code).toBe("CannotCreateFile")
      expect(error.errorCode).toBe(-3000)
    }))

  it.scoped("a downloadsDirectory that does not exist is made 0700", () =>
    Effect.gen(function*() {
      const directory = path.join(yield* tempDirectory, "new", "downloads")
      const server = yield* resumableServer(200)
      const { location } = yield* URLSession.download(server.url).pipe(
        Effect.provide(NodeURLSession.layer(URLSessionConfiguration.default, { downloadsDirectory: directory }))
      )
      expect(path.dirname(location)).toBe(directory)
      expect(mode(directory)).toBe(0o700)
    }))

  it.scoped("a directory removed while the session runs is made again by the same rule", () =>
    Effect.gen(function*() {
      const directory = path.join(yield* tempDirectory, "downloads")
      fs.mkdirSync(directory, { mode: 0o700 })
      const server = yield* resumableServer(200)
      const { location } = yield* Effect.gen(function*() {
        fs.rmSync(directory, { recursive: true })
        return yield* URLSession.download(server.url)
      }).pipe(
        Effect.provide(NodeURLSession.layer(URLSessionConfiguration.default, { downloadsDirectory: directory }))
      )
      expect(path.dirname(location)).toBe(directory)
      expect(mode(directory)).toBe(0o700)
    }))

  it.scoped("a directory that breaks the rule while the session runs fails the next download with CannotCreateFile, naming its URL", () =>
    Effect.gen(function*() {
      const directory = path.join(yield* tempDirectory, "downloads")
      fs.mkdirSync(directory, { mode: 0o700 })
      const server = yield* resumableServer(200)
      const error = yield* Effect.gen(function*() {
        fs.chmodSync(directory, 0o777)
        return yield* failureOf(Effect.scoped(URLSession.download(server.url)))
      }).pipe(
        Effect.provide(NodeURLSession.layer(URLSessionConfiguration.default, { downloadsDirectory: directory }))
      )
      expect(error.code).toBe("CannotCreateFile")
      expect(error.failingURL).toBe(server.url)
      expect(fs.readdirSync(directory)).toEqual([])
    }))
})

describe("session identifiers", () => {
  const hostile = ["../../x", "..", ".", "", "a/b", "a\\b", "x\u0000y", ".hidden", "x".repeat(300)]

  it("an identifier that is not a single safe path segment is refused by isValidIdentifier", () => {
    for (const identifier of hostile) {
      expect(URLSessionConfiguration.isValidIdentifier(identifier), JSON.stringify(identifier)).toBe(false)
    }
    expect(Option.getOrThrow(URLSessionConfiguration.background("com.example.app.bg-1_2").identifier)).toBe(
      "com.example.app.bg-1_2"
    )
  })

  it.scoped("a configuration carrying a hostile identifier fails the layer with InvalidConfiguration, naming it", () =>
    Effect.gen(function*() {
      const forged: URLSessionConfiguration.URLSessionConfiguration = Object.assign(
        Object.create(Object.getPrototypeOf(URLSessionConfiguration.default)),
        URLSessionConfiguration.default,
        { identifier: Option.some("../../x") }
      )
      const temp = yield* privateTemp
      for (const configuration of [forged, URLSessionConfiguration.background("../../x")]) {
        const exit = yield* Effect.exit(Effect.scoped(Effect.provide(Effect.void, NodeURLSession.layer(configuration))))
        expect(Exit.isFailure(exit) && Cause.isFailType(exit.cause) && exit.cause.error).toBeInstanceOf(
          URLSessionConfiguration.InvalidConfiguration
        )
        expect(Exit.isFailure(exit) ? Cause.pretty(exit.cause) : "").toMatch(/identifier is "\.\.\/\.\.\/x"/)
      }
      expect(fs.readdirSync(temp)).toEqual([])
    }))
})
