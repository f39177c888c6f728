/**
 * The wire between an app and `urlsessiond`: an `@effect/rpc` group, spoken over the
 * daemon's Unix socket as framed ndjson. Every call's payload, success and error is a
 * Schema, and `Attach` checks that both sides speak the same `version` before anything
 * else. This module imports no SQLite: the app side depends on it alone.
 *
 * @since 0.1.0
 */
import * as internal from "./internal/protocol.js"

/**
 * The protocol version this build speaks; raised whenever a call's schema changes in a way
 * the other side cannot decode.
 *
 * @since 0.1.0
 * @category constants
 */
export const version: number = internal.version

/**
 * The app and the daemon speak different protocol versions.
 *
 * @since 0.1.0
 * @category errors
 */
export const ProtocolVersionMismatch: typeof internal.ProtocolVersionMismatch = internal.ProtocolVersionMismatch

/**
 * @since 0.1.0
 * @category errors
 */
export type ProtocolVersionMismatch = internal.ProtocolVersionMismatch

/**
 * The daemon could not do what was asked for a reason of its own: `Database` (its state
 * database failed), `NotAttached` (the call names a session whose lease this connection
 * does not hold), `UnknownTask` (the session has no such task).
 *
 * @since 0.1.0
 * @category errors
 */
export const DaemonError: typeof internal.DaemonError = internal.DaemonError

/**
 * @since 0.1.0
 * @category errors
 */
export type DaemonError = internal.DaemonError

/**
 * A request as it crosses the wire: a body stream cannot, so background tasks send a file
 * (`CreateTask`'s `uploadFile`) instead.
 *
 * @since 0.1.0
 * @category models
 */
export const WireRequest: typeof internal.WireRequest = internal.WireRequest

/**
 * @since 0.1.0
 * @category models
 */
export type WireRequest = typeof internal.WireRequest.Type

/**
 * A response as it crosses the wire: an `HTTPURLResponse` or a plain `URLResponse`.
 *
 * @since 0.1.0
 * @category models
 */
export const WireResponse: typeof internal.WireResponse = internal.WireResponse

/**
 * @since 0.1.0
 * @category models
 */
export type WireResponse = typeof internal.WireResponse.Type

/**
 * A session's configuration as it crosses the wire; every field a later version adds is
 * optional, so a daemon reads what an older app sent.
 *
 * @since 0.1.0
 * @category models
 */
export const WireConfiguration: typeof internal.WireConfiguration = internal.WireConfiguration

/**
 * @since 0.1.0
 * @category models
 */
export type WireConfiguration = typeof internal.WireConfiguration.Type

/**
 * A background task's event as it crosses the wire: every `URLSessionEvent` but
 * `DidBecomeDownloadTask` and `DidFinishEventsForBackgroundURLSession` (the app makes that one).
 *
 * @since 0.1.0
 * @category models
 */
export const WireEvent: typeof internal.WireEvent = internal.WireEvent

/**
 * @since 0.1.0
 * @category models
 */
export type WireEvent = typeof internal.WireEvent.Type

/**
 * What a background task does: `data`, `download` or `upload`.
 *
 * @since 0.1.0
 * @category models
 */
export const TaskKind: typeof internal.TaskKind = internal.TaskKind

/**
 * @since 0.1.0
 * @category models
 */
export type TaskKind = typeof internal.TaskKind.Type

/**
 * Apple's `URLSessionTask.State`.
 *
 * @since 0.1.0
 * @category models
 */
export const TaskState: typeof internal.TaskState = internal.TaskState

/**
 * @since 0.1.0
 * @category models
 */
export type TaskState = typeof internal.TaskState.Type

/**
 * A task as the daemon knows it now.
 *
 * @since 0.1.0
 * @category models
 */
export const TaskSnapshot: typeof internal.TaskSnapshot = internal.TaskSnapshot

/**
 * @since 0.1.0
 * @category models
 */
export type TaskSnapshot = typeof internal.TaskSnapshot.Type

/**
 * A session and its tasks, as `Status` reports them, and whether an app is attached.
 *
 * @since 0.1.0
 * @category models
 */
export const SessionStatus: typeof internal.SessionStatus = internal.SessionStatus

/**
 * @since 0.1.0
 * @category models
 */
export type SessionStatus = typeof internal.SessionStatus.Type

