import * as Option from "effect/Option"
import { parseContentLength } from "./headerFields.js"

/** What a response head says about its body: derived as Apple derives it. */

export const normalizeHeaders = (
  raw: Readonly<Record<string, string | ReadonlyArray<string> | undefined>>
): Record<string, string> => {
  const headers: Record<string, string> = {}
  for (const name in raw) {
    const value = raw[name]
    if (value === undefined) continue
    const key = name.toLowerCase()
    const joined = typeof value === "string" ? value : value.join(", ")
    headers[key] = headers[key] === undefined ? joined : `${headers[key]}, ${joined}`
  }
  return headers
}

export const parseContentType = (
  value: string | undefined
): { readonly mimeType: Option.Option<string>; readonly charset: Option.Option<string> } => {
  if (value === undefined) return { mimeType: Option.none(), charset: Option.none() }
  const [type, ...parameters] = value.split(";")
  const mimeType = type!.trim().toLowerCase()
  const charset = parameters
    .map((parameter) => parameter.trim().match(/^charset\s*=\s*"?([^";]+)"?$/i)?.[1])
    .find((match) => match !== undefined)
  return {
    mimeType: mimeType === "" ? Option.none() : Option.some(mimeType),
    charset: Option.fromNullable(charset?.toLowerCase())
  }
}

// A length is only "expected" when the bytes delivered will match it: an encoded body is
// decoded before delivery, so its Content-Length says nothing about what the caller gets.
export const expectedContentLength = (headers: Readonly<Record<string, string>>): number => {
  if (isEncoded(headers["content-encoding"])) return -1
  const length = headers["content-length"]
  return (length === undefined ? undefined : parseContentLength(length)) ?? -1
}

/** Does a `Content-Encoding` value say the body is encoded (any coding but `identity`)? */
export const isEncoded = (contentEncoding: string | undefined): boolean =>
  contentEncoding !== undefined && contentEncoding.trim().toLowerCase() !== "identity"

export const suggestedFilename = (url: string, contentDisposition: string | undefined): string =>
  sanitizeFilename(filenameFromContentDisposition(contentDisposition)) ??
    sanitizeFilename(lastPathSegment(url)) ??
    "Unknown"

// RFC 6266: `filename*` (RFC 8187 encoded) wins over `filename`.
const filenameFromContentDisposition = (value: string | undefined): string | undefined => {
  if (value === undefined) return undefined
  const extended = value.match(/filename\*\s*=\s*([^']*)'[^']*'([^;]+)/i)
  if (extended !== null) {
    try {
      return decodeURIComponent(extended[2]!.trim())
    } catch {
      // fall through to the plain parameter
    }
  }
  const quoted = value.match(/filename\s*=\s*"((?:[^"\\]|\\.)*)"/i)
  if (quoted !== null) return quoted[1]!.replace(/\\(.)/g, "$1")
  return value.match(/filename\s*=\s*([^;\s]+)/i)?.[1]
}

const lastPathSegment = (url: string): string | undefined => {
  try {
    const segment = new URL(url).pathname.split("/").pop()
    return segment === undefined ? undefined : decodeURIComponent(segment)
  } catch {
    return undefined
  }
}

// A suggested name is used as a file name: never let it name a directory or another path.
const sanitizeFilename = (name: string | undefined): string | undefined => {
  if (name === undefined) return undefined
  const base = name.split(/[/\\]/).pop()!.replace(/[\u0000-\u001f]/g, "").trim()
  return base === "" || base === "." || base === ".." ? undefined : base
}
