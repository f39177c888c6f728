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
 * fails where undici finishes it.
 */
export const finishParsingBeforeClose = (socket: Socket): void => {
  socket.prependListener("end", () => drain(socket))
  // A reset destroys the socket at once; after that undici can no longer resume its parser.
  const destroy = socket.destroy
  socket.destroy = function(this: Socket, error?: Error) {
    if ((error as { readonly code?: unknown } | undefined)?.code === "ECONNRESET") drain(this)
    return destroy.call(this, error)
  }
}

interface PausedParser {
  readonly paused: boolean
  readonly resume: () => void
}

// The parser is undici's (`socket[kParser]`, a symbol it does not export); its `paused` and
// `resume()` are what undici itself calls. The tests of a slow body and a closing peer guard
// the shape against an upgrade.
let parserKey: symbol | undefined

const parserOf = (socket: Socket): PausedParser | undefined => {
  parserKey ??= Object.getOwnPropertySymbols(socket).find((key) => key.description === "parser")
  if (parserKey === undefined) return undefined
  const parser = (socket as unknown as Record<symbol, Partial<PausedParser> | null | undefined>)[parserKey]
  return typeof parser?.resume === "function" && typeof parser.paused === "boolean"
    ? (parser as PausedParser)
    : undefined
}

// Each resume parses what the socket holds until the body's buffer is full again: resumed
// until the parser has all of it, or the message completes and undici closes the socket.
const drain = (socket: Socket) => {
  for (let parser = parserOf(socket); parser?.paused === true && !socket.destroyed;) {
    const before = socket.readableLength
    parser.resume()
    if (parser.paused && socket.readableLength >= before) return
  }
}
