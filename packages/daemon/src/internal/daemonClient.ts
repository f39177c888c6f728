/**
 * An RPC client of the daemon over its Unix socket, speaking ndjson.
 */
import * as NodeSocket from "@effect/platform-node/NodeSocket"
import * as RpcClient from "@effect/rpc/RpcClient"
import type { RpcClientError } from "@effect/rpc/RpcClientError"
import type * as RpcGroup from "@effect/rpc/RpcGroup"
import * as RpcSerialization from "@effect/rpc/RpcSerialization"
import * as Effect from "effect/Effect"
import * as Layer from "effect/Layer"
import type * as Scope from "effect/Scope"
import { Protocol } from "./protocol.js"

export type DaemonClient = RpcClient.RpcClient<RpcGroup.Rpcs<typeof Protocol>, RpcClientError>

/** A client of the daemon listening at `socket`; its connection closes with the scope. */
export const connect = (socket: string): Effect.Effect<DaemonClient, never, Scope.Scope> =>
  // Built in the caller's scope: providing the layer would close the connection as soon as
  // the client is made.
  Layer.build(
    RpcClient.layerProtocolSocket().pipe(
      Layer.provide(NodeSocket.layerNet({ path: socket })),
      Layer.provide(RpcSerialization.layerNdjson)
    )
  ).pipe(
    Effect.orDie,
    Effect.flatMap((protocol) => Effect.provide(RpcClient.make(Protocol), protocol))
  )
