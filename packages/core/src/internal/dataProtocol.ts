import * as Effect from "effect/Effect"
import * as Either from "effect/Either"
import * as Encoding from "effect/Encoding"
import * as Option from "effect/Option"
import * as URLError from "../URLError.js"
import type { URLProtocol } from "../URLProtocol.js"
import { URLResponse } from "../URLResponse.js"
import { chunkPull } from "./bodyPull.js"

/**
 * `data:` URLs (RFC 2397): `data:[<media type>][;base64],<data>`. The media type defaults to
 * `text/plain;charset=US-ASCII`; the data is percent-decoded, then base64-decoded when marked.
 */
export const dataProtocol: URLProtocol = {
  canInit: (url) => url.protocol === "data:",
  startLoading: (request, url) =>
    Effect.suspend(() => {
      const parsed = parseDataURL(url)
      if (parsed === undefined) {
        return Effect.fail(URLError.make("BadURL", { failingURL: request.url, message: "the data: URL is malformed" }))
      }
      return Effect.succeed({
        response: new URLResponse({
          url: request.url,
          mimeType: Option.some(parsed.mimeType),
          textEncodingName: parsed.charset,
          expectedContentLength: parsed.data.byteLength,
          suggestedFilename: "Unknown"
        }),
        pull: chunkPull(parsed.data.byteLength === 0 ? [] : [parsed.data])
      })
    })
}

interface ParsedDataURL {
  readonly mimeType: string
  readonly charset: Option.Option<string>
  readonly data: Uint8Array
}

const parseDataURL = (url: URL): ParsedDataURL | undefined => {
  const content = url.href.slice("data:".length).replace(/#.*$/s, "")
  const comma = content.indexOf(",")
  if (comma < 0) return undefined
  const header = decodeURIComponentSafe(content.slice(0, comma))
  if (header === undefined) return undefined
  const parameters = header.split(";").map((part) => part.trim())
  const isBase64 = parameters.length > 1 && parameters.at(-1)!.toLowerCase() === "base64"
  if (isBase64) parameters.pop()
  const [type = "", ...rest] = parameters
  if (type !== "" && !/^[\w!#$&^.+-]+\/[\w!#$&^.+-]+$/.test(type)) return undefined
  const charset = rest
    .map((parameter) => parameter.match(/^charset="?([^"]+)"?$/i)?.[1])
    .find((value) => value !== undefined) ?? (type === "" ? "US-ASCII" : undefined)
  const bytes = percentDecode(content.slice(comma + 1))
  if (bytes === undefined) return undefined
  const data = isBase64 ? decodeBase64(bytes) : bytes
  if (data === undefined) return undefined
  return {
    mimeType: type === "" ? "text/plain" : type.toLowerCase(),
    charset: Option.fromNullable(charset?.toLowerCase()),
    data
  }
}

// "Forgiving base64" (WHATWG): whitespace is ignored and the final padding may be left out.
const decodeBase64 = (bytes: Uint8Array): Uint8Array | undefined => {
  const text = new TextDecoder().decode(bytes).replace(/\s/g, "")
  if (text.length % 4 === 1) return undefined
  const decoded = Encoding.decodeBase64(text.padEnd(Math.ceil(text.length / 4) * 4, "="))
  return Either.isRight(decoded) ? decoded.right : undefined
}

const decodeURIComponentSafe = (text: string): string | undefined => {
  try {
    return decodeURIComponent(text)
  } catch {
    return undefined
  }
}

// Percent-decoding to bytes: `%FF` is the byte 0xFF, not a UTF-8 sequence.
const percentDecode = (text: string): Uint8Array | undefined => {
  const encoder = new TextEncoder()
  const bytes: Array<number> = []
  for (let i = 0; i < text.length; i++) {
    const char = text[i]!
    if (char === "%") {
      const hex = text.slice(i + 1, i + 3)
      if (!/^[0-9a-fA-F]{2}$/.test(hex)) return undefined
      bytes.push(parseInt(hex, 16))
      i += 2
    } else {
      const code = text.codePointAt(i)!
      if (code > 0xffff) i++
      for (const byte of encoder.encode(String.fromCodePoint(code))) bytes.push(byte)
    }
  }
  return Uint8Array.from(bytes)
}
