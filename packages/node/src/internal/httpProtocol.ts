import * as Effect from "effect/Effect"
import * as Option from "effect/Option"
import type { URLProtocol } from "@urlsession/core/URLProtocol"
import * as URLResponse from "@urlsession/core/URLResponse"
import type { Dispatcher } from "undici"
import * as URLError from "@urlsession/core/URLError"
import type { URLSessionConfiguration } from "@urlsession/core/URLSessionConfiguration"
import * as URLRequest from "@urlsession/core/URLRequest"
import type { Connector } from "./connector.js"
import * as ContentDecoding from "./contentDecoding.js"
import { toURLError } from "./nodeErrors.js"
import * as ReadableBody from "./readableBody.js"

/**
 * `http:` and `https:` over an undici dispatcher (the session's `Agent`).
 *
 * The body is read only when the task pulls, so a consumer that stops pulling leaves
 * undici's buffer full and undici stops reading the socket. Closing the task's scope destroys the body, which aborts the request.
 */
export const make = (
  dispatcher: Dispatcher,
  connector: Connector,
  configuration: URLSessionConfiguration
): URLProtocol => ({
  canInit: (url) => url.protocol === "http:" || url.protocol === "https:",
  startLoading: (request, url) =>
    Effect.gen(function*() {
      const failure = (error: unknown) => toURLError(connector.alertBehind(error) ?? error, request.url)
      // A length mismatch found before the head is delivered is a complete message that
      // contradicts its own Content-Length (or carries several); during the body it is a
      // connection that closed too early.
      const headFailure = (error: unknown) =>
        (error as { readonly code?: unknown } | null)?.code === "UND_ERR_RES_CONTENT_LENGTH_MISMATCH"
          ? URLError.make("BadServerResponse", {
            failingURL: request.url,
            message: "The response body contradicts its Content-Length",
            cause: error
          })
          : failure(error)
      const { body, headers, statusCode } = yield* Effect.tryPromise({
        try: (signal) =>
          dispatcher.request({
            origin: url.origin,
            path: `${url.pathname}${url.search}`,
            method: request.method as Dispatcher.HttpMethod,
            headers: withAcceptEncoding(request),
            body: Option.getOrNull(request.body),
            signal
          }),
        catch: headFailure
      })
      yield* Effect.addFinalizer(() =>
        Effect.sync(() => {
          if (!body.readableEnded) body.destroy()
        })
      )
      const response = URLResponse.fromHTTPHead({ url: url.href, statusCode, headers })
      const codings = ContentDecoding.parseContentEncoding(response.headers["content-encoding"])
      if (codings === undefined || codings.length === 0) {
        return { response, body: ReadableBody.fromReadable(body, failure) }
      }
      const decoded = yield* ContentDecoding.decode(body, codings, configuration.maximumDecodedContentLength)
      yield* Effect.addFinalizer(() => Effect.sync(() => decoded.body.destroy()))
      return {
        response,
        body: ReadableBody.fromReadable(decoded.body, (error) =>
          error instanceof ContentDecoding.DecodedSizeExceeded
            ? URLError.make("DataLengthExceedsMaximum", { failingURL: request.url, message: error.message })
            : decoded.isConnectionError(error)
            ? failure(error)
            : URLError.make("CannotDecodeContentData", {
              failingURL: request.url,
              message: `The ${codings.join(", ")} body could not be decoded`,
              cause: error
            }))
      }
    })
})

// The session decodes every coding it advertises, so it advertises them all unless the
// caller chose otherwise.
const withAcceptEncoding = (request: URLRequest.URLRequest) =>
  Option.isSome(URLRequest.header(request, "Accept-Encoding"))
    ? request.headers
    : { ...request.headers, "Accept-Encoding": ContentDecoding.acceptEncoding }
