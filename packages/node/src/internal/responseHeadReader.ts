import * as diagnosticsChannel from "node:diagnostics_channel"
import type { Socket } from "node:net"

/**
 * What undici's HTTP/1 parser reads of a response head, filtered on the socket.
 *
 * Each socket's `read()` is wrapped, so that between a request going out and the end of its
 * final response head the bytes pass through here first:
 * - interim responses (1xx other than 101) are read and dropped whole, as RFC 9110 §15.2
 *   asks of a client that did not ask for them. undici fails the request on an unsolicited
 *   `100 Continue`; and none of them counts as activity, so a server that sends only 1xx
 *   heads times out.
 * - a status code the grammar forbids (below 100) fails the connection with
 *   `InvalidResponseHead`, where undici would trip an internal assertion.
 * - every byte of the final head, from its status code on, is reported to the task that sent
 *   the request (its `HeadListener`), so a head that trickles in keeps the idle timer armed
 *   as body bytes do.
 * Bodies pass through untouched: the filter steps aside at the end of the final head.
 */

/**
 * A response head no HTTP/1 parser should accept: a status code outside 100–999, or an
 * interim head larger than a final head may be.
 */
export class InvalidResponseHead extends Error {
  readonly code = invalidHeadCode
}

/** The `code` of an `InvalidResponseHead`, for the error mapping. */
export const invalidHeadCode = "ERR_URLSESSION_INVALID_RESPONSE_HEAD"

/**
 * Wraps `socket`'s `read()` with the filter. The socket must come from the session's
 * connector, before undici reads from it.
 */
export const watch = (socket: Socket): void => {
  // The 1xx filter needs the channels even for a request made without a listener.
  subscribeOnce()
  const reader = new HeadReader(socket)
  readers.set(socket, reader)
  const read = socket.read
  socket.read = function(this: Socket, size?: number) {
    // undici reads whole buffers (`read()`); `read(0)` and sized reads are the stream's own.
    if (size !== undefined || reader.phase === "body") return read.call(this, size)
    for (;;) {
      const chunk: Buffer | null = read.call(this)
      if (chunk === null) return null
      const passed = reader.take(chunk)
      if (passed !== undefined) return passed
    }
  }
}

/**
 * What a request passes to undici as its `opaque` so that the bytes of its final response
 * head are reported to `onHeadBytes`, whenever undici makes the request (at once, or later
 * from its pool's queue when every connection is busy).
 */
export class HeadListener {
  constructor(readonly onHeadBytes: (bytes: number) => void) {
    subscribeOnce()
  }
}

const readers = new WeakMap<Socket, HeadReader>()

// undici publishes each request it creates, and the socket each request's head goes out
// on: together they hand a task's listener (the request's `opaque`, kept by undici's request
// handler) to the socket that will carry its response.
const headListeners = new WeakMap<object, HeadListener>()
let subscribed = false

const subscribeOnce = () => {
  if (subscribed) return
  subscribed = true
  diagnosticsChannel.subscribe("undici:request:create", (message) => {
    const { request } = message as { readonly request: object }
    const opaque = handlerOf(request)?.opaque
    if (opaque instanceof HeadListener) headListeners.set(request, opaque)
  })
  diagnosticsChannel.subscribe("undici:client:sendHeaders", (message) => {
    const { request, socket } = message as { readonly request: object; readonly socket: Socket }
    readers.get(socket)?.expectResponse(headListeners.get(request)?.onHeadBytes)
  })
}

// The handler is undici's (`request[kHandler]`, a symbol it does not export): for
// `dispatcher.request` it is the request handler that keeps `opaque`. The trickled-head
// tests guard the shape against an upgrade.
let handlerKey: symbol | undefined

const handlerOf = (request: object): { readonly opaque?: unknown } | undefined => {
  handlerKey ??= Object.getOwnPropertySymbols(request).find((key) => key.description === "handler")
  return handlerKey === undefined ? undefined : (request as Record<symbol, { readonly opaque?: unknown }>)[handlerKey]
}

// undici's own limit for a final head: an interim head is held to it too.
const interimHeadLimit = 16 * 1024

