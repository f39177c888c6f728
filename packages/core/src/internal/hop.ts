import * as Context from "effect/Context"
import * as Effect from "effect/Effect"
import * as FiberRef from "effect/FiberRef"
import * as Option from "effect/Option"
import * as Scope from "effect/Scope"
import * as URLError from "../URLError.js"
import type { URLProtocol } from "../URLProtocol.js"
import * as URLRequest from "../URLRequest.js"
import type { URLSessionConfiguration } from "../URLSessionConfiguration.js"
import type { Delivery } from "./delivery.js"
import * as RequestRules from "./requestRules.js"
import type { BodySends } from "./uploadBody.js"

/**
 * One exchange of a task, a request and its response, in stages: `prepare` the request as
 * it goes out, choose the protocol that sends it (`protocolFor`), then the task handles the
 * response (the redirect decision, `redirect.ts`) and `drain`s the final body into its
 * delivery. A hop ends with what the task does next.
 */
export type Hop<A> =
  | { readonly _tag: "Redirect"; readonly request: URLRequest.URLRequest }
  | { readonly _tag: "BecameDownload"; readonly taskIdentifier: number }
  | { readonly _tag: "Restart"; readonly request: URLRequest.URLRequest }
  | { readonly _tag: "Done"; readonly value: A }

/**
 * The request as the task shows it (`currentRequest`): a body stream not sent before, the
 * session's request rules (its fields, defaults and checks), then what the delivery adds (a
 * resumed download's `Range`). With `wire`, the one place a request is assembled.
 */
export const prepare = (
  request: URLRequest.URLRequest,
  options: {
    readonly configuration: URLSessionConfiguration
    readonly bodies: BodySends
    /** Has the task left its original origin? The session's credentials stay behind. */
    readonly crossOrigin: boolean
    readonly delivery: Pick<Delivery<unknown>, "prepare">
  }
): Effect.Effect<URLRequest.URLRequest, URLError.URLError> =>
  Effect.flatMap(options.bodies.fresh(request), (fresh) =>
    Effect.map(
      RequestRules.prepare(fresh, options.configuration, { crossOrigin: options.crossOrigin }),
      (prepared) => options.delivery.prepare === undefined ? prepared : options.delivery.prepare(prepared)
    ))

/** The prepared request as `protocol` sends it, framed (`RequestRules.frame`). */
export const wire = (request: URLRequest.URLRequest, protocol: URLProtocol): URLRequest.URLRequest =>
  RequestRules.frame(request, protocol.acceptEncoding)

/** The first of the session's protocols that loads `url`. */
export const protocolFor = (
  protocols: ReadonlyArray<URLProtocol>,
  url: URL,
  failingURL: string
): Effect.Effect<URLProtocol, URLError.URLError> => {
  const protocol = protocols.find((protocol) => protocol.canInit(url))
  return protocol === undefined
    ? Effect.fail(URLError.make("UnsupportedURL", { failingURL, message: `no protocol loads "${url.protocol}" URLs` }))
    : Effect.succeed(protocol)
}

// Every chunk a pull gives, to `f`, in order: a body read without running a Stream.
// `f` gives `undefined` for a chunk it took at once.
export const drain = <E>(
  pull: Effect.Effect<Option.Option<Uint8Array>, E>,
  f: (chunk: Uint8Array) => Effect.Effect<void, E> | undefined
): Effect.Effect<void, E> => {
  const next: Effect.Effect<void, E> = Effect.flatMap(pull, (chunk) => {
    if (Option.isNone(chunk)) return Effect.void
    const taking = f(chunk.value)
    return taking === undefined ? next : Effect.zipRight(taking, next)
  })
  return next
}

// Runs `effect`, which needs a scope, in `scope`. The task's fiber is its own: setting its
// context is enough, and costs a fraction of `Scope.extend` (which restores the context
// after, in an uninterruptible region). The next hop sets its own scope the same way.
export const withScope = <A, E>(
  scope: Scope.Scope,
  effect: Effect.Effect<A, E, Scope.Scope>
): Effect.Effect<A, E> =>
  Effect.zipRight(
    FiberRef.update(FiberRef.currentContext, (context) => Context.add(context, Scope.Scope, scope)),
    effect as Effect.Effect<A, E>
  )

// 0 without a body; -1 for a stream of unknown length, sent chunked.
export const bodyLength = (request: URLRequest.URLRequest): number =>
  Option.isSome(request.body)
    ? request.body.value.byteLength
    : Option.isSome(request.bodyStream)
    ? Option.getOrElse(URLRequest.contentLength(request), () => -1)
    : 0

export const originOf = (url: string): string => {
  try {
    return new URL(url).origin
  } catch {
    return ""
  }
}

export const parseURL = (url: string): Effect.Effect<URL, URLError.URLError> =>
  Effect.try({
    try: () => new URL(url),
    catch: (cause) => URLError.make("BadURL", { failingURL: url, cause })
  })
