import * as Effect from "effect/Effect"
import * as Option from "effect/Option"
import type { URLProtocol } from "@urlsession/core/URLProtocol"
import * as URLResponse from "@urlsession/core/URLResponse"
import type { Dispatcher } from "undici"
import type { Connector } from "./connector.js"
import { toURLError } from "./nodeErrors.js"
import * as ReadableBody from "./readableBody.js"

/**
 * `http:` and `https:` over an undici dispatcher (the session's `Agent`).
 *
 * The body is read only when the task pulls, so a consumer that stops pulling leaves
 * undici's buffer full and undici stops reading the socket. Closing the task's scope destroys the body, which aborts the request.
 */
export const make = (dispatcher: Dispatcher, connector: Connector): URLProtocol => ({
  canInit: (url) => url.protocol === "http:" || url.protocol === "https:",
  startLoading: (request, url) =>
    Effect.gen(function*() {
      const failure = (error: unknown) => toURLError(connector.alertBehind(error) ?? error, request.url)
      const { body, headers, statusCode } = yield* Effect.tryPromise({
        try: (signal) =>
          dispatcher.request({
            origin: url.origin,
            path: `${url.pathname}${url.search}`,
            method: request.method as Dispatcher.HttpMethod,
            headers: request.headers,
            body: Option.getOrNull(request.body),
            signal
          }),
        catch: failure
      })
      yield* Effect.addFinalizer(() =>
        Effect.sync(() => {
          if (!body.readableEnded) body.destroy()
        })
      )
      return {
        response: URLResponse.fromHTTPHead({ url: url.href, statusCode, headers }),
        body: ReadableBody.fromReadable(body, failure)
      }
    })
})
