import * as Rpc from "@effect/rpc/Rpc"
import * as RpcGroup from "@effect/rpc/RpcGroup"
import * as Schema from "effect/Schema"

// Raised whenever a schema below changes in a way the other side cannot decode.
export const version = 1

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
    reason: Schema.Literal("Database"),
    message: Schema.String
  }
) {}

export const TaskStatus = Schema.Struct({
  taskIdentifier: Schema.Int,
  kind: Schema.Literal("data", "download", "upload"),
  state: Schema.Literal("suspended", "running", "canceling", "completed"),
  taskDescription: Schema.NullOr(Schema.String),
  originalRequest: Schema.Unknown,
  countOfBytesReceived: Schema.Int,
  countOfBytesExpectedToReceive: Schema.Int,
  countOfBytesSent: Schema.Int,
  countOfBytesExpectedToSend: Schema.Int
})

export const SessionStatus = Schema.Struct({
  identifier: Schema.String,
  configuration: Schema.Unknown,
  tasks: Schema.Array(TaskStatus)
})

export const Attach = Rpc.make("Attach", {
  payload: {
    identifier: Schema.String,
    protocolVersion: Schema.Int,
    configuration: Schema.Unknown
  },
  success: Schema.Struct({
    sessionIdentifier: Schema.String,
    protocolVersion: Schema.Int
  }),
  error: Schema.Union(ProtocolVersionMismatch, DaemonError)
})

export const Status = Rpc.make("Status", {
  success: Schema.Struct({ sessions: Schema.Array(SessionStatus) }),
  error: DaemonError
})

export const Protocol = RpcGroup.make(Attach, Status)
