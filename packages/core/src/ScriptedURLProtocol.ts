/**
 * A `URLProtocol` whose responses a test scripts: test an Effect program that uses
 * `URLSession` without any network.
 *
 * A script is a function from the request to an Effect of a response and its body. Helpers
 * build the usual ones: `respond` (a status, header fields and a body or a JSON value,
 * optionally after a delay on Effect's `Clock`, so `TestClock` drives it, or cut after N
 * bytes), `fail` (any `URLError` code), `never` (a server that never answers) and `router`
 * (a response for each method and path). The protocol keeps a record of the requests it
 * received (`requests`), so a test can assert what its program sent.
 *
 * @example
 * ```ts
 * import { Effect } from "effect"
 * import { URLSession, ScriptedURLProtocol } from "@urlsession/core"
 *
 * const session = ScriptedURLProtocol.layer(ScriptedURLProtocol.router({
 *   "GET /users/:id": (_, { params }) => ({ json: { id: params.id, name: "Ada" } }),
 *   "GET /down": ScriptedURLProtocol.fail("CannotConnectToHost")
 * }))
 * const program = Effect.gen(function*() {
 *   yield* URLSession.data("https://example.test/users/1")
 *   const [sent] = yield* ScriptedURLProtocol.requests
 *   return sent?.url // "https://example.test/users/1"
 * })
 * program.pipe(Effect.provide(session))
 * ```
 *
 * @since 0.1.0
 */
import * as Context from "effect/Context"
import type * as Duration from "effect/Duration"
import * as Effect from "effect/Effect"
import * as Layer from "effect/Layer"
import type * as Scope from "effect/Scope"
import { chunkPull } from "./internal/bodyPull.js"
import * as Received from "./internal/scriptedRecord.js"
import * as RouteTable from "./internal/scriptedRoutes.js"
import * as URLError from "./URLError.js"
import type { Loading, URLProtocol } from "./URLProtocol.js"
import type { URLRequest } from "./URLRequest.js"
import * as URLResponse from "./URLResponse.js"
import * as URLSession from "./URLSession.js"
import * as URLSessionConfiguration from "./URLSessionConfiguration.js"

/**
 * How a scripted protocol answers a request. It runs in the load's scope, where
 * `URLProtocol.pullFromStream` can make a body from a `Stream`.
 *
 * @example
 * ```ts
 * import { ScriptedURLProtocol } from "@urlsession/core"
 *
 * // The request's own URL, echoed back.
 * const echo: ScriptedURLProtocol.Script = (request) => ScriptedURLProtocol.respond({ body: request.url })(request)
 * ```
 *
 * @since 0.1.0
 * @category models
 */
export type Script = (request: URLRequest) => Effect.Effect<Loading, URLError.URLError, Scope.Scope>

/**
 * A request as a scripted protocol received it: what a test asserts its program sent.
 *
 * @since 0.1.0
 * @category models
 */
export interface RecordedRequest {
  /** Upper-case, as sent. */
  readonly method: string
  /** The URL as the session parsed it (`URL.href`). */
  readonly url: string
  /** The header fields the protocol was given, names lower-cased (as a Node server sees
   * them): the request's own, the session's `httpAdditionalHeaders` and those the session
   * adds. */
  readonly headers: Readonly<Record<string, string>>
  /** The body's bytes, a stream body read whole; empty for a request without a body. */
  readonly body: Uint8Array
}

/**
 * A scripted protocol: a `URLProtocol` to put in a configuration's `protocolClasses`, with
 * the record of the requests it received, oldest first. {@link layer} provides it as a
 * service beside the session, for {@link requests}.
 *
 * @since 0.1.0
 * @category models
 */
export interface ScriptedURLProtocol extends URLProtocol {
  readonly requests: Effect.Effect<ReadonlyArray<RecordedRequest>>
}

/**
 * The scripted protocol of the session {@link layer} provides.
 *
 * @since 0.1.0
 * @category tags
 */