class HeadReader {
  /** `status`: a response is due and its status line not yet read; `interim`: dropping a
   * 1xx head; `final`: passing the final head; `body`: out of the way until the next request. */
  phase: "status" | "interim" | "final" | "body" = "body"
  private held: Buffer | undefined
  private onHeadBytes: ((bytes: number) => void) | undefined
  // Bytes of the current head's line read so far (CR aside): 0 at the start of a line, so a
  // line feed there ends the head.
  private lineLength = 0
  private interimBytes = 0

  constructor(private readonly socket: Socket) {}

  expectResponse(onHeadBytes: ((bytes: number) => void) | undefined) {
    this.phase = "status"
    this.held = undefined
    this.onHeadBytes = onHeadBytes
  }

  /** What of `chunk` (with what was held) goes to the parser now: `undefined` for nothing. */
  take(chunk: Buffer): Buffer | undefined {
    let bytes = this.held === undefined ? chunk : Buffer.concat([this.held, chunk])
    this.held = undefined
    for (;;) {
      switch (this.phase) {
        case "status": {
          // Empty lines before a status line are skipped, as the parser would skip them.
          const start = leadingLineEnds(bytes)
          if (start > 0) {
            bytes = bytes.subarray(start)
            if (bytes.length === 0) return undefined
          }
          const status = statusCodeOf(bytes)
          if (status === "incomplete") {
            this.held = bytes
            return undefined
          }
          if (status === "unknown") {
            // Not a status line we can read: the parser says what is wrong with it.
            this.phase = "body"
            return bytes
          }
          if (status === "invalid" || status < 100) {
            return this.fail("The response's status code is not between 100 and 999")
          }
          this.phase = status < 200 && status !== 101 ? "interim" : "final"
          this.lineLength = 1
          this.interimBytes = 0
          break
        }
        case "interim": {
          const end = this.headEnd(bytes)
          if (end === -1) {
            this.interimBytes += bytes.length
            if (this.interimBytes > interimHeadLimit) return this.fail("An interim (1xx) response head is too large")
            return undefined
          }
          bytes = bytes.subarray(end)
          this.phase = "status"
          if (bytes.length === 0) return undefined
          break
        }
        case "final": {
          const end = this.headEnd(bytes)
          if (end !== -1) this.phase = "body"
          this.onHeadBytes?.(end === -1 ? bytes.length : end)
          return bytes
        }
        case "body":
          return bytes
      }
    }
  }

  /** Where the head ends in `bytes` (the index after its empty line), or -1. */
  private headEnd(bytes: Buffer): number {
    for (let index = 0; index < bytes.length; index++) {
      const byte = bytes[index]!
      if (byte === lineFeed) {
        if (this.lineLength === 0) return index + 1
        this.lineLength = 0
      } else if (byte !== carriageReturn) {
        this.lineLength++
      }
    }
    return -1
  }

  private fail(message: string): undefined {
    this.phase = "body"
    this.socket.destroy(new InvalidResponseHead(message))
    return undefined
  }
}

const lineFeed = 0x0a
const carriageReturn = 0x0d

const leadingLineEnds = (bytes: Buffer): number => {
  let index = 0
  while (index < bytes.length && (bytes[index] === lineFeed || bytes[index] === carriageReturn)) index++
  return index
}

/**
 * The status code at the start of `bytes`: a number (`invalid` unless it has three digits),
 * `incomplete` while more bytes could make one, `unknown` when this is no status line we read.
 */
const statusCodeOf = (bytes: Buffer): number | "invalid" | "incomplete" | "unknown" => {
  const start = bytes.toString("latin1", 0, statusLinePrefix.length + 4)
  for (let index = 0; index < statusLinePrefix.length; index++) {
    if (index === start.length) return "incomplete"
    const expected = statusLinePrefix[index]!
    if (expected === "#" ? !isDigit(start[index]!) : start[index] !== expected) return "unknown"
  }
  const digits = /^\d*/.exec(start.slice(statusLinePrefix.length))![0]
  if (digits.length > 3) return "invalid"
  if (statusLinePrefix.length + digits.length === start.length) return "incomplete"
  if (digits.length === 0) return "unknown"
  return digits.length === 3 ? Number(digits) : "invalid"
}

const statusLinePrefix = "HTTP/#.# "

const isDigit = (char: string) => char >= "0" && char <= "9"
