/**
 * Sessions for Node.js: `http:` and `https:` over undici, and `file:` from disk.
 *
 * @since 0.1.0
 */
import * as FileSystem from "@effect/platform/FileSystem"
import * as NodeFileSystem from "@effect/platform-node/NodeFileSystem"
import * as Effect from "effect/Effect"
import * as Option from "effect/Option"
import * as Layer from "effect/Layer"
import * as URLSession from "@urlsession/core/URLSession"
import * as URLSessionConfiguration from "@urlsession/core/URLSessionConfiguration"
import type * as URLSessionDelegate from "@urlsession/core/URLSessionDelegate"
import type { LookupFunction } from "node:net"
import * as os from "node:os"
import * as path from "node:path"
import * as tls from "node:tls"
import { lookup } from "mime-types"
import { Agent } from "undici"
import * as Connector from "./internal/connector.js"
import { fileProtocol } from "./internal/fileProtocol.js"
import * as HttpProtocol from "./internal/httpProtocol.js"

/**
 * What a Node session can take beyond its configuration.
 *
 * @since 0.1.0
 * @category models
 */
export interface Options {
  /** The session's delegate: the decisions it takes over from Apple's defaults. */
  readonly delegate?: URLSessionDelegate.URLSessionDelegate
  /** Where download tasks write their files. Default: `<OS temp dir>/urlsession/<identifier>`
   * (`default` for sessions without an identifier). */
  readonly downloadsDirectory?: string
  /** Resolves host names instead of the operating system's resolver (`dns.lookup`). */
  readonly lookup?: LookupFunction
}

/**
 * A session over one undici `Agent` built from the configuration, downloading to a
 * directory of its own under the OS temp directory: at most
 * `httpMaximumConnectionsPerHost` connections per origin, kept alive between requests, and
 * trusting the configuration's `trustedCertificates` on top of Node's root certificates.
 * Closing the layer cancels every task, invalidates the session and closes its connections.
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
 * ```
 *
 * @since 0.1.0
 * @category layers
 */
export const layer = (
  configuration: URLSessionConfiguration.URLSessionConfiguration,
  options?: Options
): Layer.Layer<URLSession.URLSession> =>
  Layer.scoped(
    URLSession.URLSession,
    Effect.gen(function*() {
      if (URLSessionConfiguration.isBackground(configuration)) {
        return yield* Effect.dieMessage(
          "Background sessions need the transfer daemon, which is not built yet: use URLSessionConfiguration.default"
        )
      }
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
      const fileSystem = yield* Effect.provide(FileSystem.FileSystem, NodeFileSystem.layer)
      return yield* URLSession.make(configuration, {
        protocols: [HttpProtocol.make(agent, connector, configuration), fileProtocol],
        delegate: options?.delegate,
        downloads: { fileSystem, directory: options?.downloadsDirectory ?? defaultDownloadsDirectory(configuration) },
        uploads: { fileSystem, mimeTypeOf }
      })
    })
  )

const mimeTypeOf = (file: string): Option.Option<string> => {
  const type = lookup(file)
  return type === false ? Option.none() : Option.some(type)
}

// Downloads live in a directory of the session's own, stable across runs and keyed by the
// configuration's identifier, so that files a session leaves (resume data's partial files)
// are found again by the next session of the same name.
const defaultDownloadsDirectory = (configuration: URLSessionConfiguration.URLSessionConfiguration): string =>
  path.join(os.tmpdir(), "urlsession", Option.getOrElse(configuration.identifier, () => "default"))