/**
 * What `Attach` streams: `Attached` first (the tasks alive), then every `Stored` event the
 * app has not acknowledged, in sequence order, then `CaughtUp`, then `Stored` and `Live`
 * events as they happen. A `Stored` event stays in the daemon's log, and comes again at
 * every attach, until the app acknowledges its task; a `Live` one (progress, a download's
 * response, redirects) is never stored.
 *
 * @since 0.1.0
 * @category models
 */
export const AttachItem: typeof internal.AttachItem = internal.AttachItem

/**
 * @since 0.1.0
 * @category models
 */
export type AttachItem = typeof internal.AttachItem.Type

/**
 * Attaches to the session `identifier` (creating it if new) with `configuration`, and holds
 * its lease while the stream runs. Fails with `ProtocolVersionMismatch` unless
 * `protocolVersion` is the daemon's `version`, and with `URLError`
 * `BackgroundSessionInUseByAnotherProcess` while another connection holds the lease.
 *
 * @since 0.1.0
 * @category rpcs
 */
export const Attach: typeof internal.Attach = internal.Attach

/**
 * Creates a suspended task, idempotently on `requestId`: sent again after a lost
 * connection, it returns the task the first one made. Only http and https URLs
 * (`UnsupportedURL` otherwise); an upload sends `uploadFile`, an absolute path to a regular
 * file; a download may go on from `resumeData` this session produced.
 *
 * @since 0.1.0
 * @category rpcs
 */
export const CreateTask: typeof internal.CreateTask = internal.CreateTask

/**
 * Starts a download or upload in the daemon, or continues it after `Suspend`.
 *
 * @since 0.1.0
 * @category rpcs
 */
export const Resume: typeof internal.Resume = internal.Resume

/**
 * Stops a running download or upload, keeping a download's partial file: `Resume` goes on
 * from it.
 *
 * @since 0.1.0
 * @category rpcs
 */
export const Suspend: typeof internal.Suspend = internal.Suspend

/**
 * Cancels a task: it completes with `Cancelled`, a stored `DidCompleteWithError`. With
 * `byProducingResumeData`, a download's resume data, when it has some.
 *
 * @since 0.1.0
 * @category rpcs
 */
export const Cancel: typeof internal.Cancel = internal.Cancel

/**
 * Runs a data task while the stream runs: its events, ending with `DidCompleteWithError`.
 * Nothing of it is stored; the stream ending early (the connection lost) cancels it.
 *
 * @since 0.1.0
 * @category rpcs
 */
export const LoadData: typeof internal.LoadData = internal.LoadData

/**
 * The session's tasks.
 *
 * @since 0.1.0
 * @category rpcs
 */
export const AllTasks: typeof internal.AllTasks = internal.AllTasks

/**
 * The app has the task's stored events: they are removed from the log, with the finished
 * file they hand over, and a completed task is forgotten.
 *
 * @since 0.1.0
 * @category rpcs
 */
export const Acknowledge: typeof internal.Acknowledge = internal.Acknowledge

/**
 * Gives the task the app's own words for it (`null`: none), kept across the app's restarts.
 *
 * @since 0.1.0
 * @category rpcs
 */
export const SetTaskDescription: typeof internal.SetTaskDescription = internal.SetTaskDescription

/**
 * Cancels every task not completed (`cancel`), or only those never resumed.
 *
 * @since 0.1.0
 * @category rpcs
 */
export const Invalidate: typeof internal.Invalidate = internal.Invalidate

/**
 * Every session the daemon knows, with its tasks, and the daemon's process id. Needs no
 * attach.
 *
 * @since 0.1.0
 * @category rpcs
 */
export const Status: typeof internal.Status = internal.Status

/**
 * Stops the daemon once the reply is sent; its transfers are not failed and go on at its
 * next start. Needs no attach.
 *
 * @since 0.1.0
 * @category rpcs
 */
export const Stop: typeof internal.Stop = internal.Stop

/**
 * The group of every call the daemon serves.
 *
 * @example
 * ```ts
 * import { Protocol } from "@urlsession/daemon/Protocol"
 * import * as RpcClient from "@effect/rpc/RpcClient"
 *
 * const client = RpcClient.make(Protocol)
 * ```
 *
 * @since 0.1.0
 * @category rpcs
 */
export const Protocol: typeof internal.Protocol = internal.Protocol
