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
import * as Stream from "effect/Stream"
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

const build = (fields: Omit<URLRequest, TypeId | "pipe">): URLRequest => Object.assign(Object.create(Proto), fields)

const update = (self: URLRequest, fields: Partial<Omit<URLRequest, TypeId | "pipe">>): URLRequest =>
  build({ ...self, ...fields })

/**
 * Query parameters to append to a URL: each value a string, number or boolean, or an array of
 * them for a name that repeats; `undefined` leaves the name out. `URLSearchParams` is taken as
 * it is.
 *
 * @since 0.1.0
 * @category models
 */
export type QueryParams =
  | URLSearchParams
  | Readonly<Record<string, QueryValue | ReadonlyArray<QueryValue> | undefined>>

/**
 * @since 0.1.0
 * @category models
 */
export type QueryValue = string | number | boolean

/**
 * A request body given in an options form: bytes, a string sent as UTF-8, or a stream (see
 * {@link setBodyStream}).
 *
 * @since 0.1.0
 * @category models
 */
export type Body = Uint8Array | string | Stream.Stream<Uint8Array, unknown>

/**
 * A request in one object, for {@link make} and every session method: each field does what
 * its setter does, in this order: the URL is resolved against `relativeTo`, then `query` is
 * appended, then the method, header fields, body and timeout are set. `json` is a body
 * encoded with `JSON.stringify` (see {@link setJsonBody}); a request has `body` or `json`,
 * not both.
 *
 * @since 0.1.0
 * @category models
 */
export type Options =
  & CommonOptions
  & (
    | { readonly body?: Body | undefined; readonly json?: undefined }
    | { readonly json: unknown; readonly body?: undefined }
  )

/**
 * The fields of {@link Options} other than the body.
 *
 * @since 0.1.0
 * @category models
 */
export interface CommonOptions {
  readonly method?: string | undefined
  readonly headers?: Readonly<Record<string, string>> | undefined
  readonly query?: QueryParams | undefined
  /** The request's idle timeout: see {@link setTimeoutInterval}. */
  readonly timeout?: Duration.DurationInput | undefined
  /** The base a relative URL is resolved against: see {@link resolvedAgainst}. */
  readonly relativeTo?: string | URL | undefined
}

/**
 * A request for a URL: a `GET` with no headers and no body, or what `options` says.
 *
 * @example
 * ```ts
 * import { URLRequest } from "@urlsession/core"
 *
 * const request = URLRequest.make("users", {
 *   relativeTo: "https://api.example.com/v1/",
 *   method: "POST",
 *   query: { dryRun: true },
 *   json: { name: "Ada" },
 *   timeout: "5 seconds"
 * })
 * // POST https://api.example.com/v1/users?dryRun=true, Content-Type: application/json
 * ```
 *
 * @since 0.1.0
 * @category constructors
 */
export const make = (url: string | URL, options?: Options): URLRequest => {
  const request = build({
    url: typeof url === "string" ? url : url.href,
    method: "GET",
    headers: HeaderFields.empty,
    body: Option.none(),
    bodyStream: Option.none(),
    timeoutInterval: Option.none()
  })
  return options === undefined ? request : withOptions(request, options)
}

/**
 * A request from a URL or a request, with `options` applied on top: what every session
 * method accepts.
 *
 * @since 0.1.0
 * @category constructors
 */
export const fromURLOrRequest = (urlOrRequest: string | URL | URLRequest, options?: Options): URLRequest =>
  isURLRequest(urlOrRequest)
    ? options === undefined ? urlOrRequest : withOptions(urlOrRequest, options)
    : make(urlOrRequest, options)

const withOptions = (self: URLRequest, options: Options): URLRequest => {
  let request = self
  if (options.relativeTo !== undefined) request = resolvedAgainst(request, options.relativeTo)
  if (options.query !== undefined) request = appendQuery(request, options.query)
  if (options.method !== undefined) request = setMethod(request, options.method)
  if (options.headers !== undefined) request = setHeaders(request, options.headers)
  if (options.json !== undefined) request = setJsonBody(request, options.json)
  else if (options.body !== undefined) {
    request = isStream(options.body) ? setBodyStream(request, options.body) : setBody(request, options.body)
  }
  if (options.timeout !== undefined) request = setTimeoutInterval(request, options.timeout)
  return request
}

