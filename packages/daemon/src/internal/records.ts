/**
 * The store's rows as Schema classes: each field's encoded side is its column's form
 * (JSON text, integer milliseconds), so a row decodes straight into a record.
 */
import * as Schema from "effect/Schema"

export const TaskKind = Schema.Literal("data", "download", "upload")

// Apple's URLSessionTask.State, as `@urlsession/core` has it.
export const TaskState = Schema.Literal("suspended", "running", "canceling", "completed")

const Json = Schema.parseJson()
const Count = Schema.Int
const Milliseconds = Schema.DateFromNumber

export class SessionRecord extends Schema.Class<SessionRecord>("@urlsession/daemon/Store/SessionRecord")({
  identifier: Schema.String,
  configuration: Json,
  nextTaskIdentifier: Count,
  lastSequence: Count,
  acknowledgedSequence: Count,
  createdAt: Milliseconds,
  updatedAt: Milliseconds
}) {}

export class TaskRecord extends Schema.Class<TaskRecord>("@urlsession/daemon/Store/TaskRecord")({
  session: Schema.String,
  taskIdentifier: Count,
  clientId: Schema.String,
  kind: TaskKind,
  originalRequest: Json,
  taskDescription: Schema.NullOr(Schema.String),
  state: TaskState,
  countOfBytesReceived: Count,
  countOfBytesExpectedToReceive: Count,
  countOfBytesSent: Count,
  countOfBytesExpectedToSend: Count,
  partialFile: Schema.NullOr(Schema.String),
  resumeOffset: Count,
  createdAt: Milliseconds,
  updatedAt: Milliseconds,
  resumeData: Schema.NullOr(Json),
  response: Schema.NullOr(Json),
  uploadFile: Schema.NullOr(Schema.String),
  finishedFile: Schema.NullOr(Schema.String),
  error: Schema.NullOr(Json),
  firstResumedAt: Schema.NullOr(Milliseconds),
  completedAt: Schema.NullOr(Milliseconds)
}) {}

export class EventRecord extends Schema.Class<EventRecord>("@urlsession/daemon/Store/EventRecord")({
  session: Schema.String,
  sequence: Count,
  taskIdentifier: Schema.NullOr(Count),
  event: Json,
  createdAt: Milliseconds
}) {}
