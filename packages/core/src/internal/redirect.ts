import * as Effect from "effect/Effect"
import * as Either from "effect/Either"
import * as Option from "effect/Option"
import * as URLError from "../URLError.js"
import * as URLRequest from "../URLRequest.js"
import type { HTTPURLResponse } from "../URLResponse.js"
import type { URLSessionDelegate } from "../URLSessionDelegate.js"
import * as URLSessionEvent from "../URLSessionEvent.js"
import type { URLSessionTask } from "../URLSessionTask.js"
import { credentialFields } from "./requestRules.js"
import { redactPasswords } from "./userInfo.js"

/** Apple follows at most 20 redirects; the 21st fails with `HTTPTooManyRedirects`. */
export const maximumRedirects = 20

/** What a task lends the redirect decision. */
export interface RedirectContext {
  readonly task: URLSessionTask
  readonly delegate: URLSessionDelegate
  readonly allowsInsecureRedirects: boolean
  /** Is anybody listening? Build no event when nobody is. */
  readonly observed: () => boolean
  readonly emit: (event: URLSessionEvent.TaskEvent) => Effect.Effect<void>
}

/**
 * The whole redirect decision for a response to `request` (sent to `url`) after `redirects`
 * followed ones: `Some` request to follow, or `None` when the response is the final one.
 * The rules, the limit, the `WillPerformHTTPRedirection` event and the delegate's say, in
 * that order.
 */
export const decide = (
  context: RedirectContext,
  request: URLRequest.URLRequest,
  url: URL,
  response: HTTPURLResponse,
  redirects: number
): Effect.Effect<Option.Option<URLRequest.URLRequest>, URLError.URLError> => {
  const next = redirectRequest(request, url, response)
  if (Option.isNone(next)) return Effect.succeedNone
  const refused = refusedDowngrade(url, next.value.url, context.allowsInsecureRedirects)
  if (refused !== undefined) return Effect.fail(refused)
  if (redirects >= maximumRedirects) {
    return Effect.fail(URLError.make("HTTPTooManyRedirects", {
      failingURL: next.value.url.href,
      message: `more than ${maximumRedirects} redirects`
    }))
  }
  const announce = context.observed()
    ? context.emit(URLSessionEvent.WillPerformHTTPRedirection({
      taskIdentifier: context.task.taskIdentifier,
      response,
      newRequest: URLRequest.setURL(next.value.request, redactPasswords(next.value.request.url))
    }))
    : Effect.void
  const { delegate } = context
  const chosen = delegate.willPerformHTTPRedirection === undefined
    ? Effect.succeed(Option.some(next.value.request))
    : delegate.willPerformHTTPRedirection(context.task, response, next.value.request).pipe(
      Effect.flatMap(Option.match({
        onNone: () => Effect.succeedNone,
        onSome: (chosen) => Effect.asSome(checkChosen(request, url, chosen, context.allowsInsecureRedirects))
      }))
    )
  return Effect.zipRight(announce, chosen)
}

// 300 (Multiple Choices) and 304 (Not Modified) are answers, not redirects.
const redirectStatuses = new Set([301, 302, 303, 305, 306, 307, 308])

/** Header fields that describe a body, dropped with the body when a redirect turns into a GET. */
const bodyFields = ["Content-Type", "Content-Length", "Content-Encoding", "Content-Language", "Content-Location"]

/**
 * The request a redirect response asks for, by the rules of RFC 9110 §15.4 as Apple applies
 * them, or `None` when the response is not a usable redirect (and so is the final response).
 */
export const redirectRequest = (
  request: URLRequest.URLRequest,
  currentURL: URL,
  response: HTTPURLResponse
): Option.Option<{ readonly request: URLRequest.URLRequest; readonly url: URL }> => {
  if (!redirectStatuses.has(response.statusCode)) return Option.none()
  return Option.flatMap(response.value("Location"), (location) => {
    const target = resolveLocation(location, currentURL)
    if (target === undefined) return Option.none()
    let next = URLRequest.setURL(request, target.href)
    if (changesToGET(request.method, response.statusCode)) {
      next = bodyFields.reduce(URLRequest.removeHeader, URLRequest.removeBody(URLRequest.setMethod(next, "GET")))
    }
    if (target.origin !== currentURL.origin) next = crossOriginFields.reduce(URLRequest.removeHeader, next)
    return Option.some({ request: next, url: target })
  })
}

