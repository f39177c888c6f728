import * as Reactivity from "@effect/experimental/Reactivity"
import * as SqliteClient from "@effect/sql-sqlite-node/SqliteClient"
import * as SqlClient from "@effect/sql/SqlClient"
import type { SqlError } from "@effect/sql/SqlError"
import * as Clock from "effect/Clock"
import * as Context from "effect/Context"
import * as Data from "effect/Data"
import * as Effect from "effect/Effect"
import * as Layer from "effect/Layer"
import * as Option from "effect/Option"
import type { ParseError } from "effect/ParseResult"
import * as Schema from "effect/Schema"
import * as String from "effect/String"
import * as path from "node:path"
import type { StateDirectory } from "../StateDirectory.js"
import type { NewEvent, NewTask, Store, TaskUpdate } from "../Store.js"
import * as migrations from "./migrations.js"
import { EventRecord, SessionRecord, TaskRecord } from "./records.js"
import * as stateDirectory from "./stateDirectory.js"

export const tag = Context.GenericTag<Store>("@urlsession/daemon/Store")

export class StoreError extends Data.TaggedError("StoreError")<{
  readonly reason: "UnknownSession" | "UnknownTask" | "Database"
  readonly message: string
  readonly cause?: unknown
}> {}

export const databaseFile = "state.sqlite"

const unknownSession = (identifier: string) =>
  new StoreError({ reason: "UnknownSession", message: `no session has the identifier ${JSON.stringify(identifier)}` })

const unknownTask = (session: string, taskIdentifier: number) =>
  new StoreError({
    reason: "UnknownTask",
    message: `the session ${JSON.stringify(session)} has no task ${taskIdentifier}`
  })

const database = (cause: SqlError | ParseError) =>
  new StoreError({ reason: "Database", message: `the state database failed: ${cause.message}`, cause })

// Values come in as Schema encodings; a value JSON cannot hold (a bigint, a cycle) fails
// the operation, and `undefined` is stored as null.
const encodeJson = Schema.encodeUnknown(Schema.parseJson())
const json = (value: unknown) => encodeJson(value ?? null)

// The update fields held as JSON text; null clears them.
const jsonColumns = new Set(["resumeData", "response", "error"])

const decodeSession = Schema.decodeUnknown(SessionRecord)
const decodeSessions = Schema.decodeUnknown(Schema.Array(SessionRecord))
const decodeTask = Schema.decodeUnknown(TaskRecord)
const decodeTasks = Schema.decodeUnknown(Schema.Array(TaskRecord))
const decodeEvent = Schema.decodeUnknown(EventRecord)
const decodeEvents = Schema.decodeUnknown(Schema.Array(EventRecord))

