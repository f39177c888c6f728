/**
 * Decoding a body as text by its response's charset: the one place that picks the decoder,
 * for the HttpClient layer's `text` and for `DataResult.text`.
 */
import * as Either from "effect/Either"
import * as Option from "effect/Option"
import type { URLResponse } from "../URLResponse.js"

/**
 * Why a body could not be read as text: its charset is one the platform does not know, or
 * its bytes are not valid in that charset.
 */
export interface TextDecodeFailure {
  readonly reason: "UnknownCharset" | "MalformedText"
  readonly charset: string
  readonly cause: unknown
}

/**
 * The charset a body is read by: the response's `textEncodingName`, else UTF-8 (the
 * default of JSON, of HTML5 and of the web's decoders).
 */
export const charsetOf = (response: URLResponse): string => Option.getOrElse(response.textEncodingName, () => "utf-8")

/**
 * Decodes `bytes` by the response's charset.
 *
 * `strict` fails on an unknown charset and on malformed bytes. Lenient decoding does as
 * the web's decoders do: an unknown charset falls back to UTF-8 and malformed bytes become
 * U+FFFD, so it never fails; it is what `HttpClientResponse.text` promises.
 */
export const decodeText = (
  response: URLResponse,
  bytes: Uint8Array,
  mode: "strict" | "lenient"
): Either.Either<string, TextDecodeFailure> => {
  const charset = charsetOf(response)
  const fatal = mode === "strict"
  const known = makeDecoder(charset, fatal)
  if (Either.isLeft(known) && fatal) return Either.left({ reason: "UnknownCharset", charset, cause: known.left })
  const decoder = Either.getOrElse(known, () => new TextDecoder("utf-8"))
  try {
    return Either.right(decoder.decode(bytes))
  } catch (cause) {
    return Either.left({ reason: "MalformedText", charset, cause })
  }
}

// `new TextDecoder` throws a RangeError for a label the WHATWG Encoding Standard does not know.
const makeDecoder = (charset: string, fatal: boolean) => {
  try {
    return Either.right(new TextDecoder(charset, { fatal }))
  } catch (cause) {
    return Either.left(cause)
  }
}
