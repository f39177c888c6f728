/**
 * `download(url, { to, resumable: true })`: a download that keeps what it got when it is
 * interrupted or fails, and that the next such call for the same URL and destination goes
 * on from.
 *
 * What it keeps is a record, `Resumable_<sha-256 of URL and absolute to>.json` in the
 * session's directory, holding the resume data (`ResumeData.encode`d: it is decoded and
 * validated as strictly as any resume data) whose partial file is the session's own, beside
 * it. `to` is only ever written whole, by the session's atomic move.
 *
 * - While the download runs, every 8 MiB or 2 s of progress (and at its first bytes) the
 *   partial file is made durable and the record written with the download as its holder
 *   (`checkpoint`), so that a process killed outright (`kill -9`) can be gone on from.
 * - Interrupted, the download is cancelled for its resume data (`cancelByProducingResumeData`)
 *   and the record written without a holder; failed with resume data in its `URLError`, the
 *   same; completed or failed without resume data, its record is removed.
 * - A record is taken by renaming it, so that of two processes starting together one gets it
 *   and the other starts afresh; a record whose holder is a process still running is left
 *   alone (its holder writes to the partial file), and the new download starts afresh.
 * - Records (and their partial files) older than the retention (7 days, or
 *   `URLSESSION_RESUMABLE_RETENTION_MILLIS`) are removed when a resumable download starts.
 */
import type { PlatformError } from "@effect/platform/Error"
import type * as FileSystem from "@effect/platform/FileSystem"
import * as Cause from "effect/Cause"
import * as Clock from "effect/Clock"
import * as Config from "effect/Config"
import * as Effect from "effect/Effect"
import * as Either from "effect/Either"
import * as Exit from "effect/Exit"
import * as Fiber from "effect/Fiber"
import * as Option from "effect/Option"
import * as Queue from "effect/Queue"
import * as Schema from "effect/Schema"
import * as Scope from "effect/Scope"
import type { DownloadStorage } from "../DownloadStorage.js"
import * as ResumeData from "../ResumeData.js"
import type * as URLError from "../URLError.js"
import type { TransferProgress } from "../URLSessionTask.js"
import type { DownloadResult, URLSessionDownloadTask } from "../URLSessionTask.js"
import * as Progress from "./transferProgress.js"

/** The environment variable that sets how long records nobody comes back for are kept. */
export const retentionVariable = "URLSESSION_RESUMABLE_RETENTION_MILLIS"

const defaultRetentionMillis = 7 * 24 * 60 * 60 * 1000

// The daemon's checkpoint rhythm: at most this much is fetched again after a kill.
const checkpointBytes = 8 * 1024 * 1024
const checkpointInterval = "2 seconds"

const recordPrefix = "Resumable_"

// Resume data is a few hundred bytes; a record far larger was never ours.
const maximumRecordSize = 1 << 20

const Holder = Schema.Struct({ pid: Schema.Int, run: Schema.String })

const Record = Schema.parseJson(Schema.Struct({
  version: Schema.Literal(1),
  url: Schema.String,
  to: Schema.String,
  resumeData: Schema.String,
  savedAt: Schema.Number,
  holder: Schema.optional(Holder)
}))

type Record = typeof Record.Type
type Holder = typeof Holder.Type

// The downloads running in this process now. Every session of a process shares its process
// id, so the set is the process's, not a session's.
const runningHere = new Set<string>()

// Whether the download that wrote a record still runs: in this process the set says; of
// another, the platform. Without a platform to ask, a holder is taken to be running:
// starting afresh is safe, two writers of one partial file are not.
const holderRuns = (storage: DownloadStorage, holder: Holder | undefined): boolean => {
  if (holder === undefined) return false
  const processes = storage.processes
  if (processes === undefined) return true
  return holder.pid === processes.current ? runningHere.has(holder.run) : processes.isRunning(holder.pid)
}

/** How a resumable download gets its task: from resume data, or afresh. */
export interface Start {
  readonly fresh: Effect.Effect<URLSessionDownloadTask>
  readonly resuming: (resumeData: ResumeData.ResumeData) => Effect.Effect<URLSessionDownloadTask, URLError.URLError>
}

