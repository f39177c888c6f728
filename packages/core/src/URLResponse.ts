/**
 * The metadata of a response: `URLResponse` for any scheme, `HTTPURLResponse` for HTTP(S).
 *
 * Both are `Schema.Class`es, so a response can be persisted or sent to another process.
 *
 * @since 0.1.0
 */
import * as Option from "effect/Option"
import * as Schema from "effect/Schema"
import * as ResponseHead from "./internal/responseHead.js"
import { redactPasswords } from "./internal/userInfo.js"

/**
 * A response to a URL load request, independent of protocol.
 *
 * @since 0.1.0
 * @category models
 */
export class URLResponse extends Schema.Class<URLResponse>("@urlsession/core/URLResponse")({
  url: Schema.String,
  /** The media type, lower-cased, without parameters (`"text/html"`). */
  mimeType: Schema.optionalWith(Schema.String, { as: "Option" }),
  /** The body length the server announced, or -1 when unknown (or when the body is encoded). */
  expectedContentLength: Schema.Number,
  /** The `charset` parameter of the media type, when given. */
  textEncodingName: Schema.optionalWith(Schema.String, { as: "Option" }),
  /** A file name for the body: Content-Disposition's, else the URL's last path segment, else `"Unknown"`. */
  suggestedFilename: Schema.String
}) {}

/**
 * A response to an HTTP or HTTPS request: a `URLResponse` with a status and header fields.
 *
 * @since 0.1.0
 * @category models
 */
export class HTTPURLResponse extends URLResponse.extend<HTTPURLResponse>("@urlsession/core/HTTPURLResponse")({
  statusCode: Schema.Number,
  /** Header fields with lower-case names; repeated fields are joined with `", "`. */
  headers: Schema.Record({ key: Schema.String, value: Schema.String })
}) {
  /**
   * The value of a header field, looked up case-insensitively (Apple's
   * `value(forHTTPHeaderField:)`).
   *
   * @since 0.1.0
   */
  value(forHTTPHeaderField: string): Option.Option<string> {
    return Option.fromNullable(this.headers[forHTTPHeaderField.toLowerCase()])
  }
}

/**
 * @since 0.1.0
 * @category refinements
 */
export const isHTTPURLResponse = (u: unknown): u is HTTPURLResponse => u instanceof HTTPURLResponse

/**
 * Builds an `HTTPURLResponse` from a response head, deriving the MIME type, text encoding,
 * expected length and suggested file name from the header fields as Apple does.
 *
 * @since 0.1.0
 * @category constructors
 */
export const fromHTTPHead = (head: {
  readonly url: string
  readonly statusCode: number
  readonly headers: Readonly<Record<string, string | ReadonlyArray<string> | undefined>>
}): HTTPURLResponse => {
  const headers = ResponseHead.normalizeHeaders(head.headers)
  const contentType = ResponseHead.parseContentType(headers["content-type"])
  return new HTTPURLResponse({
    // A response is shown (events, logs, a delegate's output): its URL never shows a password.
    url: redactPasswords(head.url),
    statusCode: head.statusCode,
    headers,
    mimeType: contentType.mimeType,
    textEncodingName: contentType.charset,
    expectedContentLength: ResponseHead.expectedContentLength(headers),
    suggestedFilename: ResponseHead.suggestedFilename(head.url, headers["content-disposition"])
    // Built from parsed fields of the right types: validating them again costs time on
    // every response and finds nothing.
  }, true)
}
