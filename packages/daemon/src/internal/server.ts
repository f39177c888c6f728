import * as RpcSerialization from "@effect/rpc/RpcSerialization"
import * as RpcServer from "@effect/rpc/RpcServer"
import * as Effect from "effect/Effect"
import * as Layer from "effect/Layer"
import type { StateDirectory } from "../StateDirectory.js"
import type { Store } from "../Store.js"
import * as store from "./store.js"
import type { StoreError } from "./store.js"
import * as daemonSocket from "./daemonSocket.js"
import { DaemonError, Protocol, ProtocolVersionMismatch, version } from "./protocol.js"

// A store failure crosses the wire as its message alone: the SQLite error stays in the
// daemon, where its log can show it.
const daemonError = (error: StoreError) => new DaemonError({ reason: "Database", message: error.message })

const handlers = Protocol.toLayer(Effect.gen(function*() {
  const sessions = yield* store.tag
  return {
    Attach: ({ configuration, identifier, protocolVersion }) =>
      protocolVersion !== version
        ? Effect.fail(
          new ProtocolVersionMismatch({
            daemonVersion: version,
            clientVersion: protocolVersion,
            message: `urlsessiond speaks protocol ${version}, the app ${protocolVersion}: ` +
              `install matching versions of @urlsession/node and @urlsession/daemon`
          })
        )
        : sessions.attachSession(identifier, configuration).pipe(
          Effect.map((session) => ({ sessionIdentifier: session.identifier, protocolVersion: version })),
          Effect.mapError(daemonError)
        ),
    Status: () =>
      Effect.gen(function*() {
        const known = yield* sessions.sessions
        return {
          sessions: yield* Effect.forEach(known, (session) =>
            Effect.map(sessions.tasks(session.identifier), (tasks) => ({
              identifier: session.identifier,
              configuration: session.configuration,
              tasks: tasks.map((task) => ({
                taskIdentifier: task.taskIdentifier,
                kind: task.kind,
                state: task.state,
                taskDescription: task.taskDescription,
                originalRequest: task.originalRequest,
                countOfBytesReceived: task.countOfBytesReceived,
                countOfBytesExpectedToReceive: task.countOfBytesExpectedToReceive,
                countOfBytesSent: task.countOfBytesSent,
                countOfBytesExpectedToSend: task.countOfBytesExpectedToSend
              }))
            })))
        }
      }).pipe(Effect.mapError(daemonError))
  }
}))

export const layer: Layer.Layer<never, daemonSocket.DaemonSocketError, Store | StateDirectory> = RpcServer.layer(
  Protocol
).pipe(
  Layer.provide(handlers),
  Layer.provide(RpcServer.layerProtocolSocketServer),
  Layer.provide(RpcSerialization.layerNdjson),
  Layer.provide(daemonSocket.layerServer)
)
