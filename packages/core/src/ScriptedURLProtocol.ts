/**
 * A `URLProtocol` whose responses a test scripts: test an Effect program that uses
 * `URLSession` without any network.
 *
 * A script is a function from the request to an Effect of a response and its body. Helpers
 * build the usual ones: `respond` (a status, header fields and a body, optionally after a
 * delay on Effect's `Clock`, so `TestClock` drives it, or cut after N bytes) and `fail` (any
 * `URLError` code).
 *
 * @example
 * ```ts
 * import { Effect } from "effect"
 * import { URLSession, ScriptedURLProtocol } from "@urlsession/core"
 *
 * const session = ScriptedURLProtocol.layer((request) =>
 *   request.url.endsWith("/down") ? ScriptedURLProtocol.fail("CannotConnectToHost")(request)
 *     : ScriptedURLProtocol.respond({ body: "hello" })(request)
 * )
 * URLSession.data("https://example.test/").pipe(Effect.provide(session))
 * ```
 *
 * @since 0.1.0
 */
import * as Duration from "effect/Duration"
import * as Effect from "effect/Effect"
import * as Layer from "effect/Layer"
import type * as Scope from "effect/Scope"
import { chunkPull } from "./internal/bodyPull.js"
import * as URLError from "./URLError.js"
import type { Loading, URLProtocol } from "./URLProtocol.js"
import type { URLRequest } from "./URLRequest.js"
import * as URLResponse from "./URLResponse.js"
import * as URLSession from "./URLSession.js"
import * as URLSessionConfiguration from "./URLSessionConfiguration.js"

/**
 * How a scripted protocol answers a request. It runs in the load's scope, where
 * `URLProtocol.pullFromStream` can make a body from a `Stream`.
 *
 * @since 0.1.0
 * @category models
 */
export type Script = (request: URLRequest) => Effect.Effect<Loading, URLError.URLError, Scope.Scope>

/**
 * A protocol that answers the URLs `canInit` accepts (all of them, by default) with `script`.
 *
 * @since 0.1.0
 * @category constructors
 */
export const make = (script: Script, options?: { readonly canInit?: (url: URL) => boolean }): URLProtocol => ({
  canInit: options?.canInit ?? (() => true),
  startLoading: (request) => script(request)
})

/**
 * A session whose every load is answered by `script`: provide it where the program expects
 * a `URLSession`.
 *
 * @since 0.1.0
 * @category layers
 */
export const layer = (
  script: Script,
  configuration: URLSessionConfiguration.URLSessionConfiguration = URLSessionConfiguration.default
): Layer.Layer<URLSession.URLSession> =>
  Layer.scoped(
    URLSession.URLSession,
    URLSession.make(
      URLSessionConfiguration.with(configuration, {
        protocolClasses: [...configuration.protocolClasses, make(script)]
      }),
      { protocols: [] }
    )
  )

/**
 * What {@link respond} answers.
 *
 * @since 0.1.0
 * @category models
 */
export interface Response {
  /** Default: 200. */
  readonly statusCode?: number
  readonly headers?: Readonly<Record<string, string>>
  /** The body, whole or as chunks (each chunk is delivered as one `DidReceiveData`). */
  readonly body?: string | Uint8Array | ReadonlyArray<string | Uint8Array>
  /** Wait this long (on Effect's `Clock`) before the response head. */
  readonly delay?: Duration.DurationInput
  /** Deliver only this many body bytes, then fail with `NetworkConnectionLost`. */
  readonly cutAfter?: number
}

/**
 * A script that answers with an HTTP response. `Content-Length` is set from the body unless
 * given.
 *
 * @since 0.1.0
 * @category scripts
 */
export const respond = (response: Response): Script => (request) => {
  const chunks = toChunks(response.body)
  const length = chunks.reduce((total, chunk) => total + chunk.byteLength, 0)
  const head = URLResponse.fromHTTPHead({
    url: request.url,
    statusCode: response.statusCode ?? 200,
    headers: { "content-length": String(length), ...lowerCased(response.headers ?? {}) }
  })
  const cut = response.cutAfter === undefined ? undefined : URLError.make("NetworkConnectionLost", {
    failingURL: request.url,
    message: `the scripted connection was cut after ${response.cutAfter} bytes`
  })
  const sent = response.cutAfter === undefined ? chunks : truncate(chunks, response.cutAfter)
  const loading = Effect.sync(() => ({ response: head, pull: chunkPull(sent, cut) }))
  return response.delay === undefined ? loading : Effect.delay(loading, response.delay)
}

/**
 * A script that fails every load with `code`; `reason`, if given, follows the code's own words
 * in the message (see `URLError.make`).
 *
 * @since 0.1.0
 * @category scripts
 */
export const fail = (code: URLError.Code, reason?: string): Script => (request) =>
  Effect.fail(URLError.make(code, { failingURL: request.url, message: reason }))

const toChunks = (body: Response["body"]): ReadonlyArray<Uint8Array> => {
  if (body === undefined) return []
  const parts = typeof body === "string" || body instanceof Uint8Array ? [body] : body
  return parts.map((part) => typeof part === "string" ? new TextEncoder().encode(part) : part)
}

const truncate = (chunks: ReadonlyArray<Uint8Array>, limit: number): ReadonlyArray<Uint8Array> => {
  const kept: Array<Uint8Array> = []
  let left = limit
  for (const chunk of chunks) {
    if (left <= 0) break
    kept.push(chunk.subarray(0, left))
    left -= chunk.byteLength
  }
  return kept
}

const lowerCased = (headers: Readonly<Record<string, string>>): Record<string, string> =>
  Object.fromEntries(Object.entries(headers).map(([name, value]) => [name.toLowerCase(), value]))