export const ScriptedURLProtocol: Context.Tag<ScriptedURLProtocol, ScriptedURLProtocol> = Context.GenericTag<
  ScriptedURLProtocol
>("@urlsession/core/ScriptedURLProtocol")

/**
 * A protocol that answers the URLs `canInit` accepts (all of them, by default) with `script`.
 * Each request is recorded once its body has been read (a stream body is read as a server
 * would, each chunk reported as sent, and the script gets its bytes as `request.body`).
 *
 * @example
 * ```ts
 * import { Effect } from "effect"
 * import { ScriptedURLProtocol, URLSession, URLSessionConfiguration } from "@urlsession/core"
 *
 * const scripted = ScriptedURLProtocol.make(ScriptedURLProtocol.respond({ body: "hi" }), {
 *   canInit: (url) => url.hostname === "api.example"
 * })
 * const configuration = URLSessionConfiguration.with(URLSessionConfiguration.default, {
 *   protocolClasses: [scripted]
 * })
 * const sent = Effect.scoped(Effect.gen(function*() {
 *   const session = yield* URLSession.make(configuration, { protocols: [] })
 *   yield* Effect.provideService(URLSession.data("https://api.example/"), URLSession.URLSession, session)
 *   return yield* scripted.requests
 * }))
 * ```
 *
 * @since 0.1.0
 * @category constructors
 */
export const make = (
  script: Script,
  options?: { readonly canInit?: (url: URL) => boolean }
): ScriptedURLProtocol => {
  // The record belongs to this protocol value, as a log belongs to a server: a fresh protocol
  // (a fresh `layer` build) starts a fresh record.
  const received: Array<RecordedRequest> = []
  return {
    canInit: options?.canInit ?? (() => true),
    startLoading: (request, url, client) =>
      Effect.flatMap(Received.receive(request, url, client), ([request, recorded]) => {
        received.push(recorded)
        return script(request)
      }),
    requests: Effect.sync(() => received.slice())
  }
}

/**
 * A session whose every load is answered by `script`: provide it where the program expects
 * a `URLSession`. It provides the {@link ScriptedURLProtocol} too, whose record
 * {@link requests} reads; each build of the layer starts with an empty record. The session's
 * configuration is given as `NodeURLSession.layer` takes it: nothing for the default, the
 * fields to change, or a whole configuration. One that `URLSessionConfiguration.validate`
 * refuses is a defect here, not a failure: a test's configuration is the test's own code.
 *
 * @example
 * ```ts
 * import { Effect } from "effect"
 * import { ScriptedURLProtocol, URLSession } from "@urlsession/core"
 *
 * const session = ScriptedURLProtocol.layer(
 *   ScriptedURLProtocol.respond({ body: "hello" }),
 *   { timeoutIntervalForRequest: "5 seconds" }
 * )
 * URLSession.data("https://example.test/").pipe(Effect.provide(session))
 * ```
 *
 * @since 0.1.0
 * @category layers
 */
export const layer = (
  script: Script,
  configuration?: URLSessionConfiguration.Input
): Layer.Layer<URLSession.URLSession | ScriptedURLProtocol> =>
  Layer.scopedContext(Effect.gen(function*() {
    const protocol = make(script)
    const given = yield* Effect.orDie(
      URLSessionConfiguration.validate(URLSessionConfiguration.fromInput(configuration))
    )
    const session = yield* URLSession.make(
      URLSessionConfiguration.with(given, { protocolClasses: [...given.protocolClasses, protocol] }),
      { protocols: [] }
    )
    return Context.make(URLSession.URLSession, session).pipe(Context.add(ScriptedURLProtocol, protocol))
  }))

