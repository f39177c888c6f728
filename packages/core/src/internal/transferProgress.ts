import * as Chunk from "effect/Chunk"
import * as Effect from "effect/Effect"
import * as Fiber from "effect/Fiber"
import * as Mailbox from "effect/Mailbox"
import * as Option from "effect/Option"
import * as Scope from "effect/Scope"
import * as Stream from "effect/Stream"
import type { TransferProgress } from "../URLSessionTask.js"
import type { URLSessionTask } from "../URLSessionTask.js"

/** A transfer's progress from a byte count and a total (-1, as Apple's events say, when unknown). */
export const make = (bytes: number, total: number): TransferProgress => {
  const totalBytes = total >= 0 ? Option.some(total) : Option.none()
  return {
    bytes,
    totalBytes,
    // Nothing to transfer is all of it.
    fraction: Option.map(totalBytes, (total) => total === 0 ? 1 : Math.min(1, bytes / total))
  }
}

/** Watches a task's progress events, from before its `resume` until `finish`. */
export interface ProgressWatch {
  /** The latest progress the events told. */
  readonly latest: () => TransferProgress
  /**
   * Waits for the task's events to end (call it once the task has completed), reports the
   * complete progress as the last value and waits until the handler has taken it.
   */
  readonly finish: Effect.Effect<void>
}

/**
 * Forks, in the current scope, a reader of `task`'s events that keeps the latest progress
 * (`DidWriteData` and `DidResumeAtOffset` for a download, `DidSendBodyData` for an upload),
 * and a fiber that runs `report` on it. The reader never waits for `report`: values that come
 * while it runs are replaced by newer ones (latest wins), so a slow handler never slows the
 * transfer. `onProgress` sees every value the reader does, at once (it must not wait).
 *
 * Fork it before the task's `resume`: a subscriber in place by then sees every event.
 */
export const watch = (
  task: URLSessionTask<unknown>,
  report: ((progress: TransferProgress) => Effect.Effect<void>) | undefined,
  onProgress: (progress: TransferProgress) => void = () => {}
): Effect.Effect<ProgressWatch, never, Scope.Scope> =>
  Effect.gen(function*() {
    let latest = make(0, -1)
    let complete = completeDownload
    const values = yield* Mailbox.make<TransferProgress>({ capacity: 1, strategy: "sliding" })
    const next = (progress: TransferProgress) =>
      Effect.suspend(() => {
        latest = progress
        onProgress(progress)
        return report === undefined ? Effect.void : Effect.asVoid(values.offer(progress))
      })
    const reader = yield* task.events.pipe(
      Stream.runForEach((event) => {
        switch (event._tag) {
          case "DidWriteData":
            return next(make(event.totalBytesWritten, event.totalBytesExpectedToWrite))
          case "DidResumeAtOffset":
            return next(make(event.fileOffset, event.expectedTotalBytes))
          case "DidSendBodyData":
            complete = completeUpload
            return next(make(event.totalBytesSent, event.totalBytesExpectedToSend))
          default:
            return Effect.void
        }
      }),
      // Forked from an uninterruptible region too (a resumable download's), and still ended
      // by their scope.
      Effect.interruptible,
      Effect.forkScoped
    )
    const handler = report === undefined
      ? undefined
      : yield* Effect.forkScoped(Effect.interruptible(reportEach(values, report)))
    return {
      latest: () => latest,
      finish: Effect.suspend(() =>
        Effect.gen(function*() {
          yield* Fiber.join(reader)
          if (handler === undefined) return
          yield* values.offer(complete(latest))
          yield* values.end
          yield* Fiber.join(handler)
        })
      )
    }
  })

// Runs `report` on the newest value each time, until the mailbox ends.
const reportEach = (
  values: Mailbox.Mailbox<TransferProgress>,
  report: (progress: TransferProgress) => Effect.Effect<void>
): Effect.Effect<void> =>
  Effect.flatMap(values.takeAll, ([taken, done]) =>
    Effect.zipRight(
      Option.match(Chunk.last(taken), { onNone: () => Effect.void, onSome: report }),
      done ? Effect.void : Effect.suspend(() => reportEach(values, report))
    ))

// A finished download's last progress: its bytes are the whole.
const completeDownload = (latest: TransferProgress): TransferProgress => make(latest.bytes, latest.bytes)

// A finished upload's last progress: all it announced was sent, or what was, when it
// announced no length.
const completeUpload = (latest: TransferProgress): TransferProgress =>
  Option.match(latest.totalBytes, {
    onNone: () => make(latest.bytes, latest.bytes),
    onSome: (total) => make(total, total)
  })

/**
 * Runs `body` (which resumes and awaits `task`) with `report` told the task's progress, and,
 * when `body` succeeds, the complete progress before it returns. Without `report`, `body`
 * alone.
 */
export const during = <A, E, R>(
  task: URLSessionTask<unknown>,
  report: ((progress: TransferProgress) => Effect.Effect<void>) | undefined,
  body: Effect.Effect<A, E, R>
): Effect.Effect<A, E, R> =>
  report === undefined ? body : Effect.flatMap(Scope.make(), (scope) =>
    Scope.extend(watch(task, report), scope).pipe(
      Effect.flatMap((progress) => Effect.tap(body, () => progress.finish)),
      Effect.onExit((exit) => Scope.close(scope, exit))
    ))
