/**
 * An immutable URL load request: URL, method, headers and body, built with pipeable setters.
 *
 * The URL is kept as the caller wrote it and parsed when a task starts, so a malformed URL
 * fails that task with `BadURL` instead of throwing here.
 *
 * @since 0.1.0
 */
import * as Duration from "effect/Duration"
import { dual } from "effect/Function"
import * as Option from "effect/Option"
import { type Pipeable, pipeArguments } from "effect/Pipeable"
import type * as Stream from "effect/Stream"
import * as HeaderFields from "./internal/headerFields.js"

/**
 * @since 0.1.0
 * @category type ids
 */
export const TypeId: unique symbol = Symbol.for("@urlsession/core/URLRequest")

/**
 * @since 0.1.0
 * @category type ids
 */
export type TypeId = typeof TypeId

/**
 * @since 0.1.0
 * @category models
 */
export interface URLRequest extends Pipeable {
  readonly [TypeId]: TypeId
  readonly url: string
  /** Upper-case HTTP method, `GET` unless set. */
  readonly method: string
  /** Header fields with the caller's spelling; lookups are case-insensitive. */
  readonly headers: Readonly<Record<string, string>>
  readonly body: Option.Option<Uint8Array>
  /**
   * A body read as it is sent (Apple's `httpBodyStream`): sent chunked unless the request
   * sets `Content-Length`. A stream is sent once; when the body must go again (a 307 or 308
   * redirect) the session asks the delegate's `needNewBodyStream` for a new one. A request
   * has a `body` or a `bodyStream`, never both.
   */
  readonly bodyStream: Option.Option<Stream.Stream<Uint8Array, unknown>>
  /** Per-request idle timeout; wins over the session's `timeoutIntervalForRequest`. */
  readonly timeoutInterval: Option.Option<Duration.Duration>
}

/**
 * @since 0.1.0
 * @category refinements
 */
export const isURLRequest = (u: unknown): u is URLRequest => typeof u === "object" && u !== null && TypeId in u

const Proto = {
  [TypeId]: TypeId,
  pipe() {
    return pipeArguments(this, arguments)
  }
}

const build = (fields: Omit<URLRequest, TypeId | "pipe">): URLRequest =>
  Object.assign(Object.create(Proto), fields)

const update = (self: URLRequest, fields: Partial<Omit<URLRequest, TypeId | "pipe">>): URLRequest =>
  build({ ...self, ...fields })

/**
 * A `GET` request for a URL with no headers and no body.
 *
 * @since 0.1.0
 * @category constructors
 */
export const make = (url: string | URL): URLRequest =>
  build({
    url: typeof url === "string" ? url : url.href,
    method: "GET",
    headers: HeaderFields.empty,
    body: Option.none(),
    bodyStream: Option.none(),
    timeoutInterval: Option.none()
  })

/**
 * A request from a URL or a request as it is: what every session method accepts.
 *
 * @since 0.1.0
 * @category constructors
 */
export const fromURLOrRequest = (urlOrRequest: string | URL | URLRequest): URLRequest =>
  isURLRequest(urlOrRequest) ? urlOrRequest : make(urlOrRequest)

/**
 * @since 0.1.0
 * @category combinators
 */
export const setMethod: {
  (method: string): (self: URLRequest) => URLRequest
  (self: URLRequest, method: string): URLRequest
} = dual(2, (self: URLRequest, method: string): URLRequest => update(self, { method: method.toUpperCase() }))

/**
 * Sets one header field, replacing any field of the same name whatever its case.
 *
 * @since 0.1.0
 * @category combinators
 */
export const setHeader: {
  (name: string, value: string): (self: URLRequest) => URLRequest
  (self: URLRequest, name: string, value: string): URLRequest
} = dual(
  3,
  (self: URLRequest, name: string, value: string): URLRequest =>
    update(self, { headers: HeaderFields.set(self.headers, name, value) })
)

/**
 * Sets several header fields, as {@link setHeader} does for each.
 *
 * @since 0.1.0
 * @category combinators
 */
