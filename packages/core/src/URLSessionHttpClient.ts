/**
 * `@effect/platform`'s `HttpClient` over a `URLSession`: code written against `HttpClient`
 * (`HttpClientRequest`, `HttpClientResponse.schemaBodyJson`, `filterStatusOk`,
 * `retryTransient`, `HttpApiClient`) runs over the session's pool, timeouts, events and
 * delegate.
 *
 * Each request is a `bytes` load: the response's `stream` reads the body from the network
 * as it is pulled (with backpressure), and `text`, `json`, `arrayBuffer` collect it. A
 * `Stream` body is sent as the request's `bodyStream` (chunked unless a length is given).
 * Interrupting a request, or closing the scope of a response (`HttpClient.withScope`),
 * cancels its task.
 *
 * A `URLError` stays reachable as the `cause` of the platform's error:
 *
 * | when | `URLError` code | HttpClient error |
 * | --- | --- | --- |
 * | before the response head | `BadURL` | `RequestError`, reason `InvalidUrl` |
 * | before the response head | `UnsupportedURL`, `RequestBodyStreamExhausted`, `AppTransportSecurityRequiresSecureConnection`, `Cancelled` | `RequestError`, reason `Encode` |
 * | before the response head | any other (`TimedOut`, `CannotConnectToHost`, …) | `RequestError`, reason `Transport` |
 * | reading the body | any | `ResponseError`, reason `Decode` |
 *
 * `HttpClient.retryTransient` retries `Transport` (and the statuses 408, 429, 500, 502, 503,
 * 504), never `Encode`, `InvalidUrl` or `Decode`. HTTP statuses are responses, as in the
 * session; `HttpClientResponse.filterStatusOk` turns them into `ResponseError`s.
 *
 * Over a background session the client follows the session's rules for data tasks.
 *
 * @example
 * ```ts
 * import { HttpClient, HttpClientResponse } from "@effect/platform"
 * import { URLSessionHttpClient } from "@urlsession/core"
 * import { Effect, Schema } from "effect"
 *
 * const User = Schema.Struct({ id: Schema.Number, name: Schema.String })
 *
 * const user = HttpClient.get("http://127.0.0.1:8080/users/1").pipe(
 *   Effect.flatMap(HttpClientResponse.schemaBodyJson(User)),
 *   Effect.provide(URLSessionHttpClient.layer)
 * )
 * ```
 *
 * @since 0.1.0
 */
import * as HttpClient from "@effect/platform/HttpClient"
import type * as HttpClientError from "@effect/platform/HttpClientError"
import type * as HttpClientRequest from "@effect/platform/HttpClientRequest"
import type * as Effect from "effect/Effect"
import * as Layer from "effect/Layer"
import * as internal from "./internal/httpClient.js"
import type { URLError } from "./URLError.js"
import type { URLSession } from "./URLSession.js"

/**
 * An `HttpClient` over the session in context.
 *
 * @since 0.1.0
 * @category constructors
 */
export const make: Effect.Effect<HttpClient.HttpClient, never, URLSession> = internal.make

/**
 * An `HttpClient` over a given session.
 *
 * @since 0.1.0
 * @category constructors
 */
export const fromSession: (session: URLSession) => HttpClient.HttpClient = internal.fromSession

/**
 * Provides `HttpClient.HttpClient` backed by the `URLSession` in context. With a Node
 * session in one go: `NodeURLSession.layerHttpClient(configuration)`.
 *
 * @since 0.1.0
 * @category layers
 */
export const layer: Layer.Layer<HttpClient.HttpClient, never, URLSession> = Layer.effect(
  HttpClient.HttpClient,
  internal.make
)

/**
 * The `RequestError` a `URLError` before the response head becomes (see the table above).
 *
 * @since 0.1.0
 * @category errors
 */
export const requestError: (
  request: HttpClientRequest.HttpClientRequest,
  error: URLError
) => HttpClientError.RequestError = internal.requestError