/**
 * Runs a resumable download of `url` for `to` and gives the completed task's result, whose
 * file (in the session's directory) is removed when the current scope closes unless moved.
 * `inProcess` is resume data this process already holds for it (from `retryDownload`): it
 * wins over a record.
 */
export const run = (options: {
  readonly storage: DownloadStorage
  readonly url: string
  readonly to: string
  readonly inProcess: Option.Option<ResumeData.ResumeData>
  readonly start: Start
  readonly progress: ((progress: TransferProgress) => Effect.Effect<void>) | undefined
}): Effect.Effect<DownloadResult, URLError.URLError, Scope.Scope> =>
  Effect.gen(function*() {
    const { storage } = options
    const fileSystem = storage.fileSystem
    const outer = yield* Effect.scope
    const to = yield* absolutePath(fileSystem, options.to)
    const key = yield* keyOf(options.url, to)
    const record = `${storage.directory}/${recordPrefix}${key}.json`
    const runId = globalThis.crypto.randomUUID()
    const partialPath = (resumeData: ResumeData.ResumeData) => `${storage.directory}/${resumeData.partialFile}`
    const removePartial = (resumeData: ResumeData.ResumeData) =>
      Effect.ignore(fileSystem.remove(partialPath(resumeData)))

    yield* Effect.ignore(sweep(storage, yield* Clock.currentTimeMillis, yield* retentionMillis))

    const save = (resumeData: ResumeData.ResumeData, holder: Holder | undefined) =>
      Effect.flatMap(Effect.zip(ResumeData.encode(resumeData), Clock.currentTimeMillis), ([encoded, savedAt]) =>
        write(storage, record, {
          version: 1,
          url: options.url,
          to,
          resumeData: encoded,
          savedAt,
          ...(holder === undefined ? {} : { holder })
        }))
    const release = Effect.ignore(Effect.gen(function*() {
      const read = yield* readRecord(fileSystem, record)
      if (read._tag === "Valid" && read.record.holder?.run === runId) {
        yield* fileSystem.remove(record)
      }
    }))

    // The watchers and the checkpoints end with the download, whatever its end.
    const local = yield* Scope.make()
    // Only the wait is interruptible: from the moment the record is taken until the task runs,
    // an interruption would lose the resume data taken; once it runs, `keep` saves it again.
    return yield* Effect.uninterruptibleMask((restore) =>
      Effect.gen(function*() {
        const taken = yield* take(storage, record, options.url, to)
        // A record this process did not go on from would leave its partial file behind.
        if (
          Option.isSome(taken) && Option.isSome(options.inProcess) &&
          taken.value.partialFile !== options.inProcess.value.partialFile
        ) {
          yield* removePartial(taken.value)
        }
        const task = yield* Option.match(
          Option.orElse(options.inProcess, () =>
            taken),
          {
            onNone: () => options.start.fresh,
            // Resume data whose partial file is gone or short is no reason to fail: start again.
            onSome: (resumeData) =>
              options.start.resuming(resumeData).pipe(
                Effect.catchAll(() => Effect.zipRight(removePartial(resumeData), options.start.fresh))
              )
          }
        )

        const wake = yield* Queue.sliding<void>(1)
        let signalledAt: number | undefined
        const watch = yield* Scope.extend(
          Progress.watch(task, options.progress, (progress) => {
            if (progress.bytes > 0 && (signalledAt === undefined || progress.bytes - signalledAt >= checkpointBytes)) {
              signalledAt = progress.bytes
              wake.unsafeOffer(undefined)
            }
          }),
          local
        )
        let checkpointed = 0
        const checkpoint = Effect.suspend(() =>
          watch.latest().bytes <= checkpointed ? Effect.void : Effect.flatMap(
            task.checkpoint,
            Option.match({
              onNone: () => Effect.void,
              onSome: (resumeData) =>
                Effect.tap(save(resumeData, { pid: storage.processes?.current ?? -1, run: runId }), () =>
                  Effect.sync(() => {
                    checkpointed = resumeData.bytesReceived
                  }))
            })
          )
        )
        const checkpoints = yield* Effect.race(wake.take, Effect.sleep(checkpointInterval)).pipe(
          Effect.zipRight(Effect.ignore(checkpoint)),
          Effect.forever,
          Effect.interruptible,
          Effect.forkIn(local)
        )

        // Interrupted: what is on disk is kept for the next call, without a holder.
        const keep = Effect.gen(function*() {
          yield* Fiber.interrupt(checkpoints)
          const resumeData = yield* task.cancelByProducingResumeData
          if (Option.isNone(resumeData)) return yield* release
          yield* save(resumeData.value, undefined).pipe(
            Effect.catchAll(() => Effect.zipRight(removePartial(resumeData.value), release))
          )
        })

        runningHere.add(runId)
        yield* task.resume
        // Awaited from a fiber of its own: interrupting the caller must not cancel the task
        // (as `await` does) before `keep` has asked it for its resume data.
        const awaiting = yield* Effect.forkIn(Effect.interruptible(task.await), local)
        const outcome = yield* restore(Fiber.await(awaiting)).pipe(Effect.onInterrupt(() => keep))
        yield* Fiber.interrupt(checkpoints)
        if (Exit.isSuccess(outcome)) {
          yield* Scope.addFinalizer(outer, Effect.ignore(fileSystem.remove(outcome.value.location)))
          yield* release
          yield* restore(watch.finish)
          return outcome.value
        }
        const resumeData = Option.flatMap(
          Cause.failureOption(outcome.cause),
          (error) => Option.fromNullable(error.resumeData)
        )
        yield* Option.match(resumeData, {
          onNone: () => release,
          onSome: (resumeData) =>
            save(resumeData, undefined).pipe(Effect.catchAll(() => Effect.zipRight(removePartial(resumeData), release)))
        })
        return yield* outcome
      }).pipe(
        Effect.ensuring(Effect.sync(() => runningHere.delete(runId))),
        Effect.onExit((exit) => Scope.close(local, exit))
      )
    )
  })

