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
  Effect.map(firstChunk(body), (first): Decoded => {
    // An empty body holds no coded content, whatever its framing: decoders would call the
    // missing stream header corrupt.
    if (first === undefined && body.readableEnded) return { body, isConnectionError: () => true }
    // Only the outermost coding's first bytes are on the wire to look at.
    const decoders = [...codings].reverse().map((coding, index) => decoderFor(coding, index === 0 ? first : undefined))
    const limit = sizeLimit(maximumLength)
    // A failure travels through the whole pipeline (pipeline destroys every stream with it,
    // and undici re-emits it on the body), so what counts is which stream raised it first.
    const origin = new WeakMap<object, "connection" | "decoder">()
    const note = (kind: "connection" | "decoder") => (error: Error) => {
      if (!origin.has(error)) origin.set(error, kind)
    }
    // The connection may have failed already, while the first bytes were awaited.
    const brokeEarly = body.destroyed && !body.readableEnded
    body.on("error", note("connection"))
    for (const stream of [...decoders, limit]) stream.on("error", note("decoder"))
    pipeline([body, ...decoders, limit], ignore)
    return {
      body: limit,
      isConnectionError: (error) =>
        brokeEarly || (typeof error === "object" && error !== null && origin.get(error) === "connection")
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
    const detach = () => {
      body.off("readable", look)
      body.off("end", look)
      body.off("error", look)
      body.off("close", look)
    }
    // Any outcome settles the look: data, the end, or a failure (which the decoded stream
    // then reports, since the body is part of its pipeline).
    function look() {
      const chunk: Buffer | null = body.destroyed ? null : body.read()
      if (chunk === null && !body.readableEnded && !body.destroyed) return false
      detach()
      if (chunk !== null) body.unshift(chunk)
      resume(Effect.succeed(chunk ?? undefined))
      return true
    }
    if (look()) return
    body.on("readable", look)
    body.once("end", look)
    body.once("error", look)
    body.once("close", look)
    return Effect.sync(detach)
  })
