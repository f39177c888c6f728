import * as URLError from "@urlsession/core/URLError"
import type { Client, URLProtocol } from "@urlsession/core/URLProtocol"
import * as URLRequest from "@urlsession/core/URLRequest"
import * as URLResponse from "@urlsession/core/URLResponse"
import type { URLSessionConfiguration } from "@urlsession/core/URLSessionConfiguration"
import * as Effect from "effect/Effect"
import * as Option from "effect/Option"
import * as Scope from "effect/Scope"
import * as Stream from "effect/Stream"
import { EventEmitter } from "node:events"
import type { Readable } from "node:stream"
import type { Dispatcher } from "undici"
import * as BodyStream from "./bodyStream.js"
import type { Connector } from "./connector.js"
import * as ContentDecoding from "./contentDecoding.js"
import { toURLError } from "./nodeErrors.js"
import * as ReadableBody from "./readableBody.js"
import * as ResponseHeadReader from "./responseHeadReader.js"

/**
 * `http:` and `https:` over an undici dispatcher (the session's `Agent`, or the user's own;
 * `alertBehind` finds the TLS alerts the session's connector remembered, if it made the
 * connections).
 *
 * The body is read only when the task pulls, so a consumer that stops pulling leaves
 * undici's buffer full and undici stops reading the socket. Closing the task's scope destroys the body, which aborts the request.
 */
export const make = (
  dispatcher: Dispatcher,
  connector: Pick<Connector, "alertBehind">,
  configuration: URLSessionConfiguration
): URLProtocol => ({
  canInit: (url) => url.protocol === "http:" || url.protocol === "https:",
  // The session decodes every coding it advertises, so it advertises them all.
  acceptEncoding: ContentDecoding.acceptEncoding,
  startLoading: (request, url, client) =>
    Effect.gen(function*() {
      const failure = (error: unknown) => toURLError(connector.alertBehind(error) ?? error, request.url)
      // A length mismatch found before the head is delivered is a complete message that
      // contradicts its own Content-Length (or carries several); during the body it is a
      // connection that closed too early.
      const headFailure = (error: unknown) =>
        (error as { readonly code?: unknown } | null)?.code === "UND_ERR_RES_CONTENT_LENGTH_MISMATCH"
          ? URLError.make("BadServerResponse", {
            failingURL: request.url,
            message: "the response body contradicts its Content-Length",
            cause: error
          })
          : failure(error)
      const sent = yield* requestBody(request, client)
      // Interruption must reach a request still waiting for its head (the signal aborts it),
      // and a head that arrives as the task is interrupted must not leak its connection.
      const { body, headers, statusCode } = yield* Effect.uninterruptibleMask((restore) =>
        restore(Effect.async<Dispatcher.ResponseData<ResponseHeadReader.HeadListener>, URLError.URLError>((resume) => {
          const signal = new Abort()
          dispatcher.request({
            origin: url.origin,
            path: `${url.pathname}${url.search}`,
            method: request.method as Dispatcher.HttpMethod,
            headers: request.headers,
            body: sent,
            // Each pull takes what is buffered: large buffers mean few pulls (and writes) per
            // megabyte, and keep the socket read while a chunk is being written to disk.
            highWaterMark: bodyBufferSize,
            signal,
            opaque: new ResponseHeadReader.HeadListener(client.didReceiveHeadData)
          }).then(
            (data) => {
              if (signal.aborted) data.body.destroy()
              else resume(Effect.succeed(data))
            },
            (error) => resume(Effect.fail(headFailure(error)))
          )
          return Effect.sync(() => signal.abort())
        })).pipe(
          // `Scope.addFinalizer` rather than `Effect.addFinalizer`: destroying a body needs
          // none of the fiber's state, so none is saved for it (saving it is much of a small
          // GET's cost: test/bench/README.md).
          Effect.tap(({ body }) =>
            Effect.scopeWith((scope) =>
              Scope.addFinalizer(
                scope,
                Effect.sync(() => {
                  if (!body.readableEnded) body.destroy()
                })
              )
            )
          )
        )
      )
      const response = URLResponse.fromHTTPHead({ url: url.href, statusCode, headers })
      if (hasNoBody(request.method, statusCode, response.headers["content-length"])) {
        return ReadableBody.empty(response, body)
      }
      const codings = ContentDecoding.parseContentEncoding(response.headers["content-encoding"])
      if (codings === undefined || codings.length === 0) {
        return ReadableBody.loading(response, body, failure)
      }
      const decoded = yield* ContentDecoding.decode(body, codings, configuration.maximumDecodedContentLength)
      yield* Effect.addFinalizer(() => Effect.sync(() => decoded.body.destroy()))
      return ReadableBody.loading(response, decoded.body, (error) =>
        error instanceof ContentDecoding.DecodedSizeExceeded
          ? URLError.make("DataLengthExceedsMaximum", {
            failingURL: request.url,
            message: `the decoded body is longer than ${error.maximumLength} bytes`
          })
          : decoded.isConnectionError(error)
          ? failure(error)
          : URLError.make("CannotDecodeContentData", {
            failingURL: request.url,
            message: `its content coding is ${codings.join(", ")}`,
            cause: error
          }))
    })
})

// RFC 9112 §6.3: a response to HEAD, a 204 and a 304 have no body, whatever their
// Content-Length or Content-Encoding say; nor does one that announces zero bytes.
const hasNoBody = (method: string, statusCode: number, contentLength: string | undefined): boolean =>
  method === "HEAD" || statusCode === 204 || statusCode === 304 || contentLength?.trim() === "0"

// A body, bytes or stream, goes to undici as a readable pulled as the socket takes it: each
// piece counts as sent (re-arming the idle timer) only when undici takes it, and nothing is
// taken while the task is suspended.
const requestBody = (
  request: URLRequest.URLRequest,
  client: Client
): Effect.Effect<Readable | null, never, Scope.Scope> => {
  if (Option.isSome(request.body)) {
    const bytes = request.body.value
    return BodyStream.toReadable(Stream.fromIterable(pieces(bytes)), bytes.byteLength, client)
  }
  if (Option.isNone(request.bodyStream)) return Effect.succeed(null)
  return BodyStream.toReadable(
    request.bodyStream.value,
    Option.getOrUndefined(URLRequest.contentLength(request)),
    client
  )
}

/**
 * What undici takes as an abort signal, without an `AbortController`: undici listens to an
 * emitter's `abort` event too, and a controller is a measurable part of a small GET
 * (test/bench/README.md).
 */
class Abort extends EventEmitter {
  aborted = false
  abort() {
    if (this.aborted) return
    this.aborted = true
    this.emit("abort")
  }
}

const sentPieceSize = 64 * 1024

const bodyBufferSize = 256 * 1024

function* pieces(bytes: Uint8Array): Generator<Uint8Array> {
  for (let offset = 0; offset < bytes.byteLength; offset += sentPieceSize) {
    yield bytes.subarray(offset, offset + sentPieceSize)
  }
}
