/**
 * The shape of resume data, as a Schema class. It sits apart from `ResumeData.ts`, whose
 * `decode` and `validate` fail with a `URLError`, because a `URLError` carries resume data:
 * both public modules import this one, and neither imports the other's way back.
 */
import * as Schema from "effect/Schema"
import * as EntityTag from "./entityTag.js"

/** The format this version writes and reads. */
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

// Sent as If-Range, which takes no weak entity tag.
const StrongEntityTag = Schema.String.pipe(Schema.filter((tag) => EntityTag.isStrong(tag) || "a strong entity tag"))

/** What a download needs to go on where it stopped. */
export class ResumeData extends Schema.Class<ResumeData>("@urlsession/core/ResumeData")({
  version: Schema.Literal(version),
  /** The URL the download was asked for. */
  originalURL: Schema.String,
  /** The URL the partial body came from (after redirects): where the download goes on. */
  url: HTTPURL,
  /** The request's own header fields, sent again. */
  headers: Schema.Record({ key: Schema.String, value: Schema.String }),
  /**
   * The validators of the partial body: the server must still have the same resource. The
   * ETag is a strong one, sent as `If-Range` before the date.
   */
  etag: Schema.optional(StrongEntityTag),
  lastModified: Schema.optional(Schema.String),
  /** Bytes already in the partial file. */
  bytesReceived: Schema.Int.pipe(Schema.nonNegative()),
  /** The whole resource's length, or -1 when unknown. */
  expectedLength: Schema.Int.pipe(Schema.greaterThanOrEqualTo(-1)),
  /** The partial file's name in the session's directory. */
  partialFile: PartialFileName
}) {}
