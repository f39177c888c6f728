/**
 * How one URL scheme is loaded. A session holds a list of protocols and gives each request
 * to the first one that can load it.
 *
 * A protocol turns a request into a response head and a body to pull. It runs in the task's
 * `Scope`: when the task is cancelled, timed out or its session invalidated, the scope
 * closes and the protocol must release what it holds (abort the request, close the socket).
 * The body is pulled: a protocol must not read faster than it is pulled, so a suspended
 * task or a slow consumer backpressures all the way to the transport.
 *
 * @example
 * ```ts
 * import { Effect, Stream } from "effect"
 * import { URLProtocol, URLResponse } from "@urlsession/core"
 *
 * // A protocol for `hello:` URLs, whose body is a Stream.
 * const hello: URLProtocol.URLProtocol = {
 *   canInit: (url) => url.protocol === "hello:",
 *   startLoading: (request) =>
 *     Effect.gen(function*() {
 *       const body = Stream.make(new TextEncoder().encode("hello"))
 *       return {
 *         response: URLResponse.fromHTTPHead({ url: request.url, statusCode: 200, headers: {} }),
 *         pull: yield* URLProtocol.pullFromStream(body)
 *       }
 *     })
 * }
 * ```
 *
 * @since 0.1.0
 */
import type * as Effect from "effect/Effect"
import type * as Option from "effect/Option"
import type * as Scope from "effect/Scope"
import type * as Stream from "effect/Stream"
import * as internal from "./internal/bodyPull.js"
import type { URLError } from "./URLError.js"
import type { URLRequest } from "./URLRequest.js"
import type { URLResponse } from "./URLResponse.js"

/**
 * A loaded response: its head, and its body to pull.
 *
 * @since 0.1.0
 * @category models
 */
export interface Loading {
  readonly response: URLResponse
  /**
   * The body: each run gives the next chunk, `None` at the end. A protocol whose body is a
   * `Stream` makes it with {@link pullFromStream}; whoever wants the body as a `Stream`
   * takes {@link bodyStream}.
   */
  readonly pull: Effect.Effect<Option.Option<Uint8Array>, URLError>
}

/**
 * A body stream as a `Loading`'s pull, for a protocol whose body is a `Stream`. The stream
 * runs in the scope (the load's, in `startLoading`): closing it stops the stream and runs
 * its finalizers.
 *
 * @since 0.1.0
 * @category constructors
 */
export const pullFromStream: (
  body: Stream.Stream<Uint8Array, URLError>
) => Effect.Effect<Loading["pull"], never, Scope.Scope> = internal.pullFromStream

/**
 * A `Loading`'s body as a `Stream`. It reads the same pull the session would: run it once,
 * and in place of the session, not beside it.
 *
 * @since 0.1.0
 * @category accessors
 */
export const bodyStream: (loading: Loading) => Stream.Stream<Uint8Array, URLError> = internal.bodyStream

/**
 * What a protocol tells its task while it loads (Apple's `URLProtocolClient`).
 *
 * @since 0.1.0
 * @category models
 */
export interface Client {
  /** Request body bytes went out: the task's idle timer is re-armed by bytes sent too. */
  readonly didSendBodyData: (bytes: number) => void
  /** Bytes of the final response's head arrived: they re-arm the idle timer as body bytes
   * do. Interim (1xx) heads are not reported: they must not keep a silent server alive. */
  readonly didReceiveHeadData: (bytes: number) => void
  /** Runs `effect` once the task is not suspended: read request body chunks behind it, so
   * that a suspended upload sends nothing. */
  readonly whenResumed: <A, E, R>(effect: Effect.Effect<A, E, R>) => Effect.Effect<A, E, R>
}

/**
 * @since 0.1.0
 * @category models
 */
export interface URLProtocol {
  /** Whether this protocol loads the URL (usually: by its scheme). */
  readonly canInit: (url: URL) => boolean
  /** The content codings this protocol decodes (an `Accept-Encoding` value): the session
   * asks for them when a request names none. Without it, nothing is asked for. */
  readonly acceptEncoding?: string
  /** Loads `request`, whose URL has been parsed as `url`. Its body is `request.body` (bytes)
   * or `request.bodyStream` (to pull as it is sent); report what goes out with
   * `client.didSendBodyData`. */
  readonly startLoading: (
    request: URLRequest,
    url: URL,
    client: Client
  ) => Effect.Effect<Loading, URLError, Scope.Scope>
}
