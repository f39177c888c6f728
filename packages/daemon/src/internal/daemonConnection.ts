/**
 * A background session's hold on the daemon: a connection attached to its identifier, made
 * again when it is lost. A daemon that died is started again; calls cut by the loss go
 * again on the next connection (every call but `LoadData` is idempotent), so that the app
 * sees no failure for it.
 */
import { RpcClientError } from "@effect/rpc/RpcClientError"
import * as URLError from "@urlsession/core/URLError"
import * as Cause from "effect/Cause"
import * as Deferred from "effect/Deferred"
import * as Effect from "effect/Effect"
import * as Exit from "effect/Exit"
import * as FiberId from "effect/FiberId"
import * as Option from "effect/Option"
import type * as Scope from "effect/Scope"
import * as Stream from "effect/Stream"
import { connect, type DaemonClient } from "./daemonClient.js"
import * as launcher from "./launcher.js"
import type { AttachItem, DaemonError, ProtocolVersionMismatch } from "./protocol.js"
import { version } from "./protocol.js"
import type { WireConfiguration } from "./wire.js"

export type Item = typeof AttachItem.Type

/** Why a call or an attach failed, for the app: always a `URLError`. */
export const toURLError = (
  error: URLError.URLError | DaemonError | ProtocolVersionMismatch | RpcClientError
): URLError.URLError => {
  switch (error._tag) {
    case "URLError":
      return error
    case "ProtocolVersionMismatch":
      return URLError.make("CannotConnectToHost", { message: error.message, cause: error })
    case "DaemonError":
      return URLError.make("Unknown", { message: `urlsessiond: ${error.message}`, cause: error })
    case "RpcClientError":
      return disconnected("the connection to urlsessiond was lost", error)
  }
}

const disconnected = (message: string, cause: unknown) =>
  URLError.make("BackgroundSessionWasDisconnected", { message, cause })

const lostForGood = (cause: unknown) =>
  disconnected("the connection to urlsessiond was lost and could not be made again", cause)

const isTransportError = (error: unknown): error is RpcClientError => error instanceof RpcClientError

export interface Attached {
  readonly client: DaemonClient
  /** Counts the connections: a call cut on one waits for a later one. */
  readonly generation: number
}

export interface DaemonConnection {
  /** Runs a call on the attached connection, again on the next one if the connection is lost. */
  readonly call: <A, E>(
    f: (client: DaemonClient) => Effect.Effect<A, E | RpcClientError>
  ) => Effect.Effect<A, Exclude<E, RpcClientError> | URLError.URLError>
  /** The attached connection now, once there is one. */
  readonly attached: Effect.Effect<Attached, URLError.URLError>
}

export interface AttachOptions {
  readonly stateDirectory: string
  readonly identifier: string
  readonly configuration: WireConfiguration
  /** Each item of each attach, in order; an `Attached` one before any call goes out. */
  readonly onItem: (item: Item) => Effect.Effect<void>
  /** The connection was lost for good, or the session detached. */
  readonly onLost: (error: URLError.URLError) => Effect.Effect<void>
}

// How often, and how far apart, a lost connection is tried again: long enough for a daemon
// to release the lease of a connection it has not yet seen die.
const reattachAttempts = 40
const reattachSpacing = "250 millis"

/**
 * Attaches to the session `identifier`, starting the daemon if it is not running. Fails
 * with the first attach's refusal (`BackgroundSessionInUseByAnotherProcess`, a protocol
 * version mismatch, a daemon that does not start); once attached, a lost connection is made
 * again until it cannot be. Closing the scope detaches: it ends the attach, and nothing else.
 */