const retentionMillis: Effect.Effect<number> = Config.integer(retentionVariable).pipe(
  Config.withDefault(defaultRetentionMillis),
  Effect.orElseSucceed(() => defaultRetentionMillis)
)

// The record's key: the destination is made absolute, so that `file.iso` from one directory
// and another are different downloads.
const keyOf = (url: string, to: string): Effect.Effect<string> =>
  Effect.promise(() => globalThis.crypto.subtle.digest("SHA-256", new TextEncoder().encode(`${url}\n${to}`))).pipe(
    Effect.map((digest) => Array.from(new Uint8Array(digest), (byte) => byte.toString(16).padStart(2, "0")).join(""))
  )

const absolutePath = (fileSystem: FileSystem.FileSystem, path: string): Effect.Effect<string> =>
  path.startsWith("/")
    ? Effect.succeed(normalize(path))
    : fileSystem.realPath(".").pipe(
      Effect.map((cwd) => normalize(`${cwd}/${path}`)),
      Effect.orElseSucceed(() => path)
    )

const normalize = (path: string): string => {
  const segments: Array<string> = []
  for (const segment of path.split("/")) {
    if (segment === "" || segment === ".") continue
    if (segment === "..") segments.pop()
    else segments.push(segment)
  }
  return `/${segments.join("/")}`
}

type Read =
  | { readonly _tag: "Absent" }
  | { readonly _tag: "Invalid" }
  | { readonly _tag: "Valid"; readonly record: Record }

const readRecord = (fileSystem: FileSystem.FileSystem, path: string): Effect.Effect<Read> =>
  fileSystem.stat(path).pipe(
    Effect.flatMap((info) =>
      info.type !== "File" || Number(info.size) > maximumRecordSize
        ? Effect.succeed<Read>({ _tag: "Invalid" })
        : Effect.map(fileSystem.readFileString(path), (text) =>
          Either.match(Schema.decodeUnknownEither(Record)(text), {
            onLeft: (): Read => ({ _tag: "Invalid" }),
            onRight: (record): Read => ({ _tag: "Valid", record })
          }))
    ),
    Effect.catchAll((error: PlatformError) =>
      Effect.succeed<Read>(
        error._tag === "SystemError" && error.reason === "NotFound" ? { _tag: "Absent" } : { _tag: "Invalid" }
      )
    )
  )

