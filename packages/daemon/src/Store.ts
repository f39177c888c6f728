/**
 * The daemon's durable state: sessions and their configuration, tasks, and each session's
 * event log (the outbox the app acknowledges), in one SQLite database in the state
 * directory that only the daemon opens. Every operation is one transaction: a task's
 * change and the events that report it are written together or not at all.
 *
 * @since 0.1.0
 */
import type * as Context from "effect/Context"
import type * as Effect from "effect/Effect"
import type * as Layer from "effect/Layer"
import type * as Option from "effect/Option"
import * as records from "./internal/records.js"
import * as internal from "./internal/store.js"
import type { StateDirectory } from "./StateDirectory.js"

/**
 * A session the daemon knows: its identifier, the configuration of its latest attach (a
 * Schema encoding, kept as JSON so that it can grow), its counters and its acknowledged
 * marker (every event up to it is gone from the log).
 *
 * @since 0.1.0
 * @category models
 */
export const SessionRecord: typeof records.SessionRecord = records.SessionRecord

/**
 * @since 0.1.0
 * @category models
 */
export type SessionRecord = records.SessionRecord

/**
 * A task: its per-session `taskIdentifier` (allocated by the store, stable forever), the
 * client's id that made creating it idempotent, its kind, original request (a Schema
 * encoding), state, byte counts (-1 for unknown, as Apple's
 * `NSURLSessionTransferSizeUnknown`), partial file and the offset up to which that file is
 * durable, the resume data of its last checkpoint, its response, the file an upload sends,
 * the finished file it hands over, its failure, when it was first resumed and completed.
 *
 * @since 0.1.0
 * @category models
 */
export const TaskRecord: typeof records.TaskRecord = records.TaskRecord

/**
 * @since 0.1.0
 * @category models
 */
export type TaskRecord = records.TaskRecord

/**
 * An event in a session's log, numbered by a sequence that only grows.
 *
 * @since 0.1.0
 * @category models
 */
export const EventRecord: typeof records.EventRecord = records.EventRecord

/**
 * @since 0.1.0
 * @category models
 */
export type EventRecord = records.EventRecord

/**
 * @since 0.1.0
 * @category models
 */
export type TaskKind = typeof records.TaskKind.Type

/**
 * Apple's `URLSessionTask.State`.
 *
 * @since 0.1.0
 * @category models
 */
export type TaskState = typeof records.TaskState.Type

/**
 * What creating a task takes. `clientId` is the app's own id for the request: creating
 * again with it returns the task made the first time (a retry after a lost connection
 * makes no duplicate).
 *
 * @since 0.1.0
 * @category models
 */
export interface NewTask {
  readonly session: string
  readonly clientId: string
  readonly kind: TaskKind
  readonly originalRequest: unknown
  readonly taskDescription?: string | undefined
  readonly countOfBytesExpectedToSend?: number | undefined
  readonly uploadFile?: string | undefined
}

/**
 * The fields of a task that change as it runs; those left out keep their value.
 *
 * @since 0.1.0
 * @category models
 */
export interface TaskUpdate {
  readonly state?: TaskState | undefined
  readonly taskDescription?: string | null | undefined
  readonly countOfBytesReceived?: number | undefined
  readonly countOfBytesExpectedToReceive?: number | undefined
  readonly countOfBytesSent?: number | undefined
  readonly countOfBytesExpectedToSend?: number | undefined
  readonly partialFile?: string | null | undefined
  readonly resumeOffset?: number | undefined
  /** A Schema encoding of `ResumeData`. */
  readonly resumeData?: unknown
  /** A Schema encoding of the response. */
  readonly response?: unknown
  readonly finishedFile?: string | null | undefined
  /** A Schema encoding of the `URLError` the task failed with. */
  readonly error?: unknown
  /** Epoch milliseconds. */
  readonly firstResumedAt?: number | null | undefined
  /** Epoch milliseconds. */
  readonly completedAt?: number | null | undefined
}

/**
 * An event to append: its Schema encoding, and the task it is about, if any.
 *
 * @since 0.1.0
 * @category models
 */
export interface NewEvent {
  readonly taskIdentifier?: number | undefined
  readonly event: unknown
}

/**
 * Why the store refused or failed: `UnknownSession`, `UnknownTask`, or `Database` (the
 * SQLite error, or a row that no longer decodes, is the `cause`).
 *
 * @since 0.1.0
 * @category errors
 */
export type StoreError = internal.StoreError

/**
 * @since 0.1.0
 * @category errors
 */
export const StoreError: typeof internal.StoreError = internal.StoreError

/**
 * @since 0.1.0
 * @category models
 */
export interface Store {
  /** Creates the session, or gives an existing one the configuration of this attach. */
  readonly attachSession: (identifier: string, configuration: unknown) => Effect.Effect<SessionRecord, StoreError>
  readonly session: (identifier: string) => Effect.Effect<Option.Option<SessionRecord>, StoreError>
  /** Every session the daemon knows, by identifier. */
  readonly sessions: Effect.Effect<ReadonlyArray<SessionRecord>, StoreError>
  /** Creates a suspended task, or returns the one created before with the same `clientId`. */
  readonly createTask: (task: NewTask) => Effect.Effect<TaskRecord, StoreError>
  /** Changes a task and appends the events that report the change, in one transaction. */
  readonly updateTask: (
    session: string,
    taskIdentifier: number,
    update: TaskUpdate,
    events?: ReadonlyArray<unknown>
  ) => Effect.Effect<{ readonly task: TaskRecord; readonly events: ReadonlyArray<EventRecord> }, StoreError>
  readonly appendEvent: (session: string, event: NewEvent) => Effect.Effect<EventRecord, StoreError>
  /** The events still in the log whose sequence is greater than `sequence`, in order. */
  readonly eventsAfter: (session: string, sequence: number) => Effect.Effect<ReadonlyArray<EventRecord>, StoreError>
  /** The session's tasks, by `taskIdentifier`. */
  readonly tasks: (session: string) => Effect.Effect<ReadonlyArray<TaskRecord>, StoreError>
  readonly task: (session: string, taskIdentifier: number) => Effect.Effect<Option.Option<TaskRecord>, StoreError>
  /** Deletes the task's events and, once it has completed, the task: the app has them. The
   * task as it was, if there is one. */
  readonly acknowledgeTask: (
    session: string,
    taskIdentifier: number
  ) => Effect.Effect<Option.Option<TaskRecord>, StoreError>
  /** Deletes the task and its events. */
  readonly deleteTask: (session: string, taskIdentifier: number) => Effect.Effect<void, StoreError>
  /** Deletes every task of every session that completed before `before` (epoch
   * milliseconds), with its events: nobody acknowledged it in time. The tasks deleted. */
  readonly expire: (before: number) => Effect.Effect<ReadonlyArray<TaskRecord>, StoreError>
}

/**
 * @since 0.1.0
 * @category tags
 */
export const Store: Context.Tag<Store, Store> = internal.tag

/**
 * The store in `state.sqlite` in the state directory, migrated to the current schema when
 * the layer is built and closed with it. Only the daemon holding the instance lock may
 * build it.
 *
 * @since 0.1.0
 * @category layers
 */
export const layer: Layer.Layer<Store, StoreError, StateDirectory> = internal.layer

/**
 * The name of the database file in the state directory.
 *
 * @since 0.1.0
 * @category constants
 */
export const databaseFile: string = internal.databaseFile