export const setHeaders: {
  (headers: Readonly<Record<string, string>>): (self: URLRequest) => URLRequest
  (self: URLRequest, headers: Readonly<Record<string, string>>): URLRequest
} = dual(
  2,
  (self: URLRequest, headers: Readonly<Record<string, string>>): URLRequest =>
    update(self, { headers: HeaderFields.merge(self.headers, headers) })
)

/**
 * The value of a header field, looked up case-insensitively.
 *
 * @since 0.1.0
 * @category accessors
 */
export const header: {
  (name: string): (self: URLRequest) => Option.Option<string>
  (self: URLRequest, name: string): Option.Option<string>
} = dual(2, (self: URLRequest, name: string): Option.Option<string> => HeaderFields.get(self.headers, name))

/**
 * The byte count the `Content-Length` header field declares: `None` without the field, or
 * when its value is not a count of bytes (RFC 9110 §8.6 allows digits only).
 *
 * @since 0.1.0
 * @category accessors
 */
export const contentLength = (self: URLRequest): Option.Option<number> =>
  Option.flatMap(header(self, "Content-Length"), (value) => Option.fromNullable(HeaderFields.parseContentLength(value)))

/**
 * Sets the body: bytes, or a string sent as UTF-8.
 *
 * @since 0.1.0
 * @category combinators
 */
export const setBody: {
  (body: Uint8Array | string): (self: URLRequest) => URLRequest
  (self: URLRequest, body: Uint8Array | string): URLRequest
} = dual(
  2,
  (self: URLRequest, body: Uint8Array | string): URLRequest =>
    update(self, {
      body: Option.some(typeof body === "string" ? new TextEncoder().encode(body) : body),
      bodyStream: Option.none()
    })
)

/**
 * Sets a body read from a stream as it is sent, in place of any `body`. Sent chunked unless
 * `Content-Length` is set; a stream that fails, or ends before that length, fails the task
 * with `RequestBodyStreamExhausted`.
 *
 * @since 0.1.0
 * @category combinators
 */
export const setBodyStream: {
  (stream: Stream.Stream<Uint8Array, unknown>): (self: URLRequest) => URLRequest
  (self: URLRequest, stream: Stream.Stream<Uint8Array, unknown>): URLRequest
} = dual(
  2,
  (self: URLRequest, stream: Stream.Stream<Uint8Array, unknown>): URLRequest =>
    update(self, { body: Option.none(), bodyStream: Option.some(stream) })
)

/**
 * Sets this request's idle timeout, which wins over the session's
 * `timeoutIntervalForRequest`.
 *
 * @since 0.1.0
 * @category combinators
 */
export const setTimeoutInterval: {
  (timeout: Duration.DurationInput): (self: URLRequest) => URLRequest
  (self: URLRequest, timeout: Duration.DurationInput): URLRequest
} = dual(
  2,
  (self: URLRequest, timeout: Duration.DurationInput): URLRequest =>
    update(self, { timeoutInterval: Option.some(Duration.decode(timeout)) })
)

/**
 * Removes a header field, whatever the case of its name.
 *
 * @since 0.1.0
 * @category combinators
 */
export const removeHeader: {
  (name: string): (self: URLRequest) => URLRequest
  (self: URLRequest, name: string): URLRequest
} = dual(
  2,
  (self: URLRequest, name: string): URLRequest => update(self, { headers: HeaderFields.remove(self.headers, name) })
)

/**
 * Removes the body, whether bytes or a stream.
 *
 * @since 0.1.0
 * @category combinators
 */
export const removeBody = (self: URLRequest): URLRequest =>
  update(self, { body: Option.none(), bodyStream: Option.none() })

/**
 * Sets the URL, keeping everything else.
 *
 * @since 0.1.0
 * @category combinators
 */
export const setURL: {
  (url: string | URL): (self: URLRequest) => URLRequest
  (self: URLRequest, url: string | URL): URLRequest
} = dual(
  2,
  (self: URLRequest, url: string | URL): URLRequest => update(self, { url: typeof url === "string" ? url : url.href })
)
