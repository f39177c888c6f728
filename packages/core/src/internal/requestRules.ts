import * as Effect from "effect/Effect"
import * as Option from "effect/Option"
import * as URLError from "../URLError.js"
import * as URLRequest from "../URLRequest.js"
import type { URLSessionConfiguration } from "../URLSessionConfiguration.js"
import * as HeaderFields from "./headerFields.js"

/** Sent when a request names no `User-Agent` of its own. */
export const defaultUserAgent = "urlsession/0.1.0"

/** Header fields that identify the caller: never carried to another origin. */
export const credentialFields: ReadonlyArray<string> = ["Authorization", "Proxy-Authorization", "Cookie"]

/**
 * The request as it goes on the wire, or why it must not be sent:
 *
 * - header fields with CR, LF or NUL are refused (`BadURL`), so nothing can inject a field;
 * - a GET with a body is refused (`DataLengthExceedsMaximum`, as Apple does);
 * - the session's `httpAdditionalHeaders` go under the request's own fields (whose spelling
 *   wins), except credentials once a redirect has left the original origin;
 * - `User-Agent` defaults to {@link defaultUserAgent};
 * - a POST with a non-empty body (or a body stream) and no `Content-Type` is sent as a form.
 */
export const prepare = (
  request: URLRequest.URLRequest,
  configuration: URLSessionConfiguration,
  options: { readonly crossOrigin: boolean }
): Effect.Effect<URLRequest.URLRequest, URLError.URLError> =>
  Effect.suspend(() => {
    const invalid = invalidField(request.headers)
    if (invalid !== undefined) {
      return Effect.fail(URLError.make("BadURL", {
        failingURL: request.url,
        message: `the header field ${JSON.stringify(invalid)} contains CR, LF or NUL`
      }))
    }
    const bodyLength = Option.match(request.body, { onNone: () => 0, onSome: (body) => body.byteLength })
    const hasBody = bodyLength > 0 || Option.isSome(request.bodyStream)
    if (request.method === "GET" && hasBody) {
      return Effect.fail(URLError.make("DataLengthExceedsMaximum", {
        failingURL: request.url,
        message: "a GET request cannot have a body"
      }))
    }
    const additional = options.crossOrigin
      ? credentialFields.reduce(HeaderFields.remove, configuration.httpAdditionalHeaders)
      : configuration.httpAdditionalHeaders
    let headers = HeaderFields.withDefaults(request.headers, additional)
    headers = HeaderFields.withDefaults(headers, { "User-Agent": defaultUserAgent })
    if (request.method === "POST" && hasBody) {
      headers = HeaderFields.withDefaults(headers, { "Content-Type": "application/x-www-form-urlencoded" })
    }
    return Effect.succeed(URLRequest.setHeaders(request, headers))
  })

/**
 * The framing of a request about to go out: a body of bytes is sent with its length (not
 * chunked), and the codings the protocol decodes are asked for, unless the request says
 * otherwise (a resumed download asks for `identity`).
 */
export const frame = (request: URLRequest.URLRequest, acceptEncoding: string | undefined): URLRequest.URLRequest => {
  let headers = request.headers
  if (acceptEncoding !== undefined) headers = HeaderFields.withDefaults(headers, { "Accept-Encoding": acceptEncoding })
  if (Option.isSome(request.body)) {
    headers = HeaderFields.withDefaults(headers, { "Content-Length": String(request.body.value.byteLength) })
  }
  return headers === request.headers ? request : URLRequest.setHeaders(request, headers)
}

const forbidden = /[\r\n\0]/

const invalidField = (headers: HeaderFields.HeaderFields): string | undefined => {
  for (const name in headers) {
    if (forbidden.test(name) || forbidden.test(headers[name]!)) return name
  }
  return undefined
}
