/**
 * What a download needs to go on where it stopped: a Schema value that encodes to a portable
 * string, to store or send to another process, and decodes again with validation.
 *
 * @since 0.1.0
 */
import * as Effect from "effect/Effect"
import * as Either from "effect/Either"
import * as Encoding from "effect/Encoding"
import * as ParseResult from "effect/ParseResult"
import * as Schema from "effect/Schema"
import * as URLError from "./URLError.js"

/**
 * The format this version writes and reads.
 *
 * @since 0.1.0
 * @category models
 */
export const version = 1

// A partial file is named by the session, never by the resume data's author: a bare name of
// the session's own pattern, so no resume data can point outside the session's directory.
const PartialFileName = Schema.String.pipe(Schema.pattern(/^CFNetworkDownload_[0-9a-f-]{36}\.tmp$/))

const HTTPURL = Schema.String.pipe(Schema.filter((url) => {
  try {
    const protocol = new URL(url).protocol
    return protocol === "http:" || protocol === "https:" || "an http or https URL"
  } catch {
    return "an http or https URL"
  }
}))

/**
 * @since 0.1.0
 * @category models
 */
export class ResumeData extends Schema.Class<ResumeData>("@urlsession/core/ResumeData")({
  version: Schema.Literal(version),
  /** The URL the download was asked for. */
  originalURL: Schema.String,
  /** The URL the partial body came from (after redirects): where the download goes on. */
  url: HTTPURL,
  /** The request's own header fields, sent again. */
  headers: Schema.Record({ key: Schema.String, value: Schema.String }),
  /** The validators of the partial body: the server must still have the same resource. */
  etag: Schema.optional(Schema.String),
  lastModified: Schema.optional(Schema.String),
  /** Bytes already in the partial file. */
  bytesReceived: Schema.Int.pipe(Schema.nonNegative()),
  /** The whole resource's length, or -1 when unknown. */
  expectedLength: Schema.Int.pipe(Schema.greaterThanOrEqualTo(-1)),
  /** The partial file's name in the session's directory. */
  partialFile: PartialFileName
}) {}

/**
 * The resume data as a string safe to store or send (base64url of its JSON form).
 *
 * @since 0.1.0
 * @category encoding
 */
export const encode = (resumeData: ResumeData): Effect.Effect<string> =>
  Effect.map(Schema.encode(ResumeData)(resumeData).pipe(Effect.orDie), (encoded) =>
    Encoding.encodeBase64Url(JSON.stringify(encoded)))

/**
 * Resume data from a string made by {@link encode}. Untrusted input is validated: anything
 * that is not resume data of this version, with an http(s) URL and a partial file named by a
 * session, fails with `CannotDecodeRawData` and says why.
 *
 * @since 0.1.0
 * @category encoding
 */
export const decode = (encoded: string): Effect.Effect<ResumeData, URLError.URLError> =>
  Effect.suspend(() => {
    const text = Encoding.decodeBase64UrlString(encoded)
    if (Either.isLeft(text)) return Effect.fail(invalid("it is not base64url", text.left))
    let json: unknown
    try {
      json = JSON.parse(text.right)
    } catch (cause) {
      return Effect.fail(invalid("it is not JSON", cause))
    }
    return Schema.decodeUnknown(ResumeData)(json, { onExcessProperty: "error" }).pipe(
      Effect.mapError((error) => invalid(ParseResult.TreeFormatter.formatErrorSync(error), error))
    )
  })

const invalid = (why: string, cause: unknown) =>
  URLError.make("CannotDecodeRawData", { message: `Not valid resume data: ${why}`, cause })
