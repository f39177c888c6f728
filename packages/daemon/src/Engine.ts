/**
 * The daemon's transfer engine: what every call of the protocol does. It holds the leases
 * on background sessions, builds each session's own URLSession in the daemon, runs
 * downloads and uploads in fibers of its own (a client that goes away cancels nothing),
 * records their durable progress and completions in the store, replays stored events to an
 * attaching app until it acknowledges them, and at start goes on with the transfers a crash
 * or a stop interrupted.
 *
 * Environment: `URLSESSION_IDLE_EXIT_MILLIS` (default 60 000: with no app attached and
 * nothing running or waiting to retry for that long, `exitRequested` says `"Idle"`),
 * `URLSESSION_RETENTION_MILLIS` (default 7 days: how long finished files and events nobody
 * acknowledges are kept), `URLSESSION_RETRY_BASE_MILLIS` (default 1 000: the first retry's
 * delay).
 *
 * @since 0.1.0
 */
import type { ResumeData } from "@urlsession/core/ResumeData"
import type { URLError } from "@urlsession/core/URLError"
import type * as Context from "effect/Context"
import type * as Effect from "effect/Effect"
import type * as Layer from "effect/Layer"
import type * as Option from "effect/Option"
import type * as Stream from "effect/Stream"
import * as internal from "./internal/engine.js"
import type { AttachItem, SessionStatus, TaskKind, TaskSnapshot } from "./internal/protocol.js"
import type { WireConfiguration, WireEvent, WireRequest } from "./internal/wire.js"
import type { StateDirectory } from "./StateDirectory.js"
import type { Store, StoreError } from "./Store.js"

/**
 * Why the daemon ends: `Stop` was asked for, or it was idle.
 *
 * @since 0.1.0
 * @category models
 */
export type ExitReason = "Stop" | "Idle"

/**
 * What creating a task takes: `requestId` makes it idempotent; `uploadFile` (an absolute
 * path to a regular file) for uploads; `resumeData` for downloads that go on.
 *
 * @since 0.1.0
 * @category models
 */
export interface CreateTaskOptions {
  readonly requestId: string
  readonly kind: typeof TaskKind.Type
  readonly request: WireRequest
  readonly uploadFile?: string | undefined
  readonly resumeData?: ResumeData | undefined
  readonly taskDescription?: string | undefined
}

/**
 * @since 0.1.0
 * @category models
 */
export interface Engine {
  /**
   * Takes the lease on `identifier` for `holder` (a connection) while the stream runs, and
   * streams `Attached` (the tasks alive), every stored event not acknowledged, `CaughtUp`,
   * then stored and live events as they happen. Fails with `URLError`
   * `BackgroundSessionInUseByAnotherProcess` while another holds the lease.
   */
  readonly attach: (
    identifier: string,
    configuration: WireConfiguration,
    holder: number
  ) => Stream.Stream<typeof AttachItem.Type, URLError | StoreError>
  /** Does `holder` hold the lease on `identifier`? */
  readonly holds: (identifier: string, holder: number) => Effect.Effect<boolean>
  /** A suspended task; fails with `UnsupportedURL` for a URL not http or https, and with a
   * file error for an upload file that cannot be sent or resume data whose partial file is
   * gone. */
  readonly createTask: (
    identifier: string,
    options: CreateTaskOptions
  ) => Effect.Effect<typeof TaskSnapshot.Type, URLError | StoreError>
  /** Starts a download or upload in the daemon (a data task runs in `loadData`). */
  readonly resume: (
    identifier: string,
    taskIdentifier: number
  ) => Effect.Effect<typeof TaskSnapshot.Type, URLError | StoreError>
  /** Stops the transfer, keeping a download's partial file: `resume` goes on from it. */
  readonly suspend: (
    identifier: string,
    taskIdentifier: number
  ) => Effect.Effect<typeof TaskSnapshot.Type, URLError | StoreError>
  /** Completes the task with `Cancelled` (stored); with `byProducingResumeData`, a
   * download's resume data, which the error carries too. */
  readonly cancel: (
    identifier: string,
    taskIdentifier: number,
    byProducingResumeData: boolean
  ) => Effect.Effect<Option.Option<ResumeData>, URLError | StoreError>
  /** Runs a data task while the stream runs: its events, up to `DidCompleteWithError`.
   * Nothing of it is stored; ending the stream early cancels it. */
  readonly loadData: (identifier: string, taskIdentifier: number) => Stream.Stream<WireEvent, URLError | StoreError>
  /** The session's tasks, by `taskIdentifier`. */
  readonly allTasks: (identifier: string) => Effect.Effect<ReadonlyArray<typeof TaskSnapshot.Type>, StoreError>
  /** Deletes the task's stored events and finished file; a completed task is forgotten. */
  readonly acknowledge: (identifier: string, taskIdentifier: number) => Effect.Effect<void, StoreError>
  /** Gives the task the app's own words for it (`null`: none). */
  readonly setTaskDescription: (
    identifier: string,
    taskIdentifier: number,
    taskDescription: string | null
  ) => Effect.Effect<void, StoreError>
  /** Cancels every task not completed (`cancel`), or only those never resumed. */
  readonly invalidate: (identifier: string, cancel: boolean) => Effect.Effect<void, URLError | StoreError>
  /** Every session, whether an app holds its lease, and its tasks; the daemon's pid and
   * resident set size. */
  readonly status: Effect.Effect<{
    readonly pid: number
    readonly rss: number
    readonly sessions: ReadonlyArray<typeof SessionStatus.Type>
  }, StoreError>
  /** Asks the daemon to stop; its transfers go on at its next start. */
  readonly stop: Effect.Effect<void>
  /** Waits until the daemon should exit, and says why. */
  readonly exitRequested: Effect.Effect<ExitReason>
  /** How long the daemon idles before `exitRequested` says `"Idle"`. */
  readonly idleExitMillis: number
}

/**
 * @since 0.1.0
 * @category tags
 */
export const Engine: Context.Tag<Engine, Engine> = internal.tag

/**
 * The engine over the store, after recovery: the transfers that were running go on. Closing
 * the layer interrupts them without marking them failed.
 *
 * @since 0.1.0
 * @category layers
 */
export const layer: Layer.Layer<Engine, never, Store | StateDirectory> = internal.layer
