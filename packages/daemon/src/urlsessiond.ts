/**
 * The `urlsessiond` program. Without arguments: takes the state directory's lock, opens the
 * store, goes on with the transfers a crash or a stop interrupted, listens on its socket,
 * says it is ready, and serves the protocol until `Stop`, a signal, or idleness ends it. A
 * second daemon for the same state directory says so and exits with status 0: the one
 * already running is what its starter wanted.
 *
 * `urlsessiond status` prints the running daemon's sessions and tasks; `urlsessiond stop`
 * stops it (its transfers go on at its next start). Both say "urlsessiond is not running"
 * and exit with status 1 when nothing answers on the socket.
 *
 * @since 0.1.0
 */
import * as NodeRuntime from "@effect/platform-node/NodeRuntime"
import * as NodeSocket from "@effect/platform-node/NodeSocket"
import * as RpcClient from "@effect/rpc/RpcClient"
import * as RpcSerialization from "@effect/rpc/RpcSerialization"
import * as Console from "effect/Console"
import * as Effect from "effect/Effect"
import * as Layer from "effect/Layer"
import * as DaemonSocket from "./DaemonSocket.js"
import * as Engine from "./Engine.js"
import * as InstanceLock from "./InstanceLock.js"
import { answers } from "./internal/launcher.js"
import * as Protocol from "./Protocol.js"
import * as Server from "./Server.js"
import * as StateDirectory from "./StateDirectory.js"
import * as Store from "./Store.js"

const serve = Effect.gen(function*() {
  const directory = yield* StateDirectory.StateDirectory
  const engine = yield* Engine.Engine
  yield* Console.log(`urlsessiond ${process.pid} ready in ${directory.path}`)
  const reason = yield* engine.exitRequested
  yield* Console.log(
    reason === "Idle"
      ? `urlsessiond ${process.pid}: idle for ${engine.idleExitMillis} ms; exiting`
      : `urlsessiond ${process.pid}: stopping as asked; its transfers go on at its next start`
  )
}).pipe(Effect.provide(Layer.provideMerge(Server.layer, Layer.provideMerge(Engine.layer, Store.layer))))

const daemon = Effect.scoped(Effect.zipRight(InstanceLock.acquire, serve)).pipe(
  Effect.catchIf(
    (error) => error._tag === "InstanceLockError" && error.reason === "AlreadyRunning",
    (error) => Console.error(`urlsessiond ${process.pid}: ${error.message}; exiting`)
  ),
  Effect.provide(StateDirectory.layer)
)

/** A client of the running daemon, closed with the scope; `None` when nothing answers (a
 * plain connection is tried first: an RpcClient would keep trying to reach a daemon that is
 * not there). */
const client = Effect.gen(function*() {
  const socket = DaemonSocket.pathFor(yield* StateDirectory.resolve)
  if (!(yield* answers(socket))) {
    yield* Console.log("urlsessiond is not running")
    process.exitCode = 1
    return undefined
  }
  const protocol = yield* Layer.build(
    RpcClient.layerProtocolSocket().pipe(
      Layer.provide(NodeSocket.layerNet({ path: socket })),
      Layer.provide(RpcSerialization.layerNdjson)
    )
  )
  return yield* Effect.provide(RpcClient.make(Protocol.Protocol), protocol)
})

const bytes = (count: number, expected: number) => `${count} of ${expected < 0 ? "?" : expected} bytes`

const describeTask = (task: Protocol.TaskSnapshot) =>
  `  task ${task.taskIdentifier} ${task.kind} ${task.state} ` +
  (task.kind === "upload"
    ? `${bytes(task.countOfBytesSent, task.countOfBytesExpectedToSend)} sent`
    : `${bytes(task.countOfBytesReceived, task.countOfBytesExpectedToReceive)} received`) +
  ` ${task.originalRequest.method} ${task.originalRequest.url}`

const status = Effect.scoped(Effect.gen(function*() {
  const daemonClient = yield* client
  if (daemonClient === undefined) return
  const { pid, rss, sessions } = yield* daemonClient.Status()
  const lines = [`urlsessiond ${pid} is running (${(rss / 1024 / 1024).toFixed(1)} MiB resident)`]
  for (const session of sessions) {
    lines.push(`session ${session.identifier} ${session.attached ? "attached" : "not attached"}`)
    for (const task of session.tasks) lines.push(describeTask(task))
  }
  yield* Console.log(lines.join("\n"))
}))

const stop = Effect.scoped(Effect.gen(function*() {
  const daemonClient = yield* client
  if (daemonClient === undefined) return
  yield* daemonClient.Stop()
  yield* Console.log("urlsessiond is stopping")
}))

const commands: Record<string, Effect.Effect<void, unknown>> = { status, stop }

const command = process.argv[2]
const main = command === undefined
  ? daemon
  : commands[command] ?? Effect.zipRight(
    Console.error(`urlsessiond: unknown command ${JSON.stringify(command)}; use status or stop`),
    Effect.sync(() => void (process.exitCode = 2))
  )

NodeRuntime.runMain(main)
