import * as RpcSerialization from "@effect/rpc/RpcSerialization"
import * as RpcServer from "@effect/rpc/RpcServer"
import type { URLError } from "@urlsession/core/URLError"
import * as Duration from "effect/Duration"
import * as Effect from "effect/Effect"
import * as Layer from "effect/Layer"
import * as Stream from "effect/Stream"
import type { Engine } from "../Engine.js"
import type { StateDirectory } from "../StateDirectory.js"
import * as daemonSocket from "./daemonSocket.js"
import * as engine from "./engine.js"
import { DaemonError, Protocol, ProtocolVersionMismatch, version } from "./protocol.js"
import type { StoreError } from "./store.js"

// A store failure crosses the wire as its message alone: the SQLite error stays in the
// daemon, where its log can show it.
const daemonError = (error: StoreError) =>
  new DaemonError({ reason: error.reason === "UnknownTask" ? "UnknownTask" : "Database", message: error.message })

const toWire = (error: URLError | StoreError | DaemonError): URLError | DaemonError =>
  error._tag === "StoreError" ? daemonError(error) : error

// Long enough for the reply to `Stop` to be written before the server closes.
const stopDelay = Duration.millis(100)

const handlers = Protocol.toLayer(Effect.gen(function*() {
  const transfers = yield* engine.tag

  /** `effect`, if the calling connection holds the lease on `identifier`. */
  const leased = <A, E, R>(
    identifier: string,
    clientId: number,
    effect: Effect.Effect<A, E, R>
  ): Effect.Effect<A, E | DaemonError, R> =>
    Effect.flatMap(transfers.holds(identifier, clientId), (held): Effect.Effect<A, E | DaemonError, R> =>
      held
        ? effect
        : Effect.fail(
          new DaemonError({
            reason: "NotAttached",
            message: `this connection is not attached to the background session ${JSON.stringify(identifier)}`
          })
        ))

  return {
    Attach: ({ configuration, identifier, protocolVersion }, { clientId }) =>
      protocolVersion !== version
        ? Stream.fail(
          new ProtocolVersionMismatch({
            daemonVersion: version,
            clientVersion: protocolVersion,
            message: `urlsessiond speaks protocol ${version}, the app ${protocolVersion}: ` +
              `install matching versions of @urlsession/node and @urlsession/daemon`
          })
        )
        : Stream.mapError(transfers.attach(identifier, configuration, clientId), toWire),
    CreateTask: ({ identifier, ...options }, { clientId }) =>
      Effect.mapError(leased(identifier, clientId, transfers.createTask(identifier, options)), toWire),
    Resume: ({ identifier, taskIdentifier }, { clientId }) =>
      Effect.mapError(leased(identifier, clientId, transfers.resume(identifier, taskIdentifier)), toWire),
    Suspend: ({ identifier, taskIdentifier }, { clientId }) =>
      Effect.mapError(leased(identifier, clientId, transfers.suspend(identifier, taskIdentifier)), toWire),
    Cancel: ({ byProducingResumeData, identifier, taskIdentifier }, { clientId }) =>
      Effect.mapError(
        leased(identifier, clientId, transfers.cancel(identifier, taskIdentifier, byProducingResumeData)),
        toWire
      ),
    LoadData: ({ identifier, taskIdentifier }, { clientId }) =>
      Stream.mapError(
        Stream.unwrap(leased(identifier, clientId, Effect.succeed(transfers.loadData(identifier, taskIdentifier)))),
        toWire
      ),
    AllTasks: ({ identifier }, { clientId }) =>
      Effect.mapError(leased(identifier, clientId, transfers.allTasks(identifier)), toWire),
    Acknowledge: ({ identifier, taskIdentifier }, { clientId }) =>
      Effect.mapError(leased(identifier, clientId, transfers.acknowledge(identifier, taskIdentifier)), toWire),
    SetTaskDescription: ({ identifier, taskDescription, taskIdentifier }, { clientId }) =>
      Effect.mapError(
        leased(identifier, clientId, transfers.setTaskDescription(identifier, taskIdentifier, taskDescription)),
        toWire
      ),
    Invalidate: ({ cancel, identifier }, { clientId }) =>
      Effect.mapError(leased(identifier, clientId, transfers.invalidate(identifier, cancel)), toWire),
    Status: () => Effect.mapError(transfers.status, daemonError),
    Stop: () => Effect.asVoid(Effect.forkDaemon(Effect.zipRight(Effect.sleep(stopDelay), transfers.stop)))
  }
}))

export const layer: Layer.Layer<never, daemonSocket.DaemonSocketError, Engine | StateDirectory> = RpcServer.layer(
  Protocol
).pipe(
  Layer.provide(handlers),
  Layer.provide(RpcServer.layerProtocolSocketServer),
  Layer.provide(RpcSerialization.layerNdjson),
  Layer.provide(daemonSocket.layerServer)
)
