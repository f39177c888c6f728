import * as Rpc from "@effect/rpc/Rpc"
import * as RpcGroup from "@effect/rpc/RpcGroup"
import { ResumeData } from "@urlsession/core/ResumeData"
import { URLError } from "@urlsession/core/URLError"
import { HTTPURLResponse, URLResponse } from "@urlsession/core/URLResponse"
import * as Schema from "effect/Schema"

// Raised whenever a schema below changes in a way the other side cannot decode.
export const version = 2

export class ProtocolVersionMismatch extends Schema.TaggedError<ProtocolVersionMismatch>(
  "@urlsession/daemon/Protocol/ProtocolVersionMismatch"
)("ProtocolVersionMismatch", {
  daemonVersion: Schema.Int,
  clientVersion: Schema.Int,
  message: Schema.String
}) {}

export class DaemonError extends Schema.TaggedError<DaemonError>("@urlsession/daemon/Protocol/DaemonError")(
  "DaemonError",
  {
    // `Database`: the state database failed. `NotAttached`: the call names a session this
    // connection does not hold. `UnknownTask`: the session has no such task.
    reason: Schema.Literal("Database", "NotAttached", "UnknownTask"),
    message: Schema.String
  }
) {}

/** A request as it crosses the wire: a body stream cannot, so background tasks have none. */
export const WireRequest = Schema.Struct({
  url: Schema.String,
  method: Schema.String,
  headers: Schema.Record({ key: Schema.String, value: Schema.String }),
  body: Schema.optional(Schema.Uint8ArrayFromBase64),
  timeoutIntervalMillis: Schema.optional(Schema.Number)
})

export const WireResponse = Schema.Union(HTTPURLResponse, URLResponse)

/**
 * A session's configuration as it crosses the wire. Every field a later version adds is
 * optional, so a daemon reads what an older app sent.
 */
export const WireConfiguration = Schema.Struct({
  timeoutIntervalForRequestMillis: Schema.Number,
  timeoutIntervalForResourceMillis: Schema.Number,
  httpMaximumConnectionsPerHost: Schema.Int,
  httpAdditionalHeaders: Schema.Record({ key: Schema.String, value: Schema.String }),
  trustedCertificates: Schema.Array(Schema.String),
  allowsInsecureRedirects: Schema.Boolean,
  maximumDecodedContentLength: Schema.Number
})

const TaskIdentifier = Schema.Int

/** The events of background tasks: every `URLSessionEvent` but `DidBecomeDownloadTask`
 * (a background data task cannot become a download). */
export const WireEvent = Schema.Union(
  Schema.TaggedStruct("DidReceiveResponse", { taskIdentifier: TaskIdentifier, response: WireResponse }),
  Schema.TaggedStruct("WillPerformHTTPRedirection", {
    taskIdentifier: TaskIdentifier,
    response: HTTPURLResponse,
    newRequest: WireRequest
  }),
  Schema.TaggedStruct("DidSendBodyData", {
    taskIdentifier: TaskIdentifier,
    bytesSent: Schema.Number,
    totalBytesSent: Schema.Number,
    totalBytesExpectedToSend: Schema.Number
  }),
  Schema.TaggedStruct("DidReceiveData", { taskIdentifier: TaskIdentifier, data: Schema.Uint8ArrayFromBase64 }),
  Schema.TaggedStruct("DidWriteData", {
    taskIdentifier: TaskIdentifier,
    bytesWritten: Schema.Number,
    totalBytesWritten: Schema.Number,
    totalBytesExpectedToWrite: Schema.Number
  }),
  Schema.TaggedStruct("DidResumeAtOffset", {
    taskIdentifier: TaskIdentifier,
    fileOffset: Schema.Number,
    expectedTotalBytes: Schema.Number
  }),
  Schema.TaggedStruct("DidFinishDownloadingTo", { taskIdentifier: TaskIdentifier, location: Schema.String }),
  Schema.TaggedStruct("DidCompleteWithError", {
    taskIdentifier: TaskIdentifier,
    error: Schema.OptionFromNullOr(URLError)
  }),
  Schema.TaggedStruct("DidBecomeInvalidWithError", { error: Schema.OptionFromNullOr(URLError) })
)

export const TaskKind = Schema.Literal("data", "download", "upload")

export const TaskState = Schema.Literal("suspended", "running", "canceling", "completed")

/** A task as the daemon knows it now. */
export const TaskSnapshot = Schema.Struct({
  taskIdentifier: TaskIdentifier,
  kind: TaskKind,
  state: TaskState,
  taskDescription: Schema.NullOr(Schema.String),
  originalRequest: WireRequest,
  currentRequest: WireRequest,
  response: Schema.OptionFromNullOr(WireResponse),
  countOfBytesReceived: Schema.Number,
  countOfBytesExpectedToReceive: Schema.Number,
  countOfBytesSent: Schema.Number,
  countOfBytesExpectedToSend: Schema.Number
})