export const make = (sql: SqliteClient.SqliteClient): Store => {
  const run = <A>(effect: Effect.Effect<A, StoreError | SqlError | ParseError>): Effect.Effect<A, StoreError> =>
    Effect.catchIf(effect, (error): error is SqlError | ParseError => error._tag !== "StoreError", database)
  const transaction = <A>(effect: Effect.Effect<A, StoreError | SqlError | ParseError>) =>
    run(sql.withTransaction(effect))

  // The session's next sequence number, taken in the caller's transaction: the counter lives
  // on the session row, so numbers only grow, even past events that acknowledging deleted.
  const append = (session: string, taskIdentifier: number | null, event: unknown) =>
    Effect.gen(function*() {
      const now = yield* Clock.currentTimeMillis
      const encoded = yield* json(event)
      const [next] = yield* sql<{ sequence: number }>`UPDATE sessions
        SET last_sequence = last_sequence + 1, updated_at = ${now}
        WHERE identifier = ${session} RETURNING last_sequence AS sequence`
      if (next === undefined) return yield* unknownSession(session)
      const [row] = yield* sql`INSERT INTO events ${
        sql.insert({ session, sequence: next.sequence, taskIdentifier, event: encoded, createdAt: now })
      } RETURNING *`
      return yield* decodeEvent(row)
    })

  return {
    attachSession: (identifier, configuration) =>
      Effect.gen(function*() {
        const now = yield* Clock.currentTimeMillis
        const encoded = yield* json(configuration)
        const [row] = yield* sql`INSERT INTO sessions ${
          sql.insert({ identifier, configuration: encoded, createdAt: now, updatedAt: now })
        } ON CONFLICT (identifier) DO UPDATE
          SET configuration = excluded.configuration, updated_at = excluded.updated_at
          RETURNING *`
        return yield* decodeSession(row)
      }).pipe(run),

    session: (identifier) =>
      sql`SELECT * FROM sessions WHERE identifier = ${identifier}`.pipe(
        Effect.flatMap(([row]) => row === undefined ? Effect.succeedNone : Effect.asSome(decodeSession(row))),
        run
      ),

    sessions: sql`SELECT * FROM sessions ORDER BY identifier`.pipe(Effect.flatMap(decodeSessions), run),

    createTask: (task: NewTask) =>
      Effect.gen(function*() {
        const [existing] = yield* sql`SELECT * FROM tasks
          WHERE session = ${task.session} AND client_id = ${task.clientId}`
        if (existing !== undefined) return yield* decodeTask(existing)
        const now = yield* Clock.currentTimeMillis
        const originalRequest = yield* json(task.originalRequest)
        const [allocated] = yield* sql<{ taskIdentifier: number }>`UPDATE sessions
          SET next_task_identifier = next_task_identifier + 1, updated_at = ${now}
          WHERE identifier = ${task.session}
          RETURNING next_task_identifier - 1 AS task_identifier`
        if (allocated === undefined) return yield* unknownSession(task.session)
        const [row] = yield* sql`INSERT INTO tasks ${
          sql.insert({
            session: task.session,
            taskIdentifier: allocated.taskIdentifier,
            clientId: task.clientId,
            kind: task.kind,
            originalRequest,
            taskDescription: task.taskDescription ?? null,
            state: "suspended",
            countOfBytesExpectedToSend: task.countOfBytesExpectedToSend ?? -1,
            uploadFile: task.uploadFile ?? null,
            createdAt: now,
            updatedAt: now
          })
        } RETURNING *`
        return yield* decodeTask(row)
      }).pipe(transaction),

    updateTask: (session, taskIdentifier, update: TaskUpdate, events = []) =>
      Effect.gen(function*() {
        const now = yield* Clock.currentTimeMillis
        const changes: Record<string, unknown> = { updatedAt: now }
        for (const [column, value] of Object.entries(update)) {
          if (value === undefined) continue
          changes[column] = jsonColumns.has(column) && value !== null ? yield* json(value) : value
        }
        const [row] = yield* sql`UPDATE tasks SET ${sql.update(changes)}
          WHERE session = ${session} AND task_identifier = ${taskIdentifier} RETURNING *`
        if (row === undefined) return yield* unknownTask(session, taskIdentifier)
        const task = yield* decodeTask(row)
        const appended = yield* Effect.forEach(events, (event) => append(session, taskIdentifier, event))
        return { task, events: appended }
      }).pipe(transaction),

    appendEvent: (session, event: NewEvent) => transaction(append(session, event.taskIdentifier ?? null, event.event)),

    eventsAfter: (session, sequence) =>
      sql`SELECT * FROM events WHERE session = ${session} AND sequence > ${sequence} ORDER BY sequence`.pipe(
        Effect.flatMap(decodeEvents),
        run
      ),

    tasks: (session) =>
      sql`SELECT * FROM tasks WHERE session = ${session} ORDER BY task_identifier`.pipe(
        Effect.flatMap(decodeTasks),
        run
      ),

    task: (session, taskIdentifier) =>
      sql`SELECT * FROM tasks WHERE session = ${session} AND task_identifier = ${taskIdentifier}`.pipe(
        Effect.flatMap(([row]) => row === undefined ? Effect.succeedNone : Effect.asSome(decodeTask(row))),
        run
      ),

    acknowledgeTask: (session, taskIdentifier) =>
      Effect.gen(function*() {
        yield* sql`DELETE FROM events WHERE session = ${session} AND task_identifier = ${taskIdentifier}`
        const [row] = yield* sql`SELECT * FROM tasks WHERE session = ${session} AND task_identifier = ${taskIdentifier}`
        if (row === undefined) return Option.none()
        const task = yield* decodeTask(row)
        // A failed or cancelled download's row stays until it expires: the resume data the
        // app holds names its partial file, which the row keeps from being removed.
        if (task.state === "completed" && task.partialFile === null) {
          yield* sql`DELETE FROM tasks WHERE session = ${session} AND task_identifier = ${taskIdentifier}`
        }
        return Option.some(task)
      }).pipe(transaction),

    deleteTask: (session, taskIdentifier) =>
      Effect.all([
        sql`DELETE FROM events WHERE session = ${session} AND task_identifier = ${taskIdentifier}`,
        sql`DELETE FROM tasks WHERE session = ${session} AND task_identifier = ${taskIdentifier}`
      ], { discard: true }).pipe(transaction),

    expire: (before) =>
      Effect.gen(function*() {
        const expired = yield* decodeTasks(
          yield* sql`DELETE FROM tasks WHERE state = 'completed' AND completed_at < ${before} RETURNING *`
        )
        yield* Effect.forEach(expired, (task) =>
          sql`DELETE FROM events WHERE session = ${task.session} AND task_identifier = ${task.taskIdentifier}`, {
          discard: true
        })
        return expired
      }).pipe(transaction)
  }
}

export const layer: Layer.Layer<Store, StoreError, StateDirectory> = Layer.scoped(
  tag,
  Effect.gen(function*() {
    const directory = yield* stateDirectory.tag
    const sql = yield* SqliteClient.make({
      filename: path.join(directory.path, databaseFile),
      transformQueryNames: String.camelToSnake,
      transformResultNames: String.snakeToCamel
    })
    // FULL: a commit survives power loss, not only a crash of the daemon; state changes are
    // few (progress is recorded every few megabytes), so the extra sync costs little.
    yield* sql`PRAGMA synchronous = FULL`
    yield* sql`PRAGMA foreign_keys = ON`
    yield* Effect.provideService(migrations.run, SqlClient.SqlClient, sql)
    return make(sql)
  }).pipe(
    Effect.mapError((cause) =>
      new StoreError({
        reason: "Database",
        message: `the state database could not be opened: ${cause.message}`,
        cause
      })
    )
  )
).pipe(Layer.provide(Reactivity.layer))
