/**
 * Sessions for Node.js: `http:` and `https:` over undici, and `file:` from disk.
 *
 * @since 0.1.0
 */
import * as NodeFileSystem from "@effect/platform-node/NodeFileSystem"
import type { PlatformError } from "@effect/platform/Error"
import * as FileSystem from "@effect/platform/FileSystem"
import type * as HttpClient from "@effect/platform/HttpClient"
import * as URLError from "@urlsession/core/URLError"
import * as URLSession from "@urlsession/core/URLSession"
import * as URLSessionConfiguration from "@urlsession/core/URLSessionConfiguration"
import type * as URLSessionDelegate from "@urlsession/core/URLSessionDelegate"
import * as URLSessionHttpClient from "@urlsession/core/URLSessionHttpClient"
import * as Config from "effect/Config"
import * as Effect from "effect/Effect"
import * as Layer from "effect/Layer"
import * as Option from "effect/Option"
import { lookup } from "mime-types"
import type { LookupFunction } from "node:net"
import * as os from "node:os"
import * as path from "node:path"
import * as tls from "node:tls"
import { Agent } from "undici"
import * as Connector from "./internal/connector.js"
import { fileProtocol } from "./internal/fileProtocol.js"
import * as HttpProtocol from "./internal/httpProtocol.js"
import * as PrivateDirectory from "./internal/privateDirectory.js"
import { processes } from "./internal/processes.js"
import { UndiciDispatcher } from "./UndiciDispatcher.js"

/**
 * What a Node session can take beyond its configuration.
 *
 * @since 0.1.0
 * @category models
 */
export interface Options {
  /** The session's delegate: the decisions it takes over from Apple's defaults. */
  readonly delegate?: URLSessionDelegate.URLSessionDelegate
  /** Where download tasks write their files, instead of the default
   * `<OS temp dir>/urlsession-<uid>/<identifier, or "default">` (whose first part the
   * environment variable `URLSESSION_DOWNLOADS_DIRECTORY` moves). Held to the same rule:
   * made 0700 if missing, and refused unless it is a directory (not a link) of this user
   * that nobody else can write to. */
  readonly downloadsDirectory?: string
  /** Resolves host names instead of the operating system's resolver (`dns.lookup`). Not with
   * a dispatcher of your own (`UndiciDispatcher`): give it to that dispatcher instead. */
  readonly lookup?: LookupFunction
}

/**
 * The module `@urlsession/daemon/BackgroundSession` as this package uses it: described here,
 * not imported, because the daemon package depends on this one, and an app that never runs a
 * background session need not install it (nor build its native SQLite module).
 */
interface BackgroundSessionModule {
  readonly layer: (
    configuration: URLSessionConfiguration.URLSessionConfiguration,
    options?: { readonly delegate?: URLSessionDelegate.URLSessionDelegate | undefined }
  ) => Layer.Layer<URLSession.URLSession, URLError.URLError | URLSessionConfiguration.InvalidConfiguration>
}

// A variable, so that the type checker does not look for the package either.
const backgroundSessionModule = "@urlsession/daemon/BackgroundSession"

const isMissingModule = (cause: unknown): boolean =>
  (cause as { readonly code?: unknown }).code === "ERR_MODULE_NOT_FOUND" &&
  String((cause as { readonly message?: unknown }).message).includes("@urlsession/daemon")

const loadBackgroundSession: Effect.Effect<BackgroundSessionModule> = Effect.tryPromise(
  () => import(backgroundSessionModule) as Promise<BackgroundSessionModule>
).pipe(
  Effect.catchAll(({ error }) =>
    isMissingModule(error)
      ? Effect.dieMessage("Background sessions need the @urlsession/daemon package: npm install @urlsession/daemon")
      : Effect.die(error)
  )
)

// What a dispatcher of the user's own cannot honour: the session's pool would have applied
// it, and nothing else will.
const dispatcherProblems = (
  configuration: URLSessionConfiguration.URLSessionConfiguration,
  options: Options | undefined
): ReadonlyArray<URLSessionConfiguration.Problem> => [
  ...(configuration.trustedCertificates.length > 0
    ? [{
      field: "trustedCertificates",
      value: `${configuration.trustedCertificates.length} certificate(s)`,
      reason: "a dispatcher of your own (UndiciDispatcher) verifies servers itself: give it connect: { ca } instead"
    }]
    : []),
  ...(options?.lookup !== undefined
    ? [{
      field: "lookup",
      value: options.lookup.name === "" ? "a function" : `the function ${options.lookup.name}`,
      reason: "a dispatcher of your own (UndiciDispatcher) resolves names itself: give it connect: { lookup } instead"
    }]
    : [])
]