// Temporary name, then a rename: a reader sees the old record or the new one, never half.
const write = (storage: DownloadStorage, path: string, record: Record): Effect.Effect<void, PlatformError> => {
  const staging = `${path}.${globalThis.crypto.randomUUID()}.tmp`
  return Effect.scoped(
    Effect.flatMap(
      storage.openPartialFile(staging, "create"),
      (file) => Effect.zipRight(file.writeAll(new TextEncoder().encode(Schema.encodeSync(Record)(record))), file.sync)
    )
  ).pipe(
    Effect.zipRight(storage.fileSystem.rename(staging, path)),
    Effect.tapError(() => Effect.ignore(storage.fileSystem.remove(staging))),
    Effect.uninterruptible
  )
}

/**
 * Takes the record at `path` for `url` and `to`, by renaming it to a name of this call's: of
 * two callers, one gets it. A record held by a running download is left where it is; one
 * that is not a record of this version, or not for this URL and destination, or whose resume
 * data does not decode, is removed and the download starts afresh.
 */
const take = (
  storage: DownloadStorage,
  path: string,
  url: string,
  to: string
): Effect.Effect<Option.Option<ResumeData.ResumeData>> =>
  Effect.gen(function*() {
    const fileSystem = storage.fileSystem
    const first = yield* readRecord(fileSystem, path)
    if (first._tag === "Absent") return Option.none()
    if (first._tag === "Valid" && holderRuns(storage, first.record.holder)) return Option.none()
    const taken = `${path}.${globalThis.crypto.randomUUID()}.taken`
    if (Either.isLeft(yield* Effect.either(fileSystem.rename(path, taken)))) return Option.none()
    const read = yield* readRecord(fileSystem, taken)
    // A download that started meanwhile wrote it again: it is that download's; put it back
    // unless it has written yet another.
    if (read._tag === "Valid" && holderRuns(storage, read.record.holder)) {
      yield* Effect.ignore(fileSystem.link(taken, path))
      yield* Effect.ignore(fileSystem.remove(taken))
      return Option.none()
    }
    yield* Effect.ignore(fileSystem.remove(taken))
    if (read._tag !== "Valid" || read.record.url !== url || read.record.to !== to) return Option.none()
    return Option.getRight(yield* Effect.either(ResumeData.decode(read.record.resumeData)))
  })

/**
 * Removes the records of this session's directory saved longer than `retention` ago, with
 * their partial files, and what a process that died mid-write left of one (a `.tmp` or
 * `.taken`), unless a running download holds them.
 */
const sweep = (storage: DownloadStorage, now: number, retention: number): Effect.Effect<void, PlatformError> =>
  Effect.gen(function*() {
    const fileSystem = storage.fileSystem
    const names = (yield* fileSystem.readDirectory(storage.directory)).filter((name) => name.startsWith(recordPrefix))
    yield* Effect.forEach(names, (name) =>
      Effect.ignore(Effect.gen(function*() {
        const path = `${storage.directory}/${name}`
        const read = yield* readRecord(fileSystem, path)
        if (read._tag === "Absent") return
        if (read._tag === "Valid") {
          if (read.record.savedAt + retention > now || holderRuns(storage, read.record.holder)) return
          const resumeData = yield* Effect.option(ResumeData.decode(read.record.resumeData))
          if (Option.isSome(resumeData)) {
            yield* Effect.ignore(fileSystem.remove(`${storage.directory}/${resumeData.value.partialFile}`))
          }
          return yield* fileSystem.remove(path)
        }
        const modified = Option.getOrUndefined((yield* fileSystem.stat(path)).mtime)?.getTime() ?? now
        if (modified + retention <= now) yield* fileSystem.remove(path)
      })), { discard: true })
  })