/**
 * The requests the provided {@link ScriptedURLProtocol} has received so far, oldest first.
 *
 * @example
 * ```ts
 * import { Effect } from "effect"
 * import { ScriptedURLProtocol, URLRequest, URLSession } from "@urlsession/core"
 *
 * const program = Effect.gen(function*() {
 *   yield* URLSession.data(URLRequest.make("https://api.example/notes").pipe(
 *     URLRequest.setMethod("POST"),
 *     URLRequest.setBody("remember the milk")
 *   ))
 *   const [sent] = yield* ScriptedURLProtocol.requests
 *   return sent === undefined ? "" : ScriptedURLProtocol.bodyText(sent) // "remember the milk"
 * }).pipe(Effect.provide(ScriptedURLProtocol.layer(ScriptedURLProtocol.respond({ statusCode: 201 }))))
 * ```
 *
 * @since 0.1.0
 * @category accessors
 */
export const requests: Effect.Effect<ReadonlyArray<RecordedRequest>, never, ScriptedURLProtocol> = Effect
  .flatMap(ScriptedURLProtocol, (protocol) => protocol.requests)

/**
 * A recorded request's body as UTF-8 text.
 *
 * @example
 * ```ts
 * import { ScriptedURLProtocol } from "@urlsession/core"
 *
 * const recorded: ScriptedURLProtocol.RecordedRequest = {
 *   method: "POST",
 *   url: "https://api.example/users",
 *   headers: { "content-type": "application/json" },
 *   body: new TextEncoder().encode(`{"name":"Ada"}`)
 * }
 * JSON.parse(ScriptedURLProtocol.bodyText(recorded)) // { name: "Ada" }
 * ```
 *
 * @since 0.1.0
 * @category accessors
 */
export const bodyText = (recorded: RecordedRequest): string => new TextDecoder().decode(recorded.body)

/**
 * What {@link respond} answers.
 *
 * @example
 * ```ts
 * import type { ScriptedURLProtocol } from "@urlsession/core"
 *
 * const created: ScriptedURLProtocol.Response = { statusCode: 201, json: { id: 7 }, delay: "200 millis" }
 * ```
 *
 * @since 0.1.0
 * @category models
 */
export interface Response {
  /** Default: 200. */
  readonly statusCode?: number
  readonly headers?: Readonly<Record<string, string>>
  /** The body, whole or as chunks (each chunk is delivered as one `DidReceiveData`). */
  readonly body?: string | Uint8Array | ReadonlyArray<string | Uint8Array>
  /** A value sent as JSON, in place of `body`, with `Content-Type: application/json` unless
   * `headers` name one. */
  readonly json?: unknown
  /** Wait this long (on Effect's `Clock`) before the response head. */
  readonly delay?: Duration.DurationInput
  /** Deliver only this many body bytes, then fail with `NetworkConnectionLost`. */
  readonly cutAfter?: number
}

/**
 * A script that answers with an HTTP response. `Content-Length` is set from the body unless
 * given.
 *
 * @example
 * ```ts
 * import { ScriptedURLProtocol } from "@urlsession/core"
 *
 * const slowJSON = ScriptedURLProtocol.respond({ json: { ok: true }, delay: "3 seconds" })
 * ```
 *
 * @since 0.1.0
 * @category scripts
 */
export const respond = (response: Response): Script => (request) => {
  const chunks = toChunks(response.json === undefined ? response.body : JSON.stringify(response.json))
  const length = chunks.reduce((total, chunk) => total + chunk.byteLength, 0)
  const headers = lowerCased(response.headers ?? {})
  const head = URLResponse.fromHTTPHead({
    url: request.url,
    statusCode: response.statusCode ?? 200,
    headers: {
      "content-length": String(length),
      ...(response.json === undefined ? {} : { "content-type": "application/json" }),
      ...headers
    }
  })
  const cut = response.cutAfter === undefined ? undefined : URLError.make("NetworkConnectionLost", {
    failingURL: request.url,
    message: `the scripted connection was cut after ${response.cutAfter} bytes`
  })
  const sent = response.cutAfter === undefined ? chunks : truncate(chunks, response.cutAfter)
  const loading = Effect.sync(() => ({ response: head, pull: chunkPull(sent, cut) }))
  return response.delay === undefined ? loading : Effect.delay(loading, response.delay)
}

