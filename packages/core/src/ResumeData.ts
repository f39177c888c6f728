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
import * as internal from "./internal/resumeDataSchema.js"
import * as URLError from "./URLError.js"

/**
 * The format this version writes and reads.
 *
 * @since 0.1.0
 * @category models
 */
export const version: typeof internal.version = internal.version

/**
 * What a download needs to go on where it stopped: the URL it came from and goes on at, the
 * request's header fields, the validators of the partial body, the bytes already received
 * and the partial file's name. A `Schema.Class`: `new ResumeData({ ... })` checks the fields.
 *
 * @since 0.1.0
 * @category models
 */
export const ResumeData: typeof internal.ResumeData = internal.ResumeData

/**
 * @since 0.1.0
 * @category models
 */
export type ResumeData = internal.ResumeData

/**
 * The resume data as a string safe to store or send (base64url of its JSON form).
 *
 * @since 0.1.0
 * @category encoding
 */
export const encode = (resumeData: ResumeData): Effect.Effect<string> =>
  Effect.map(
    Schema.encode(ResumeData)(resumeData).pipe(Effect.orDie),
    (encoded) => Encoding.encodeBase64Url(JSON.stringify(encoded))
  )

/**
 * Resume data from a string made by {@link encode}. Untrusted input is validated: anything
 * that is not the JSON of resume data {@link validate} accepts fails with
 * `CannotDecodeRawData` and says why; no input makes it die.
 *
 * @since 0.1.0
 * @category encoding
 */
export const decode = (encoded: string): Effect.Effect<ResumeData, URLError.URLError> =>
  Effect.suspend(() => {
    if (encoded.length > maximumEncodedLength) {
      return Effect.fail(invalid(`is longer than ${maximumEncodedLength} characters`))
    }
    const text = Encoding.decodeBase64UrlString(encoded)
    if (Either.isLeft(text)) return Effect.fail(invalid("is not base64url", text.left))
    let json: unknown
    try {
      json = JSON.parse(text.right)
    } catch (cause) {
      return Effect.fail(invalid("is not JSON", cause))
    }
    return validate(json)
  })

/**
 * Resume data checked by the rules {@link decode} applies, whatever made the value: one read
 * back with `JSON.parse` or built by hand type-checks as `ResumeData` without having been
 * checked. Anything that is not resume data of this version, with an http(s) URL, a byte
 * count that is a non-negative safe integer and a partial file named by a session, fails with
 * `CannotDecodeRawData` and says why. The session checks every resume data it is given so.
 *
 * @since 0.1.0
 * @category encoding
 */
export const validate = (input: unknown): Effect.Effect<ResumeData, URLError.URLError> =>
  Effect.suspend(() => {
    let fields: unknown
    try {
      fields = plainCopy(input, maximumDepth)
    } catch (cause) {
      return Effect.fail(
        cause === tooDeep ? invalid(`is nested deeper than ${maximumDepth} levels`) : invalid("cannot be read", cause)
      )
    }
    return Schema.decodeUnknown(ResumeData)(fields, { onExcessProperty: "error" }).pipe(
      Effect.mapError((error) => invalid(schemaComplaint(error), error))
    )
  })

// Resume data is two URLs, the request's header fields and a few short values; servers refuse
// header sections past a few tens of KiB. A bound far above that refuses only what was never
// resume data, before any work in proportion to its size.
const maximumEncodedLength = 2 ** 20

// An object whose deepest field (`headers`) is an object of strings. Deeper values are refused
// before anything walks them: Schema's checks, the formatting of its complaint and whoever
// prints the error's cause recurse once per level, and thousands of levels fit in a few KiB of
// JSON (`JSON.parse` itself does not recurse).
const maximumDepth = 2

const tooDeep = new Error("nested too deep")

/**
 * `value` as plain data, read once: its own string-keyed fields (an instance also holds,
 * under a symbol, the hash Effect caches once it has compared it), copied level by level.
 * Getters and proxies run here and nowhere later; past `limit` levels it throws `tooDeep`.
 */
const plainCopy = (value: unknown, limit: number): unknown => {
  if (typeof value !== "object" || value === null) return value
  if (limit === 0) throw tooDeep
  if (Array.isArray(value)) return Array.from(value, (item) => plainCopy(item, limit - 1))
  return Object.fromEntries(Object.entries(value).map(([key, field]) => [key, plainCopy(field, limit - 1)]))
}

// Names the field at fault without repeating the input's values (the ParseError, the cause,
// has them), so the message stays short and plain whatever the input holds.
const schemaComplaint = (error: ParseResult.ParseError): string => {
  const issue = ParseResult.ArrayFormatter.formatErrorSync(error)[0]
  if (issue === undefined || issue.path.length === 0) return "is not an object of resume data's fields"
  const field = issue.path.map((key) => fieldName(String(key))).join(".")
  switch (issue._tag) {
    case "Missing":
      return `has no field ${field}`
    case "Unexpected":
      return `has an unknown field ${field}`
    default:
      return `has an invalid ${field}`
  }
}

const fieldName = (key: string): string =>
  /^[A-Za-z]{1,40}$/.test(key) ? key : JSON.stringify(key.length > 40 ? `${key.slice(0, 40)}…` : key)

const invalid = (complaint: string, cause?: unknown) =>
  URLError.make("CannotDecodeRawData", { message: `the resume data ${complaint}`, cause })