// 303 turns every method but HEAD into GET; 301 and 302 turn POST into GET (what browsers and
// Apple do, though RFC 9110 only allows it); 307 and 308 never change the method or the body.
const changesToGET = (method: string, status: number): boolean =>
  status === 303 ? method !== "HEAD" && method !== "GET" : (status === 301 || status === 302) && method === "POST"

const resolveLocation = (location: string, base: URL): URL | undefined => {
  const trimmed = asUTF8(location).trim()
  // An empty Location would "resolve" to the current URL and loop: it is no redirect.
  if (trimmed === "") return undefined
  try {
    const target = new URL(trimmed, base)
    // RFC 9110 §10.2.2: a Location without a fragment inherits the request's fragment.
    if (target.hash === "" && base.hash !== "") target.hash = base.hash
    return target.protocol === "http:" || target.protocol === "https:" ? target : undefined
  } catch {
    return undefined
  }
}

// Header fields arrive decoded as Latin-1; a Location sent as UTF-8 (as servers do with
// non-ASCII paths) is read again as UTF-8 when its bytes are valid UTF-8, as browsers do.
const asUTF8 = (value: string): string => {
  if (!/[\u0080-\u00ff]/.test(value) || /[^\u0000-\u00ff]/.test(value)) return value
  try {
    return new TextDecoder("utf-8", { fatal: true }).decode(Uint8Array.from(value, (char) => char.charCodeAt(0)))
  } catch {
    return value
  }
}

// Identity of the caller, and the Host the caller may have pinned: both belong to the origin
// they were set for.
const crossOriginFields = [...credentialFields, "Host"]

/**
 * The request a delegate chose to follow, checked as a `Location` is: an http(s) URL, no
 * downgrade unless allowed, and when it goes to another origin, the credentials carried over
 * from the previous request are dropped (fields the delegate set itself are its choice).
 */
export const checkChosen = (
  previous: URLRequest.URLRequest,
  currentURL: URL,
  chosen: URLRequest.URLRequest,
  allowsInsecureRedirects: boolean
): Either.Either<URLRequest.URLRequest, URLError.URLError> => {
  let url: URL
  try {
    url = new URL(chosen.url)
  } catch (cause) {
    return Either.left(
      URLError.make("BadURL", { failingURL: chosen.url, message: "the redirect is not a valid URL", cause })
    )
  }
  if (url.protocol !== "http:" && url.protocol !== "https:") {
    return Either.left(URLError.make("UnsupportedURL", {
      failingURL: chosen.url,
      message: "a redirect can only lead to an http or https URL"
    }))
  }
  const refused = refusedDowngrade(currentURL, url, allowsInsecureRedirects)
  if (refused !== undefined) return Either.left(refused)
  if (url.origin === currentURL.origin) return Either.right(chosen)
  return Either.right(crossOriginFields.reduce((request, field) => {
    const carried = URLRequest.header(previous, field)
    return Option.isSome(carried) && Option.getOrUndefined(URLRequest.header(request, field)) === carried.value
      ? URLRequest.removeHeader(request, field)
      : request
  }, chosen))
}

/** A redirect from https to http fails unless the configuration allows it. */
const refusedDowngrade = (from: URL, to: URL, allowsInsecureRedirects: boolean): URLError.URLError | undefined =>
  isDowngrade(from, to) && !allowsInsecureRedirects
    ? URLError.make("AppTransportSecurityRequiresSecureConnection", {
      failingURL: to.href,
      message: "a redirect from https to http is not followed"
    })
    : undefined

/** Is `from` → `to` a downgrade from a secure scheme to an insecure one? */
export const isDowngrade = (from: URL, to: URL): boolean => from.protocol === "https:" && to.protocol === "http:"