/**
 * A session over one undici `Agent` built from the configuration, downloading to a
 * directory of its own under the OS temp directory: at most
 * `httpMaximumConnectionsPerHost` connections per origin, kept alive between requests, and
 * trusting the configuration's `trustedCertificates` on top of Node's root certificates.
 * Closing the layer cancels every task, invalidates the session and closes its connections.
 *
 * It takes `URLSessionConfiguration.default` when given nothing, a configuration, or the
 * fields to change in the default one (`layer({ timeoutIntervalForRequest: "5 seconds" })`).
 *
 * Two services replace what it would make for itself when the environment has them, and
 * the layer requires neither: an `UndiciDispatcher` is sent through instead of the session's
 * own `Agent` (and is not closed with the layer; see `UndiciDispatcher` for the fields it
 * takes over), and `@effect/platform`'s `FileSystem` serves uploads from files and moves
 * downloads, instead of `NodeFileSystem`. Partial download files are opened by Node's `fs`
 * directly, whatever the `FileSystem`: without following links, which the service cannot say.
 *
 * A background configuration (`URLSessionConfiguration.background(identifier)`) gives a
 * session whose tasks the per-user daemon `urlsessiond` carries out, from the package
 * `@urlsession/daemon` (which must be installed: without it building the layer dies saying
 * so): see `BackgroundSession.layer` there. Its downloads go where the daemon puts them, so
 * `downloadsDirectory` and `lookup` do not apply to it; closing its layer detaches the app
 * and cancels nothing.
 *
 * Downloads go to `<OS temp dir>/urlsession-<uid>/<identifier, or "default">`: on the temp
 * file system, so that a download moved into temp is renamed, not copied. The environment
 * variable `URLSESSION_DOWNLOADS_DIRECTORY` (an absolute path) takes the place of
 * `<OS temp dir>/urlsession-<uid>`. Each level is made 0700 if missing and checked on every
 * start of a session and before every new download: a directory that is a symbolic link, is
 * owned by another user, or that its group or others can write to is refused. Partial files
 * are opened without following links: a link in a partial file's place fails its task with
 * `CannotOpenFile`.
 *
 * Building the layer fails with `InvalidConfiguration` for a configuration that breaks a
 * rule of `URLSessionConfiguration.validate` (an identifier that `isValidIdentifier`
 * refuses, `httpMaximumConnectionsPerHost: 0`, a negative timeout…), naming every field at
 * fault, or that a dispatcher of the user's own cannot honour; nothing is made on disk then.
 * It fails with a `URLError` for what the environment causes, which a program can catch and
 * report: a downloads directory that cannot be made or is not private fails it with
 * `CannotCreateFile` (-3000); a background session's identifier held by another layer, in
 * this process or another, with `BackgroundSessionInUseByAnotherProcess` (-996). It dies,
 * with a message saying what to install, for a background configuration without
 * `@urlsession/daemon` installed.
 *
 * @example
 * ```ts
 * import { Effect } from "effect"
 * import { URLSession, URLSessionConfiguration } from "@urlsession/core"
 * import { NodeURLSession } from "@urlsession/node"
 *
 * URLSession.data("http://127.0.0.1:8080/").pipe(
 *   Effect.provide(NodeURLSession.layer(URLSessionConfiguration.ephemeral))
 * )
 *
 * URLSession.data("http://127.0.0.1:8080/").pipe(
 *   Effect.provide(NodeURLSession.layer({ timeoutIntervalForRequest: "5 seconds" }))
 * )
 * ```
 *
 * @since 0.1.0
 * @category layers
 */
export const layer = (
  configuration?: URLSessionConfiguration.Input,
  options?: Options
): Layer.Layer<URLSession.URLSession, URLError.URLError | URLSessionConfiguration.InvalidConfiguration> => {
  const resolved = URLSessionConfiguration.fromInput(configuration)
  return URLSessionConfiguration.isBackground(resolved)
    ? Layer.unwrapEffect(
      Effect.zipRight(
        URLSessionConfiguration.validate(resolved),
        Effect.map(loadBackgroundSession, (module) => module.layer(resolved, { delegate: options?.delegate }))
      )
    )
    : foregroundLayer(resolved, options)
}

