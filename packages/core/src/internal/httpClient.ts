import * as Cookies from "@effect/platform/Cookies"
import * as Headers from "@effect/platform/Headers"
import type * as HttpBody from "@effect/platform/HttpBody"
import * as HttpClient from "@effect/platform/HttpClient"
import * as HttpClientError from "@effect/platform/HttpClientError"
import type * as HttpClientRequest from "@effect/platform/HttpClientRequest"
import * as HttpClientResponse from "@effect/platform/HttpClientResponse"
import * as IncomingMessage from "@effect/platform/HttpIncomingMessage"
import * as UrlParams from "@effect/platform/UrlParams"
import * as Chunk from "effect/Chunk"
import * as Effect from "effect/Effect"
import * as Either from "effect/Either"
import * as Exit from "effect/Exit"
import * as Inspectable from "effect/Inspectable"
import * as Option from "effect/Option"
import * as Runtime from "effect/Runtime"
import * as Scope from "effect/Scope"
import * as Stream from "effect/Stream"
import type * as URLError from "../URLError.js"
import * as URLRequest from "../URLRequest.js"
import * as URLResponse from "../URLResponse.js"
import * as URLSession from "../URLSession.js"
import { decodeText } from "./charset.js"
import { concat } from "./session.js"

/**
 * The codes with which a session refuses or stops a request before its response head for a
 * reason sending it again cannot mend (the request itself, its own body, a cancelled task or
 * an invalidated session): `Encode`, which `retryTransient` does not retry.
 */
const refusedRequests: ReadonlySet<URLError.Code> = new Set<URLError.Code>([
  "UnsupportedURL",
  "RequestBodyStreamExhausted",
  "AppTransportSecurityRequiresSecureConnection",
  "Cancelled"
])

/** A `URLError` before the response head, as HttpClient's `RequestError`. */
export const requestError = (
  request: HttpClientRequest.HttpClientRequest,
  error: URLError.URLError
): HttpClientError.RequestError =>
  new HttpClientError.RequestError({
    request,
    reason: error.code === "BadURL" ? "InvalidUrl" : refusedRequests.has(error.code) ? "Encode" : "Transport",
    cause: error,
    description: error.message
  })

const encodeError = (request: HttpClientRequest.HttpClientRequest, description: string, cause?: unknown) =>
  new HttpClientError.RequestError({ request, reason: "Encode", description, cause })

/** The platform's request as ours: method, URL (with its query), header fields and body. */
const toURLRequest = (
  request: HttpClientRequest.HttpClientRequest,
  url: URL
): Effect.Effect<URLRequest.URLRequest, HttpClientError.RequestError> => {
  // The fragment is the client's own: it never goes to the server.
  const withoutFragment = new URL(url)
  withoutFragment.hash = ""
  const head = URLRequest.make(withoutFragment).pipe(
    URLRequest.setMethod(request.method),
    URLRequest.setHeaders(request.headers)
  )
  return withBody(head, request.body, request)
}

const withBody = (
  head: URLRequest.URLRequest,
  body: HttpBody.HttpBody,
  request: HttpClientRequest.HttpClientRequest
): Effect.Effect<URLRequest.URLRequest, HttpClientError.RequestError> => {
  switch (body._tag) {
    case "Empty":
      return Effect.succeed(head)
    case "Uint8Array":
      return Effect.succeed(URLRequest.setBody(head, body.body))
    case "Raw":
      return rawBody(head, body.body, request)
    case "FormData":
      // The platform leaves the multipart encoding (and its boundary) to the transport; the
      // web `Response` does it. Collected, not streamed: a form's parts are in memory already
      // (Blobs), and bytes can be sent again on a 307 or 308 redirect.
      return Effect.tryPromise({
        try: async () => {
          const encoded = new Response(body.formData)
          const bytes = new Uint8Array(await encoded.arrayBuffer())
          return head.pipe(
            URLRequest.setHeader("Content-Type", encoded.headers.get("content-type")!),
            URLRequest.setBody(bytes)
          )
        },
        catch: (cause) => encodeError(request, "the form data could not be encoded", cause)
      })
    case "Stream":
      return Effect.succeed(URLRequest.setBodyStream(head, body.stream))
  }
}