const isStream = (body: Body): body is Stream.Stream<Uint8Array, unknown> =>
  typeof body === "object" && Stream.StreamTypeId in body

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

/**
 * Resolves a relative URL against `base`, as Apple's `URL(string:relativeTo:)` and RFC 3986
 * do: `"users"` against `"https://host/v1/"` is `https://host/v1/users`, but against
 * `"https://host/v1"` (no final slash) it is `https://host/users`, and `"/users"` replaces
 * the whole path. An absolute URL stays as it is. A URL or base that cannot be parsed is
 * left unresolved, so that the task fails with `BadURL` naming what the caller wrote.
 *
 * @since 0.1.0
 * @category combinators
 */
export const resolvedAgainst: {
  (base: string | URL): (self: URLRequest) => URLRequest
  (self: URLRequest, base: string | URL): URLRequest
} = dual(2, (self: URLRequest, base: string | URL): URLRequest => {
  const baseURL = typeof base === "string" ? base : base.href
  if (URL.canParse(self.url) || !URL.canParse(self.url, baseURL)) return self
  return update(self, { url: new URL(self.url, baseURL).href })
})

/**
 * Appends query parameters to the URL, after any it has and before its fragment, encoded as
 * `URLSearchParams` encodes them (`application/x-www-form-urlencoded`: a space is `+`).
 *
 * @example
 * ```ts
 * import { URLRequest } from "@urlsession/core"
 *
 * URLRequest.make("https://example.com/search?lang=en#top").pipe(
 *   URLRequest.appendQuery({ q: "a&b c", tag: ["x", "y"], page: 2, draft: undefined })
 * ).url
 * // "https://example.com/search?lang=en&q=a%26b+c&tag=x&tag=y&page=2#top"
 * ```
 *
 * @since 0.1.0
 * @category combinators
 */
export const appendQuery: {
  (params: QueryParams): (self: URLRequest) => URLRequest
  (self: URLRequest, params: QueryParams): URLRequest
} = dual(2, (self: URLRequest, params: QueryParams): URLRequest => {
  const query = searchParams(params).toString()
  if (query === "") return self
  const hash = self.url.indexOf("#")
  const [beforeHash, fragment] = hash === -1 ? [self.url, ""] : [self.url.slice(0, hash), self.url.slice(hash)]
  const separator = !beforeHash.includes("?") ? "?" : beforeHash.endsWith("?") || beforeHash.endsWith("&") ? "" : "&"
  return update(self, { url: `${beforeHash}${separator}${query}${fragment}` })
})

const searchParams = (params: QueryParams): URLSearchParams => {
  if (params instanceof URLSearchParams) return params
  const result = new URLSearchParams()
  for (const [name, value] of Object.entries(params)) {
    if (value === undefined) continue
    for (const each of Array.isArray(value) ? value : [value]) result.append(name, String(each))
  }
  return result
}

/**
 * Sets a JSON body: `value` encoded with `JSON.stringify` as UTF-8, with
 * `Content-Type: application/json` unless the request already names a content type (such as
 * `application/merge-patch+json`). A value `JSON.stringify` cannot encode (a `BigInt`, a
 * cycle) throws its `TypeError`, as `JSON.stringify` does; inside a session method that
 * makes the effect die.
 *
 * @since 0.1.0
 * @category combinators
 */
export const setJsonBody: {
  (value: unknown): (self: URLRequest) => URLRequest
  (self: URLRequest, value: unknown): URLRequest
} = dual(2, (self: URLRequest, value: unknown): URLRequest => {
  const text = JSON.stringify(value)
  if (text === undefined) throw new TypeError(`URLRequest.setJsonBody: ${typeof value} has no JSON form`)
  const withBody = setBody(self, text)
  return HeaderFields.has(self.headers, "Content-Type")
    ? withBody
    : setHeader(withBody, "Content-Type", "application/json")
})