export const attach = (options: AttachOptions): Effect.Effect<DaemonConnection, URLError.URLError, Scope.Scope> =>
  Effect.gen(function*() {
    let current = Deferred.unsafeMake<Attached, URLError.URLError>(FiberId.none)
    let attachedGeneration = 0

    const markAttached = (attached: Attached) =>
      Effect.suspend(() => {
        attachedGeneration = attached.generation
        return Deferred.succeed(current, attached)
      })

    // Calls wait for the next connection from here on; those waiting for the first one
    // go on waiting.
    const markLost = Effect.suspend(() =>
      Effect.map(Deferred.isDone(current), (done) => {
        if (done) current = Deferred.unsafeMake(FiberId.none)
      })
    )

    // Ends when the connection is lost after attaching; fails when it is refused or lost
    // before.
    const connection = (generation: number) =>
      Effect.scoped(Effect.gen(function*() {
        const socket = yield* launcher.ensureRunning(options.stateDirectory)
        const client = yield* connect(socket)
        yield* client.Attach({
          identifier: options.identifier,
          protocolVersion: version,
          configuration: options.configuration
        }).pipe(
          Stream.runForEach((item) =>
            Effect.zipRight(
              options.onItem(item),
              item._tag === "Attached" ? markAttached({ client, generation }) : Effect.void
            )
          )
        )
      }))

    // A lost connection, and a lease not yet released by the daemon, are worth another
    // attempt; the lease refused at the first attach is the caller's to hear about.
    const worthRetrying = (error: unknown) =>
      isTransportError(error) ||
      (attachedGeneration > 0 && URLError.isURLError(error) && error.code === "BackgroundSessionInUseByAnotherProcess")

    const giveUp = (error: URLError.URLError) =>
      Effect.suspend(() =>
        Effect.flatMap(Deferred.fail(current, error), (failed) => {
          if (!failed) current = Deferred.unsafeMake(FiberId.none)
          return Effect.zipRight(Deferred.fail(current, error), options.onLost(error))
        })
      )

    const keepAttached = Effect.gen(function*() {
      let generation = 0
      let failures = 0
      while (true) {
        generation++
        const exit = yield* Effect.exit(connection(generation))
        yield* markLost
        if (Exit.isFailure(exit)) {
          const error = exit.cause._tag === "Fail" ? exit.cause.error : undefined
          // A daemon that stops (`urlsessiond stop`, a signal) interrupts its streams: the
          // next one is started, as after a crash.
          const stopped = attachedGeneration > 0 && Cause.isInterruptedOnly(exit.cause)
          if (!stopped && !worthRetrying(error)) {
            return yield* giveUp(
              error === undefined || attachedGeneration > 0 ? lostForGood(exit.cause) : toURLError(error)
            )
          }
        }
        failures = attachedGeneration === generation ? 0 : failures + 1
        if (failures >= reattachAttempts) return yield* giveUp(lostForGood(exit))
        if (failures > 0) yield* Effect.sleep(reattachSpacing)
      }
    })

    yield* Effect.addFinalizer(() =>
      giveUp(disconnected("the session's layer was closed: its tasks go on in urlsessiond", undefined))
    )
    yield* Effect.forkScoped(keepAttached)
    const attached = Effect.suspend(() => Deferred.await(current))
    yield* attached

    // A call cut by a lost connection waits for a later one, then goes again.
    const attachedAfter = (generation: number): Effect.Effect<Attached, URLError.URLError> =>
      Effect.flatMap(attached, (now) =>
        now.generation > generation
          ? Effect.succeed(now)
          : Effect.zipRight(Effect.sleep("50 millis"), attachedAfter(generation)))

    // A call on a connection whose client is being closed (the loss is not noticed yet)
    // is interrupted rather than failed: that counts as a loss too. Were the caller itself
    // interrupted, waiting for the next connection is interrupted in turn.
    const callOn = <A, E>(
      now: Attached,
      f: (client: DaemonClient) => Effect.Effect<A, E | RpcClientError>
    ): Effect.Effect<A, Exclude<E, RpcClientError> | URLError.URLError> =>
      Effect.flatMap(Effect.exit(f(now.client)), (exit): Effect.Effect<A, E | RpcClientError | URLError.URLError> => {
        const lost = Exit.isFailure(exit) &&
          (Cause.isInterruptedOnly(exit.cause) || Option.exists(Cause.failureOption(exit.cause), isTransportError))
        return lost ? Effect.flatMap(attachedAfter(now.generation), (next) => callOn(next, f)) : exit
      }) as Effect.Effect<A, Exclude<E, RpcClientError> | URLError.URLError>

    return {
      attached,
      call: (f) => Effect.flatMap(attached, (now) => callOn(now, f))
    }
  })
