/**
 * Each background session's life in the daemon: its directories under the state directory,
 * its own URLSession (rebuilt when an attach brings another configuration), and the hub its
 * attached app hears events on.
 */
import type * as FileSystem from "@effect/platform/FileSystem"
import * as URLError from "@urlsession/core/URLError"
import * as URLSession from "@urlsession/core/URLSession"
import * as URLSessionConfiguration from "@urlsession/core/URLSessionConfiguration"
import * as NodeURLSession from "@urlsession/node/NodeURLSession"
import * as Context from "effect/Context"
import * as Effect from "effect/Effect"
import * as Layer from "effect/Layer"
import * as Option from "effect/Option"
import * as PubSub from "effect/PubSub"
import * as Schema from "effect/Schema"
import type * as Scope from "effect/Scope"
import * as path from "node:path"
import type { Store } from "../Store.js"
import { type AttachItem, WireConfiguration } from "./protocol.js"
import { StoreError } from "./store.js"
import type { TransferSession } from "./transfer.js"
import { configurationFromWire } from "./wire.js"

export interface SessionRuntimes {
  /** The session's runtime for `configuration`, built (or rebuilt) if needed. */
  readonly runtime: (
    identifier: string,
    configuration: typeof WireConfiguration.Type
  ) => Effect.Effect<TransferSession, URLError.URLError>
  /** The session's runtime, built from its stored configuration if no attach has built it. */
  readonly runtimeOf: (identifier: string) => Effect.Effect<TransferSession, URLError.URLError | StoreError>
  /** Where the session's downloads write: resume data names files in it. */
  readonly partialDirectoryOf: (identifier: string) => string
  /** Where finished downloads wait for the app, named by their task identifier. */
  readonly finishedDirectoryOf: (identifier: string) => string
}

// The daemon's own session for a background identifier is a foreground one with the same
// settings: a background configuration would send NodeURLSession back to the daemon.
const foreground = (identifier: string, wire: typeof WireConfiguration.Type) =>
  URLSessionConfiguration.with(URLSessionConfiguration.defaultConfiguration, configurationFromWire(identifier, wire))

const sameConfiguration = (a: typeof WireConfiguration.Type, b: typeof WireConfiguration.Type) =>
  JSON.stringify(a) === JSON.stringify(b)

/** Sessions' URLSessions live in `scope`. */
export const make = (options: {
  readonly stateDirectory: string
  readonly store: Store
  readonly fileSystem: FileSystem.FileSystem
  readonly scope: Scope.Scope
}): Effect.Effect<SessionRuntimes> =>
  Effect.gen(function*() {
    const { fileSystem, scope, store } = options
    const sessions = new Map<string, TransferSession>()
    const lock = yield* Effect.makeSemaphore(1)
    const directoryOf = (identifier: string) => path.join(options.stateDirectory, "sessions", identifier)
    const partialDirectoryOf = (identifier: string) => path.join(directoryOf(identifier), "partial")
    const finishedDirectoryOf = (identifier: string) => path.join(directoryOf(identifier), "finished")

    const runtime: SessionRuntimes["runtime"] = (identifier, configuration) =>
      lock.withPermits(1)(Effect.gen(function*() {
        const existing = sessions.get(identifier)
        if (existing !== undefined && sameConfiguration(existing.configuration, configuration)) return existing
        const partialDirectory = partialDirectoryOf(identifier)
        const finishedDirectory = finishedDirectoryOf(identifier)
        yield* fileSystem.makeDirectory(finishedDirectory, { recursive: true, mode: 0o700 }).pipe(
          Effect.mapError((cause) =>
            URLError.make("CannotCreateFile", { message: `cannot make ${finishedDirectory}`, cause })
          )
        )
        // Tasks running on the session of an earlier configuration go on there: it stays open.
        // The app's BackgroundSession.layer validated the configuration: one that is not
        // valid came from another client, and is told so as a URLError.
        const context = yield* Layer.buildWithScope(
          NodeURLSession.layer(foreground(identifier, configuration), { downloadsDirectory: partialDirectory }),
          scope
        ).pipe(Effect.catchTag("InvalidConfiguration", (error) =>
          Effect.fail(URLError.make("Unknown", { message: error.message, cause: error }))))
        const built: TransferSession = {
          identifier,
          configuration,
          urlSession: Context.get(context, URLSession.URLSession),
          hub: existing?.hub ?? (yield* PubSub.unbounded<typeof AttachItem.Type>()),
          partialDirectory,
          finishedDirectory
        }
        sessions.set(identifier, built)
        return built
      }))

    const runtimeOf: SessionRuntimes["runtimeOf"] = (identifier) =>
      Effect.gen(function*() {
        const existing = sessions.get(identifier)
        if (existing !== undefined) {
          return existing
        }
        const record = yield* store.session(identifier)
        if (Option.isNone(record)) {
          return yield* new StoreError({
            reason: "UnknownSession",
            message: `no session ${JSON.stringify(identifier)}`
          })
        }
        const configuration = yield* Schema.decodeUnknown(WireConfiguration)(record.value.configuration).pipe(
          Effect.mapError((cause) =>
            new StoreError({ reason: "Database", message: cause.message, cause })
          )
        )
        return yield* runtime(identifier, configuration)
      })

    return { runtime, runtimeOf, partialDirectoryOf, finishedDirectoryOf }
  })