/**
 * A script that fails every load with `code`; `reason`, if given, follows the code's own words
 * in the message (see `URLError.make`).
 *
 * @example
 * ```ts
 * import { ScriptedURLProtocol } from "@urlsession/core"
 *
 * const offline = ScriptedURLProtocol.fail("NotConnectedToInternet")
 * ```
 *
 * @since 0.1.0
 * @category scripts
 */
export const fail = (code: URLError.Code, reason?: string): Script => (request) =>
  Effect.fail(URLError.make(code, { failingURL: request.url, message: reason }))

/**
 * A script that never answers, as a server that accepts a request and stays silent: the
 * load ends only when the session's `timeoutIntervalForRequest` (or the request's own
 * timeout) passes on Effect's `Clock`, failing with `TimedOut`, or when it is cancelled.
 * Under `TestClock`, `TestClock.adjust` past the timeout makes it fail.
 *
 * @example
 * ```ts
 * import { Effect, Fiber, TestClock } from "effect"
 * import { ScriptedURLProtocol, URLSession } from "@urlsession/core"
 *
 * const timedOut = Effect.gen(function*() {
 *   const loading = yield* Effect.fork(Effect.flip(URLSession.data("https://api.example/")))
 *   yield* TestClock.adjust("60 seconds") // the default timeoutIntervalForRequest
 *   return (yield* Fiber.join(loading)).code // "TimedOut"
 * }).pipe(Effect.provide(ScriptedURLProtocol.layer(ScriptedURLProtocol.never)))
 * ```
 *
 * @since 0.1.0
 * @category scripts
 */
export const never: Script = () => Effect.never

/**
 * What a route matched: the path's parameters by name (`:id` in `GET /users/:id`), decoded,
 * and the request's URL, parsed (its `searchParams` are the query).
 *
 * @example
 * ```ts
 * import { ScriptedURLProtocol } from "@urlsession/core"
 *
 * const page: ScriptedURLProtocol.Handler = (_, route: ScriptedURLProtocol.RouteMatch) => ({
 *   json: { user: route.params.id, page: route.url.searchParams.get("page") }
 * })
 * ```
 *
 * @since 0.1.0
 * @category models
 */
export interface RouteMatch {
  readonly params: Readonly<Record<string, string>>
  readonly url: URL
}

/**
 * A route's answer worked out from the request: a {@link Response}, or an Effect of a
 * loading as a {@link Script} gives (any script is a handler). The request's body, a stream
 * body included, is in `request.body` as bytes.
 *
 * @example
 * ```ts
 * import { Option } from "effect"
 * import { ScriptedURLProtocol } from "@urlsession/core"
 *
 * // Echoes a posted JSON body back with an id.
 * const create: ScriptedURLProtocol.Handler = (request) => ({
 *   statusCode: 201,
 *   json: { id: 7, ...JSON.parse(new TextDecoder().decode(Option.getOrElse(request.body, () => new Uint8Array()))) }
 * })
 * ```
 *
 * @since 0.1.0
 * @category models
 */
export type Handler = (
  request: URLRequest,
  route: RouteMatch
) => Response | Effect.Effect<Loading, URLError.URLError, Scope.Scope>

/**
 * A route's answer: the same {@link Response} each time, or a {@link Handler}.
 *
 * @example
 * ```ts
 * import { ScriptedURLProtocol } from "@urlsession/core"
 *
 * const notFound: ScriptedURLProtocol.Route = { statusCode: 404 }
 * const down: ScriptedURLProtocol.Route = ScriptedURLProtocol.fail("CannotConnectToHost")
 * ```
 *
 * @since 0.1.0
 * @category models
 */
export type Route = Response | Handler

/**
 * Routes by method and path: keys are `"<METHOD> <path>"`, where a `:name` segment of the
 * path matches any one segment and is given to the handler as `params.name`.
 *
 * @example
 * ```ts
 * import type { ScriptedURLProtocol } from "@urlsession/core"
 *
 * const routes: ScriptedURLProtocol.Routes = {
 *   "GET /users/:id": (_, { params }) => ({ json: { id: params.id } }),
 *   "DELETE /users/:id": { statusCode: 204 }
 * }
 * ```
 *
 * @since 0.1.0
 * @category models
 */
