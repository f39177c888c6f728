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
 * The daemon could not do what was asked for a reason of its own (`Database`: its state
 * database failed).
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
 * A task as `Status` reports it.
 *
 * @since 0.1.0
 * @category models
 */
export const TaskStatus: typeof internal.TaskStatus = internal.TaskStatus

/**
 * @since 0.1.0
 * @category models
 */
export type TaskStatus = typeof internal.TaskStatus.Type

/**
 * A session and its tasks, as `Status` reports them.
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
 * Attaches to the session `identifier` (creating it if new) with `configuration`, a Schema
 * encoding that can grow; fails with `ProtocolVersionMismatch` unless `protocolVersion` is
 * the daemon's `version`.
 *
 * @since 0.1.0
 * @category rpcs
 */
export const Attach: typeof internal.Attach = internal.Attach

/**
 * Every session the daemon knows, with its tasks.
 *
 * @since 0.1.0
 * @category rpcs
 */
export const Status: typeof internal.Status = internal.Status

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