export const SessionStatus = Schema.Struct({
  identifier: Schema.String,
  attached: Schema.Boolean,
  configuration: Schema.Unknown,
  tasks: Schema.Array(TaskSnapshot)
})

/**
 * What an attach streams: `Attached` first (the tasks alive), then every `Stored` event the
 * app has not acknowledged, in order, then `CaughtUp`, then `Stored` and `Live` events as
 * they happen. `Stored` events are in the daemon's log until the app acknowledges their
 * task; `Live` ones (progress, responses, redirects) are never stored.
 */
export const AttachItem = Schema.Union(
  Schema.TaggedStruct("Attached", { tasks: Schema.Array(TaskSnapshot) }),
  Schema.TaggedStruct("Stored", { sequence: Schema.Int, event: WireEvent }),
  Schema.TaggedStruct("CaughtUp", {}),
  Schema.TaggedStruct("Live", { event: WireEvent })
)

const SessionCall = { identifier: Schema.String }

const TaskCall = { identifier: Schema.String, taskIdentifier: TaskIdentifier }

const Failure = Schema.Union(URLError, DaemonError)

// The lease on `identifier` is this stream: it is held while the stream runs and released
// when it ends (the app detached, closed its connection, or died: the kernel closes a dead
// process's socket). A second attach to a held identifier fails with a `URLError`
// `BackgroundSessionInUseByAnotherProcess`.
export const Attach = Rpc.make("Attach", {
  payload: {
    identifier: Schema.String,
    protocolVersion: Schema.Int,
    configuration: WireConfiguration
  },
  success: AttachItem,
  error: Schema.Union(ProtocolVersionMismatch, URLError, DaemonError),
  stream: true
})

// Idempotent on `requestId`: sent again after a lost connection, it returns the task the
// first one made. `uploadFile` for uploads, `resumeData` for downloads that go on.
export const CreateTask = Rpc.make("CreateTask", {
  payload: {
    ...SessionCall,
    requestId: Schema.String,
    kind: TaskKind,
    request: WireRequest,
    uploadFile: Schema.optional(Schema.String),
    resumeData: Schema.optional(ResumeData),
    taskDescription: Schema.optional(Schema.String)
  },
  success: TaskSnapshot,
  error: Failure
})

export const Resume = Rpc.make("Resume", { payload: TaskCall, success: TaskSnapshot, error: Failure })

export const Suspend = Rpc.make("Suspend", { payload: TaskCall, success: TaskSnapshot, error: Failure })

export const Cancel = Rpc.make("Cancel", {
  payload: { ...TaskCall, byProducingResumeData: Schema.Boolean },
  success: Schema.OptionFromNullOr(ResumeData),
  error: Failure
})

// A data task runs while this stream does: in the daemon, for as long as the app that asked
// is connected. Its events, ending with `DidCompleteWithError`.
export const LoadData = Rpc.make("LoadData", {
  payload: TaskCall,
  success: WireEvent,
  error: Failure,
  stream: true
})

export const AllTasks = Rpc.make("AllTasks", {
  payload: SessionCall,
  success: Schema.Array(TaskSnapshot),
  error: Failure
})

// Every stored event of the task is acknowledged: removed from the log, with the finished
// file it hands over. A completed task is forgotten.
export const Acknowledge = Rpc.make("Acknowledge", { payload: TaskCall, error: Failure })

// The app's own words for the task, kept with it (`null`: none).
export const SetTaskDescription = Rpc.make("SetTaskDescription", {
  payload: { ...TaskCall, taskDescription: Schema.NullOr(Schema.String) },
  error: Failure
})

export const Invalidate = Rpc.make("Invalidate", {
  payload: { ...SessionCall, cancel: Schema.Boolean },
  error: Failure
})

export const Status = Rpc.make("Status", {
  // `rss`: the daemon's resident set size now, in bytes.
  success: Schema.Struct({ pid: Schema.Int, rss: Schema.Number, sessions: Schema.Array(SessionStatus) }),
  error: DaemonError
})

// Stops the daemon once the reply is sent; its tasks go on at its next start.
export const Stop = Rpc.make("Stop", {})

export const Protocol = RpcGroup.make(
  Attach,
  CreateTask,
  Resume,
  Suspend,
  Cancel,
  LoadData,
  AllTasks,
  Acknowledge,
  SetTaskDescription,
  Invalidate,
  Status,
  Stop
)