export type Routes = Readonly<Record<`${string} /${string}`, Route>>

/**
 * A script that answers by the request's method and path (`URL.pathname`; the host and the
 * query are not matched). A route without parameters is tried before one with, so
 * `GET /users/me` wins over `GET /users/:id`; otherwise routes are tried in the order written.
 *
 * A request no route matches fails with `UnsupportedURL`, whose message names the request
 * and the routes there are, as a session fails a URL no protocol loads: a test whose program
 * asks for something it did not script fails loudly instead of reading a 404 it never meant
 * to test. It is recorded all the same. To answer such requests, give `orElse` (for example
 * `{ statusCode: 404 }`).
 *
 * @example
 * ```ts
 * import { Effect } from "effect"
 * import { ScriptedURLProtocol, URLRequest, URLSession } from "@urlsession/core"
 *
 * const api = ScriptedURLProtocol.router({
 *   "GET /users/:id": (_, { params }) => ({ json: { id: Number(params.id), name: "Ada" } }),
 *   "POST /users": { statusCode: 201, json: { id: 2 } },
 *   "GET /health": ScriptedURLProtocol.respond({ body: "ok", delay: "1 second" })
 * }, { orElse: { statusCode: 404 } })
 *
 * const created = URLSession.data(
 *   URLRequest.make("https://api.example/users").pipe(URLRequest.setMethod("POST"), URLRequest.setBody("{}"))
 * ).pipe(Effect.provide(ScriptedURLProtocol.layer(api)))
 * ```
 *
 * @since 0.1.0
 * @category scripts
 */
export const router = (routes: Routes, options?: { readonly orElse?: Route }): Script => {
  const patterns = RouteTable.compile(Object.entries(routes) as ReadonlyArray<readonly [string, Route]>)
  const orElse = options?.orElse
  return (request) =>
    Effect.suspend(() => {
      if (!URL.canParse(request.url)) {
        return Effect.fail(URLError.make("BadURL", { failingURL: request.url, message: "it is not an absolute URL" }))
      }
      const url = new URL(request.url)
      const matched = RouteTable.match(patterns, request.method, url.pathname)
      if (matched !== undefined) return answer(matched.value, request, { params: matched.params, url })
      if (orElse !== undefined) return answer(orElse, request, { params: {}, url })
      return Effect.fail(URLError.make("UnsupportedURL", {
        failingURL: request.url,
        message: `ScriptedURLProtocol.router has no route for ${request.method} ${url.pathname}` +
          ` (its routes: ${patterns.map((pattern) => pattern.key).join(", ") || "none"})`
      }))
    })
}

const answer = (
  route: Route,
  request: URLRequest,
  match: RouteMatch
): Effect.Effect<Loading, URLError.URLError, Scope.Scope> => {
  if (typeof route !== "function") return respond(route)(request)
  const answered = route(request, match)
  return Effect.isEffect(answered) ? answered : respond(answered)(request)
}

const toChunks = (body: Response["body"]): ReadonlyArray<Uint8Array> => {
  if (body === undefined) return []
  const parts = typeof body === "string" || body instanceof Uint8Array ? [body] : body
  return parts.map((part) => typeof part === "string" ? new TextEncoder().encode(part) : part)
}

const truncate = (chunks: ReadonlyArray<Uint8Array>, limit: number): ReadonlyArray<Uint8Array> => {
  const kept: Array<Uint8Array> = []
  let left = limit
  for (const chunk of chunks) {
    if (left <= 0) break
    kept.push(chunk.subarray(0, left))
    left -= chunk.byteLength
  }
  return kept
}

const lowerCased = (headers: Readonly<Record<string, string>>): Record<string, string> =>
  Object.fromEntries(Object.entries(headers).map(([name, value]) => [name.toLowerCase(), value]))