// A raw body is whatever the caller hands the transport: the kinds a URL request can carry.
const rawBody = (
  head: URLRequest.URLRequest,
  raw: unknown,
  request: HttpClientRequest.HttpClientRequest
): Effect.Effect<URLRequest.URLRequest, HttpClientError.RequestError> => {
  if (typeof raw === "string" || raw instanceof Uint8Array) return Effect.succeed(URLRequest.setBody(head, raw))
  if (raw instanceof ArrayBuffer) return Effect.succeed(URLRequest.setBody(head, new Uint8Array(raw)))
  if (ArrayBuffer.isView(raw)) {
    return Effect.succeed(URLRequest.setBody(head, new Uint8Array(raw.buffer, raw.byteOffset, raw.byteLength)))
  }
  if (raw instanceof ReadableStream) {
    return Effect.succeed(
      URLRequest.setBodyStream(head, Stream.fromReadableStream(() => raw as ReadableStream<Uint8Array>, (e) => e))
    )
  }
  return Effect.fail(
    encodeError(request, "a raw body must be a string, bytes or a ReadableStream of bytes", raw)
  )
}

/**
 * An `HttpClient` over a session: each request is a `bytes` load in a scope of its own,
 * closed when the platform aborts the request (interruption, the response's scope, the
 * response collected as garbage unread) or when the body has been read to its end.
 */
export const fromSession = (session: URLSession.URLSession): HttpClient.HttpClient =>
  HttpClient.make((request, url, signal) =>
    Effect.gen(function*() {
      const urlRequest = yield* toURLRequest(request, url)
      const scope = yield* Scope.make()
      const close = Scope.close(scope, Exit.void)
      // The platform says "stop" through an AbortSignal, outside any fiber: the close runs
      // as a fiber of its own, on the runtime of the request.
      const runtime = yield* Effect.runtime<never>()
      const onAbort = () => void Runtime.runFork(runtime)(close)
      if (signal.aborted) {
        yield* close
        return yield* Effect.interrupt
      }
      signal.addEventListener("abort", onAbort, { once: true })
      yield* Scope.addFinalizer(scope, Effect.sync(() => signal.removeEventListener("abort", onAbort)))
      const streamed = yield* session.bytes(urlRequest).pipe(
        Scope.extend(scope),
        Effect.onExit((exit) => Exit.isSuccess(exit) ? Effect.void : close),
        Effect.mapError((error) => requestError(request, error))
      )
      return new URLSessionResponse(request, streamed.response, streamed.body, close)
    })
  )

// Repeated `Set-Cookie` fields reach us joined with ", " (`HTTPURLResponse.headers`); a comma
// that starts a new cookie is one followed by `name=`, not one inside an `Expires` date.
const splitSetCookie = (joined: string): Array<string> => joined.split(/,\s*(?=[^;,=\s]+=)/)

const headersOf = (response: URLResponse.URLResponse): Headers.Headers => {
  if (URLResponse.isHTTPURLResponse(response)) return Headers.fromInput(response.headers)
  // Other schemes (`file:`, `data:`) have no header fields: what the response knows, as fields.
  const fields: Record<string, string> = {}
  const mimeType = response.mimeType
  if (Option.isSome(mimeType)) {
    fields["content-type"] = Option.match(response.textEncodingName, {
      onNone: () => mimeType.value,
      onSome: (charset) => `${mimeType.value}; charset=${charset}`
    })
  }
  if (response.expectedContentLength >= 0) fields["content-length"] = String(response.expectedContentLength)
  return Headers.fromInput(fields)
}

class URLSessionResponse extends Inspectable.Class implements HttpClientResponse.HttpClientResponse {
  readonly [IncomingMessage.TypeId]: IncomingMessage.TypeId = IncomingMessage.TypeId
  readonly [HttpClientResponse.TypeId]: HttpClientResponse.TypeId = HttpClientResponse.TypeId
  readonly headers: Headers.Headers
  readonly status: number

