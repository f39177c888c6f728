import type { Socket } from "node:net"

/**
 * Lets undici's HTTP/1 parser read what the peer sent before it hears that the peer closed.
 *
 * undici pauses its parser while the response body's buffer is full (a slow consumer, a
 * decoder slower than the wire) and puts the unparsed rest back on the socket. If the peer
 * then closes (a FIN, or a reset after a `Connection: close` response), undici finishes the
 * paused parser: it trips an assertion that crashes the process, or fails a body whose bytes
 * had all arrived. A closed peer sends nothing more, and what it sent is already in memory,
 * so the parser is resumed first: a complete message completes, an incomplete one still
 * fails where undici finishes it. A reset that finds a response still arriving after that is
 * a lost connection (`ResetMidResponse`), never the end of its body.
 */
export const finishParsingBeforeClose = (socket: Socket): void => {
  socket.prependListener("end", () => drain(socket))
  // A reset destroys the socket at once; after that undici can no longer resume its parser.
  const destroy = socket.destroy
  socket.destroy = function(this: Socket, error?: Error) {
    if ((error as { readonly code?: unknown } | undefined)?.code !== "ECONNRESET") return destroy.call(this, error)
    drain(this)
    return destroy.call(this, parserOf(this)?.statusCode ? new ResetMidResponse(error!) : error)
  }
}

/**
 * A reset while a response was still arriving. undici takes a reset on a connection that is
 * not kept alive as the end of a body that runs to the close (macOS resets after complete
 * bodies); RFC 9112 §8 says such a body is incomplete when the connection reports an error.
 * Every body that could complete has done so when this is raised.
 */
export class ResetMidResponse extends Error {
  readonly code = resetMidResponseCode
  constructor(cause: Error) {
    super("the connection was reset before the response ended", { cause })
  }
}

/** The `code` of a `ResetMidResponse`, for the error mapping. */
export const resetMidResponseCode = "ERR_URLSESSION_RESET_MID_RESPONSE"

interface PausedParser {
  readonly paused: boolean
  readonly resume: () => void
  /** The status of the response being parsed; 0 between responses. */
  readonly statusCode: number
}

// The parser is undici's (`socket[kParser]`, a symbol it does not export); its `paused`,
// `statusCode` and `resume()` are what undici itself reads and calls. The tests of a slow body and a closing peer guard
// the shape against an upgrade.
let parserKey: symbol | undefined

const parserOf = (socket: Socket): PausedParser | undefined => {
  parserKey ??= Object.getOwnPropertySymbols(socket).find((key) => key.description === "parser")
  if (parserKey === undefined) return undefined
  const parser = (socket as unknown as Record<symbol, Partial<PausedParser> | null | undefined>)[parserKey]
  return typeof parser?.resume === "function" && typeof parser.paused === "boolean" &&
      typeof parser.statusCode === "number"
    ? (parser as PausedParser)
    : undefined
}

// Each resume parses what the socket holds until the body's buffer is full again: resumed
// until the parser has all of it, or the message completes and undici closes the socket.
const drain = (socket: Socket): void => {
  for (let parser = parserOf(socket); parser?.paused === true && !socket.destroyed;) {
    const before = socket.readableLength
    parser.resume()
    if (parser.paused && socket.readableLength >= before) return
  }
}
