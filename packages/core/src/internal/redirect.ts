import * as Option from "effect/Option"
import * as URLRequest from "../URLRequest.js"
import type { HTTPURLResponse } from "../URLResponse.js"
import { credentialFields } from "./requestRules.js"

/** Apple follows at most 20 redirects; the 21st fails with `HTTPTooManyRedirects`. */
export const maximumRedirects = 20

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
    if (target.origin !== currentURL.origin) {
      next = credentialFields.reduce(URLRequest.removeHeader, next)
    }
    return Option.some({ request: next, url: target })
  })
}

// 303 turns every method but HEAD into GET; 301 and 302 turn POST into GET (what browsers and
// Apple do, though RFC 9110 only allows it); 307 and 308 never change the method or the body.
const changesToGET = (method: string, status: number): boolean =>
  status === 303 ? method !== "HEAD" && method !== "GET" : (status === 301 || status === 302) && method === "POST"

const resolveLocation = (location: string, base: URL): URL | undefined => {
  try {
    const target = new URL(location.trim(), base)
    // RFC 9110 §10.2.2: a Location without a fragment inherits the request's fragment.
    if (target.hash === "" && base.hash !== "") target.hash = base.hash
    return target.protocol === "http:" || target.protocol === "https:" ? target : undefined
  } catch {
    return undefined
  }
}

/** Is `from` → `to` a downgrade from a secure scheme to an insecure one? */
export const isDowngrade = (from: URL, to: URL): boolean => from.protocol === "https:" && to.protocol === "http:"