  constructor(
    readonly request: HttpClientRequest.HttpClientRequest,
    readonly source: URLResponse.URLResponse,
    private readonly body: Stream.Stream<Uint8Array, URLError.URLError>,
    private readonly close: Effect.Effect<void>
  ) {
    super()
    this.headers = headersOf(source)
    // A response of another scheme than HTTP has no status: it loaded, which HTTP says as 200.
    this.status = URLResponse.isHTTPURLResponse(source) ? source.statusCode : 200
  }

  private decodeError(cause: unknown) {
    return new HttpClientError.ResponseError({
      request: this.request,
      response: this,
      reason: "Decode",
      cause,
      ...(cause instanceof Error ? { description: cause.message } : {})
    })
  }

  get remoteAddress(): Option.Option<string> {
    return Option.none()
  }

  private cachedCookies: Cookies.Cookies | undefined
  get cookies(): Cookies.Cookies {
    const header = this.headers["set-cookie"]
    return this.cachedCookies ??= header === undefined ? Cookies.empty : Cookies.fromSetCookie(splitSetCookie(header))
  }

  get stream(): Stream.Stream<Uint8Array, HttpClientError.ResponseError> {
    return this.body.pipe(
      Stream.mapError((error) => this.decodeError(error)),
      Stream.ensuring(this.close)
    )
  }

  // The body can be read once; `text`, `json` and the others share one reading of it. The
  // memo is built synchronously (`Effect.cached` only allocates), as the platform's own
  // responses do.
  private collected: Effect.Effect<Uint8Array, HttpClientError.ResponseError> | undefined
  private get bytes(): Effect.Effect<Uint8Array, HttpClientError.ResponseError> {
    return this.collected ??= Effect.runSync(
      Effect.cached(Effect.map(Stream.runCollect(this.stream), (chunks) => concat(Chunk.toReadonlyArray(chunks))))
    )
  }

  get arrayBuffer(): Effect.Effect<ArrayBuffer, HttpClientError.ResponseError> {
    return Effect.map(this.bytes, (bytes) => {
      if (
        bytes.byteOffset === 0 && bytes.byteLength === bytes.buffer.byteLength && bytes.buffer instanceof ArrayBuffer
      ) {
        return bytes.buffer
      }
      // A chunk can be a view into a larger buffer (Node's pooled Buffers): copied out, never
      // `slice`d, which on a Buffer is a view again.
      const copy = new Uint8Array(bytes.byteLength)
      copy.set(bytes)
      return copy.buffer
    })
  }

  get text(): Effect.Effect<string, HttpClientError.ResponseError> {
    return Effect.flatMap(
      this.bytes,
      (bytes) => Either.mapLeft(decodeText(this.source, bytes, "lenient"), (failure) => this.decodeError(failure.cause))
    )
  }

  get json(): Effect.Effect<unknown, HttpClientError.ResponseError> {
    return Effect.flatMap(this.text, (text) =>
      Effect.try({
        try: () => text === "" ? null : JSON.parse(text) as unknown,
        catch: (cause) => this.decodeError(cause)
      }))
  }

  get urlParamsBody(): Effect.Effect<UrlParams.UrlParams, HttpClientError.ResponseError> {
    return Effect.flatMap(this.text, (text) =>
      Effect.try({
        try: () => UrlParams.fromInput(new URLSearchParams(text)),
        catch: (cause) => this.decodeError(cause)
      }))
  }

  get formData(): Effect.Effect<FormData, HttpClientError.ResponseError> {
    return Effect.flatMap(this.bytes, (bytes) =>
      Effect.tryPromise({
        try: () => new Response(bytes, { headers: { "content-type": this.headers["content-type"] ?? "" } }).formData(),
        catch: (cause) => this.decodeError(cause)
      }))
  }

  toJSON(): unknown {
    return IncomingMessage.inspect(this, {
      _id: "@effect/platform/HttpClientResponse",
      request: this.request.toJSON(),
      status: this.status
    })
  }
}

/** An `HttpClient` over the session in context. */
export const make: Effect.Effect<HttpClient.HttpClient, never, URLSession.URLSession> = Effect.map(
  URLSession.URLSession,
  fromSession
)
