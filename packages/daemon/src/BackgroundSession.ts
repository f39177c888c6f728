/**
 * Background sessions on the app's side: a `URLSession` whose downloads and uploads the
 * per-user daemon `urlsessiond` carries out, so that they go on while the app is not running.
 * `NodeURLSession.layer(URLSessionConfiguration.background(identifier))` gives this layer.
 *
 * The layer attaches to the daemon (starting it, detached, if it is not running) and holds
 * the identifier while it is open: a second layer with the same identifier, in any process,
 * fails with `BackgroundSessionInUseByAnotherProcess` (-996). Closing the layer detaches;
 * it cancels nothing. A daemon that dies while the layer is open is started again and the
 * session attached again: its tasks go on, their `await`s keep waiting.
 *
 * What Apple's background sessions refuse, this one refuses: only `http:` and `https:` URLs
 * (a task for another scheme fails with `UnsupportedURL`); uploads from a file only (a bytes
 * or stream upload is a defect); redirects are always followed (the delegate's
 * `willPerformHTTPRedirection` is not asked). A data task is loaded while the app is
 * connected, and fails with `BackgroundSessionWasDisconnected` (-997) if the connection is
 * lost. Waiting on a download or upload (`await`, `download`, `upload`) and being
 * interrupted stops the waiting only: the transfer goes on in the daemon (`cancel` cancels
 * it).
 *
 * Events the daemon stored (per task, `DidFinishDownloadingTo` then `DidCompleteWithError`;
 * an upload's response, body and completion) are delivered to every subscriber to `events`,
 * whenever it subscribes, until the app acknowledges the task; then comes
 * `DidFinishEventsForBackgroundURLSession`, then live events. A download's file is the
 * app's to take, once: acknowledging hands it over (the daemon removes its copy and never
 * delivers the task's events again). The acknowledgement is the delegate's
 * `didFinishDownloadingTo` succeeding, `download(url, { to })` having moved the file,
 * `upload` and `data` returning, or an explicit {@link acknowledge}.
 *
 * @since 0.1.0
 */
import type * as URLError from "@urlsession/core/URLError"
import type * as URLSession from "@urlsession/core/URLSession"
import type * as URLSessionConfiguration from "@urlsession/core/URLSessionConfiguration"
import type * as URLSessionDelegate from "@urlsession/core/URLSessionDelegate"
import type * as URLSessionTask from "@urlsession/core/URLSessionTask"
import type * as Effect from "effect/Effect"
import type * as Layer from "effect/Layer"
import * as internal from "./internal/backgroundSession.js"

/**
 * What a background session can take beyond its configuration.
 *
 * @since 0.1.0
 * @category models
 */
export interface Options {
  /** The session's delegate. Of its methods only `didFinishDownloadingTo` is asked: the
   * daemon takes every other decision by Apple's defaults. */
  readonly delegate?: URLSessionDelegate.URLSessionDelegate | undefined
  /** The daemon's state directory, instead of where `URLSESSION_STATE_DIRECTORY` or the
   * default puts it (see `StateDirectory`): one daemon serves each state directory. */
  readonly stateDirectory?: string | undefined
}

/**
 * A background session for `configuration` (made by `URLSessionConfiguration.background`).
 * Building it fails with `InvalidConfiguration` for a configuration that
 * `URLSessionConfiguration.validate` refuses (an identifier that `isValidIdentifier` refuses,
 * a negative timeout…), before the daemon is asked for anything; with `BackgroundSessionInUseByAnotherProcess` (-996) when another layer
 * holds the identifier, with `CannotConnectToHost` when the daemon does not answer within
 * 10 seconds of being started (the message names its log, `daemon.log` in the state
 * directory) or speaks another protocol version, and with `CannotCreateFile` when the state
 * directory cannot be used.
 *
 * @example
 * ```ts
 * import { Effect } from "effect"
 * import { URLSession, URLSessionConfiguration } from "@urlsession/core"
 * import { BackgroundSession } from "@urlsession/daemon"
 *
 * // Downloads the file even if this program is killed meanwhile: the next run of it
 * // finds the task again in `URLSession.allTasks`, or its completion in `URLSession.events`.
 * const saved = Effect.scoped(URLSession.download("https://example.com/big.iso", { to: "/tmp/big.iso" })).pipe(
 *   Effect.provide(BackgroundSession.layer(URLSessionConfiguration.background("com.example.sync")))
 * )
 * ```
 *
 * @since 0.1.0
 * @category layers
 */
export const layer: (
  configuration: URLSessionConfiguration.URLSessionConfiguration,
  options?: Options
) => Layer.Layer<URLSession.URLSession, URLError.URLError | URLSessionConfiguration.InvalidConfiguration> =
  internal.layer

/**
 * Hands over a task's stored events, and a download's file with them: the daemon deletes
 * them (and the file, if it is still where the daemon put it) and never delivers them
 * again. For an app that takes a finished download from `events` or `await`, with neither a
 * delegate nor `download(url, { to })` to acknowledge it: call it once the file is moved.
 * It takes the task, or anything with its `taskIdentifier` (one of its events: a task made
 * by an app that has since exited is known by its events). In a session that is not a
 * background one there is nothing to hand over, and it does nothing.
 *
 * @example
 * ```ts
 * import { Effect } from "effect"
 * import * as fs from "node:fs"
 * import { URLSession } from "@urlsession/core"
 * import { BackgroundSession } from "@urlsession/daemon"
 *
 * const keep = Effect.gen(function*() {
 *   const task = yield* URLSession.downloadTask("https://example.com/report.pdf")
 *   yield* task.resume
 *   const { location } = yield* task.await
 *   fs.renameSync(location, "/tmp/report.pdf")
 *   yield* BackgroundSession.acknowledge(task)
 * })
 * ```
 *
 * @since 0.1.0
 * @category accessors
 */
export const acknowledge: (
  task: Pick<URLSessionTask.URLSessionTask, "taskIdentifier">
) => Effect.Effect<void, URLError.URLError, URLSession.URLSession> = internal.acknowledge
