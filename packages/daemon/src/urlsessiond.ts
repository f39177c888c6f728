/**
 * The `urlsessiond` program: takes the state directory's lock, opens the store, listens on
 * its socket, says it is ready, and serves the protocol until a signal stops it. A second
 * daemon for the same state directory says so and exits with status 0: the one already
 * running is what its starter wanted.
 *
 * @since 0.1.0
 */
import * as NodeRuntime from "@effect/platform-node/NodeRuntime"
import * as Console from "effect/Console"
import * as Effect from "effect/Effect"
import * as Layer from "effect/Layer"
import * as InstanceLock from "./InstanceLock.js"
import * as Server from "./Server.js"
import * as StateDirectory from "./StateDirectory.js"
import * as Store from "./Store.js"

const serve = Effect.gen(function*() {
  const directory = yield* StateDirectory.StateDirectory
  yield* Store.Store
  yield* Console.log(`urlsessiond ${process.pid} ready in ${directory.path}`)
  return yield* Effect.never
}).pipe(Effect.provide(Layer.provideMerge(Server.layer, Store.layer)))

const main = Effect.scoped(Effect.zipRight(InstanceLock.acquire, serve)).pipe(
  Effect.catchIf(
    (error) => error._tag === "InstanceLockError" && error.reason === "AlreadyRunning",
    (error) => Console.error(`urlsessiond ${process.pid}: ${error.message}; exiting`)
  ),
  Effect.provide(StateDirectory.layer)
)

NodeRuntime.runMain(main)
