import * as Effect from "effect/Effect"
import type { Readable } from "node:stream"
import { pipeline, Transform } from "node:stream"
import * as zlib from "node:zlib"

/** What the session asks servers for: every coding it can decode. */
export const acceptEncoding = "gzip, deflate, br"

type Coding = "gzip" | "deflate" | "br"

const codingNames: Readonly<Record<string, Coding>> = { gzip: "gzip", "x-gzip": "gzip", deflate: "deflate", br: "br" }

/**
 * The codings of a `Content-Encoding` value in the order they were applied, or `undefined`
 * when one of them is unknown (the body is then delivered as it came, still encoded).
 */
export const parseContentEncoding = (value: string | undefined): ReadonlyArray<Coding> | undefined => {
  if (value === undefined) return []
  const codings: Array<Coding> = []
  for (const token of value.split(",")) {
    const name = token.trim().toLowerCase()
    if (name === "" || name === "identity") continue
    const coding = codingNames[name]
    if (coding === undefined) return undefined
    codings.push(coding)
  }
  return codings
}

/** A decoded body, and how to tell its connection's failures from its decoders'. */
export interface Decoded {
  readonly body: Readable
  /** Did this error come from the connection (and not from a decoder)? */
  readonly isConnectionError: (error: unknown) => boolean
}

/**
 * `body` decoded through each coding in reverse order of application, and stopped with a
 * `DecodedSizeExceeded` error past `maximumLength` decoded bytes (a decompression bomb guard).
 */
export const decode = (
  body: Readable,
  codings: ReadonlyArray<Coding>,
  maximumLength: number
): Effect.Effect<Decoded> =>
  Effect.map(codings.at(-1) === "deflate" ? firstChunk(body) : Effect.succeed(undefined), (first) => {
    const connectionErrors = new WeakSet<object>()
    body.on("error", (error: Error) => connectionErrors.add(error))
    // Only the outermost coding's first bytes are on the wire to look at.
    const decoders = [...codings].reverse().map((coding, index) => decoderFor(coding, index === 0 ? first : undefined))
    const limit = sizeLimit(maximumLength)
    pipeline([body, ...decoders, limit], ignore)
    return {
      body: limit,
      isConnectionError: (error) => typeof error === "object" && error !== null && connectionErrors.has(error)
    }
  })

const ignore = () => {}

/** Raised when a decoded body grows past the configured maximum. */
export class DecodedSizeExceeded extends Error {
  constructor(readonly maximumLength: number) {
    super(`The decoded body is longer than ${maximumLength} bytes`)
  }
}

const sizeLimit = (maximumLength: number) => {
  let length = 0
  return new Transform({
    transform(chunk: Buffer, _encoding, callback) {
      length += chunk.length
      if (length > maximumLength) callback(new DecodedSizeExceeded(maximumLength))
      else callback(null, chunk)
    }
  })
}

// RFC 9110 says "deflate" is zlib-wrapped (RFC 1950), but some servers send raw deflate
// (RFC 1951); a zlib stream starts with a header whose first 16 bits are a multiple of 31.
const decoderFor = (coding: Coding, first: Buffer | undefined): Transform => {
  switch (coding) {
    case "gzip":
      // A gzip stream cut before its trailer fails ("unexpected end of file"): a truncated
      // body is never delivered as if it were complete.
      return zlib.createGunzip()
    case "br":
      return zlib.createBrotliDecompress()
    case "deflate":
      return first === undefined || isZlibHeader(first) ? zlib.createInflate() : zlib.createInflateRaw()
  }
}

const isZlibHeader = (bytes: Buffer): boolean =>
  bytes.length >= 2 && (bytes[0]! & 0x0f) === 8 && ((bytes[0]! << 8) | bytes[1]!) % 31 === 0

/** Reads the first bytes of `body` and puts them back, to look at them. */
const firstChunk = (body: Readable): Effect.Effect<Buffer | undefined> =>
  Effect.async<Buffer | undefined>((resume) => {
    const look = () => {
      const chunk: Buffer | null = body.read()
      if (chunk === null && !body.readableEnded && body.errored === null) return false
      body.off("readable", onReadable)
      body.off("end", onEnd)
      if (chunk !== null) body.unshift(chunk)
      resume(Effect.succeed(chunk ?? undefined))
      return true
    }
    const onReadable = () => void look()
    const onEnd = () => void look()
    if (look()) return
    body.on("readable", onReadable)
    body.once("end", onEnd)
    return Effect.sync(() => {
      body.off("readable", onReadable)
      body.off("end", onEnd)
    })
  })
