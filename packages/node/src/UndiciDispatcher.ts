/**
 * The undici `Dispatcher` a Node session sends `http:` and `https:` requests through, as a
 * service: provide one (an `Agent` of your own, a `ProxyAgent`, a `MockAgent` in tests) and
 * `NodeURLSession.layer` sends through it instead of building its own pool.
 *
 * A dispatcher of yours takes over what the session's own pool is built from, so the session
 * refuses what it can no longer honour: building the layer fails with `InvalidConfiguration`
 * for non-empty `trustedCertificates` (give your `Agent` `connect: { ca }`) and for the
 * `lookup` option (give it `connect: { lookup }`). How many connections go to one host is
 * then the dispatcher's to say (undici's `Agent` opens as many as it is asked for unless
 * given `connections`): `httpMaximumConnectionsPerHost` only sizes the session's own
 * admission, which lets 16 tasks per allowed connection run at once for each origin.
 * TLS failures still map to `URLError` codes from the errors undici reports; a TLS 1.3 alert
 * that undici reports as a closed connection is `NetworkConnectionLost`, not
 * `ClientCertificateRequired`. The session's guards around undici's HTTP/1 parser (interim
 * 1xx responses dropped, head bytes re-arming the idle timer, a close read to its end)
 * sit on the connections of its own pool, and are not on yours.
 *
 * The session never closes a dispatcher it was given: it is yours, and outlives the session
 * (use {@link layerScoped} to tie one to a layer's lifetime).
 *
 * @since 0.1.0
 */
import * as Context from "effect/Context"
import * as Effect from "effect/Effect"
import type { LazyArg } from "effect/Function"
import * as Layer from "effect/Layer"
import type { Dispatcher } from "undici"

/**
 * The dispatcher `NodeURLSession.layer` sends through when one is provided.
 *
 * @since 0.1.0
 * @category tags
 */
export class UndiciDispatcher
  extends Context.Tag("@urlsession/node/UndiciDispatcher")<UndiciDispatcher, Dispatcher>()
{}

/**
 * Provides `dispatcher` as it is. The layer never closes it: whoever made it does.
 *
 * @example
 * ```ts
 * import { Effect, Layer } from "effect"
 * import { URLSession } from "@urlsession/core"
 * import { NodeURLSession, UndiciDispatcher } from "@urlsession/node"
 * import { ProxyAgent } from "undici"
 *
 * const proxied = NodeURLSession.layer().pipe(
 *   Layer.provide(UndiciDispatcher.layer(new ProxyAgent("http://proxy.example:3128")))
 * )
 * URLSession.data("https://example.com/").pipe(Effect.provide(proxied))
 * ```
 *
 * @since 0.1.0
 * @category layers
 */
export const layer = (dispatcher: Dispatcher): Layer.Layer<UndiciDispatcher> =>
  Layer.succeed(UndiciDispatcher, dispatcher)

/**
 * Makes a dispatcher when the layer is built and closes it (`close()`: requests under way
 * finish first) when the layer is closed.
 *
 * @example
 * ```ts
 * import { Layer } from "effect"
 * import { NodeURLSession, UndiciDispatcher } from "@urlsession/node"
 * import { Agent } from "undici"
 *
 * const session = NodeURLSession.layer().pipe(
 *   Layer.provide(UndiciDispatcher.layerScoped(() => new Agent({ keepAliveTimeout: 1_000 })))
 * )
 * ```
 *
 * @since 0.1.0
 * @category layers
 */
export const layerScoped = (make: LazyArg<Dispatcher>): Layer.Layer<UndiciDispatcher> =>
  Layer.scoped(
    UndiciDispatcher,
    Effect.acquireRelease(Effect.sync(make), (dispatcher) => Effect.promise(() => dispatcher.close()))
  )