const foregroundLayer = (
  configuration: URLSessionConfiguration.URLSessionConfiguration,
  options?: Options
): Layer.Layer<URLSession.URLSession, URLError.URLError | URLSessionConfiguration.InvalidConfiguration> =>
  Layer.scoped(
    URLSession.URLSession,
    Effect.gen(function*() {
      const userDispatcher = yield* Effect.serviceOption(UndiciDispatcher)
      yield* URLSessionConfiguration.validate(
        configuration,
        Option.isSome(userDispatcher) ? dispatcherProblems(configuration, options) : []
      )
      // The levels of the downloads directory, outermost first, each held to the rule.
      const directories = options?.downloadsDirectory === undefined
        ? [yield* downloadsRoot, Option.getOrElse(configuration.identifier, () => "default")]
        : [options.downloadsDirectory]
      const paths = directories.map((_, level) => path.join(...directories.slice(0, level + 1)))
      const prepareDirectory = Effect.forEach(paths, PrivateDirectory.ensure, { discard: true })
      yield* Effect.mapError(prepareDirectory, unusableDirectory)
      const http = Option.isSome(userDispatcher)
        // The user's dispatcher, left open on close; its connections are not the
        // connector's, so no TLS alert is remembered for them.
        ? HttpProtocol.make(userDispatcher.value, { alertBehind: () => undefined }, configuration)
        : yield* ownPool(configuration, options)
      const fileSystem = yield* Effect.serviceOption(FileSystem.FileSystem).pipe(
        Effect.flatMap(Option.match({
          onNone: () => Effect.provide(FileSystem.FileSystem, NodeFileSystem.layer),
          onSome: Effect.succeed
        }))
      )
      return yield* URLSession.make(configuration, {
        protocols: [http, fileProtocol],
        delegate: options?.delegate,
        downloads: {
          fileSystem,
          directory: paths[paths.length - 1]!,
          prepareDirectory,
          openPartialFile: PrivateDirectory.openFile,
          processes
        },
        uploads: { fileSystem, mimeTypeOf }
      })
    })
  )

// The session's own `Agent`, destroyed with the session.
const ownPool = (
  configuration: URLSessionConfiguration.URLSessionConfiguration,
  options: Options | undefined
) =>
  Effect.gen(function*() {
    const connector = Connector.make({
      ...(configuration.trustedCertificates.length > 0
        ? { ca: [...tls.rootCertificates, ...configuration.trustedCertificates] }
        : {}),
      ...(options?.lookup === undefined ? {} : { lookup: options.lookup }),
      // The session's own idle and resource timers govern every phase of a load, so
      // undici's separate connect, headers and body timers are turned off.
      timeout: 0
    })
    const agent = yield* Effect.acquireRelease(
      Effect.sync(() =>
        new Agent({
          connections: configuration.httpMaximumConnectionsPerHost,
          headersTimeout: 0,
          bodyTimeout: 0,
          connect: connector.connect
        })
      ),
      (agent) => Effect.promise(() => agent.destroy())
    )
    return HttpProtocol.make(agent, connector, configuration)
  })

const mimeTypeOf = (file: string): Option.Option<string> => {
  const type = lookup(file)
  return type === false ? Option.none() : Option.some(type)
}

const downloadsDirectoryVariable = "URLSESSION_DOWNLOADS_DIRECTORY"

// Downloads live in a directory of the session's own, stable across runs and keyed by the
// configuration's identifier, so that files a session leaves (resume data's partial files)
// are found again by the next session of the same name. The user's id in the name gives
// each user a directory of their own, which no other can have made first.
const downloadsRoot: Effect.Effect<string, URLError.URLError> = Effect.gen(function*() {
  const moved = yield* Effect.orDie(Config.withDefault(Config.string(downloadsDirectoryVariable), ""))
  if (moved === "") return path.join(os.tmpdir(), `urlsession-${process.getuid?.() ?? os.userInfo().username}`)
  if (!path.isAbsolute(moved)) {
    return yield* Effect.fail(URLError.make("CannotCreateFile", {
      message: `${downloadsDirectoryVariable} must be an absolute path, not ${JSON.stringify(moved)}`
    }))
  }
  return path.resolve(moved)
})

// The description names the directory that breaks the rule, and how.
const unusableDirectory = (error: PlatformError): URLError.URLError =>
  URLError.make("CannotCreateFile", {
    message: error._tag === "SystemError" ? error.description : undefined,
    cause: error
  })

/**
 * `HttpClient.HttpClient` over a new session, and the session itself: {@link layer} with
 * `URLSessionHttpClient.layer` on top, so that `@effect/platform` `HttpClient` code runs
 * over the session's pool, timeouts and delegate. It takes what {@link layer} takes:
 * nothing for `URLSessionConfiguration.default`, a configuration, or overrides.
 *
 * @example
 * ```ts
 * import { HttpClient } from "@effect/platform"
 * import { Effect } from "effect"
 * import { NodeURLSession } from "@urlsession/node"
 *
 * HttpClient.get("http://127.0.0.1:8080/").pipe(
 *   Effect.flatMap((response) => response.text),
 *   Effect.provide(NodeURLSession.layerHttpClient())
 * )
 * ```
 *
 * @since 0.1.0
 * @category layers
 */
export const layerHttpClient = (
  configuration?: URLSessionConfiguration.Input,
  options?: Options
): Layer.Layer<
  HttpClient.HttpClient | URLSession.URLSession,
  URLError.URLError | URLSessionConfiguration.InvalidConfiguration
> => Layer.provideMerge(URLSessionHttpClient.layer, layer(configuration, options))
