import { describe, expect, it } from "@effect/vitest"
import { URLRequest, URLResponse } from "@urlsession/core"
import { Either, Option, Stream } from "effect"
import { checkChosen, isDowngrade, redirectRequest } from "../../packages/core/src/internal/redirect.js"

// The redirect rules as functions: a request, the URL it went to and the response, in; the
// request to send next, out. test/node/redirects.test.ts checks the same rules over sockets.

const response = (url: string, statusCode: number, headers: Record<string, string> = {}) =>
  URLResponse.fromHTTPHead({ url, statusCode, headers })

const redirect = (statusCode: number, location: string | undefined, from = "http://a.example/dir/page") =>
  response(from, statusCode, location === undefined ? {} : { location })

const post = (url = "http://a.example/dir/page") =>
  URLRequest.make(url).pipe(
    URLRequest.setMethod("POST"),
    URLRequest.setBody("name=value"),
    URLRequest.setHeaders({
      "Content-Type": "application/x-www-form-urlencoded",
      "Content-Length": "10",
      "Content-Encoding": "identity",
      "Content-Language": "en",
      "Content-Location": "/form",
      Accept: "*/*"
    })
  )

/** The request `redirectRequest` asks for, failing the test when it asks for none. */
const follow = (request: URLRequest.URLRequest, statusCode: number, location: string) => {
  const next = redirectRequest(request, new URL(request.url), redirect(statusCode, location, request.url))
  if (Option.isNone(next)) throw new Error(`${statusCode} to ${location} was not followed`)
  return next.value
}

const followedURL = (from: string, location: string): string | undefined =>
  Option.getOrUndefined(
    Option.map(redirectRequest(URLRequest.make(from), new URL(from), redirect(302, location, from)), (next) =>
      next.url.href)
  )

describe("redirect rules", () => {
  it.each([301, 302, 303, 305, 306, 307, 308])("%s with a Location is a redirect", (status) => {
    const next = follow(URLRequest.make("http://a.example/dir/page"), status, "/final")
    expect(next.url.href).toBe("http://a.example/final")
    expect(next.request.url).toBe("http://a.example/final")
  })

  it.each([300, 304, 200, 201, 399, 404])("%s is an answer, not a redirect, even with a Location", (status) => {
    expect(
      redirectRequest(URLRequest.make("http://a.example/"), new URL("http://a.example/"), redirect(status, "/final"))
    )
      .toEqual(Option.none())
  })

  it.each([301, 302])("%s turns POST into GET and drops the body and the fields that describe it", (status) => {
    const { request } = follow(post(), status, "/final")
    expect(request.method).toBe("GET")
    expect(request.body).toEqual(Option.none())
    expect(request.headers).toEqual({ Accept: "*/*" })
  })

  it.each([301, 302])("%s keeps a PUT, its body and its fields", (status) => {
    const put = post().pipe(URLRequest.setMethod("PUT"))
    const { request } = follow(put, status, "/final")
    expect(request.method).toBe("PUT")
    expect(request.body).toEqual(put.body)
    expect(request.headers).toEqual(put.headers)
  })

  it.each(["POST", "PUT", "DELETE", "PATCH"])("303 turns %s into a GET without a body", (method) => {
    const { request } = follow(post().pipe(URLRequest.setMethod(method)), 303, "/final")
    expect(request.method).toBe("GET")
    expect(request.body).toEqual(Option.none())
    expect(request.headers).toEqual({ Accept: "*/*" })
  })

  it("303 keeps a HEAD as it is", () => {
    const head = URLRequest.make("http://a.example/dir/page").pipe(
      URLRequest.setMethod("HEAD"),
      URLRequest.setHeader("Accept", "*/*")
    )
    const { request } = follow(head, 303, "/final")
    expect(request.method).toBe("HEAD")
    expect(request.headers).toEqual({ Accept: "*/*" })
  })

  it("303 drops a body stream too", () => {
    const streamed = URLRequest.make("http://a.example/dir/page").pipe(
      URLRequest.setMethod("POST"),
      URLRequest.setBodyStream(Stream.make(new Uint8Array([1])))
    )
    const { request } = follow(streamed, 303, "/final")
    expect(request.bodyStream).toEqual(Option.none())
  })

  it.each([307, 308])("%s keeps the method, the body and every field", (status) => {
    const original = post()
    const { request } = follow(original, status, "/final")
    expect(request.method).toBe("POST")
    expect(request.body).toEqual(original.body)
    expect(request.headers).toEqual(original.headers)
  })

  it("Location is resolved against the current URL (RFC 3986), query kept as sent", () => {
    expect(followedURL("http://a.example/dir/sub/from", "../other?a=1&b=%2F")).toBe(
      "http://a.example/dir/other?a=1&b=%2F"
    )
    expect(followedURL("http://a.example/dir/page", "sibling")).toBe("http://a.example/dir/sibling")
    expect(followedURL("http://a.example/dir/page", "//b.example/relative")).toBe("http://b.example/relative")
    expect(followedURL("https://a.example/dir/page", "//b.example/relative")).toBe("https://b.example/relative")
    expect(followedURL("http://a.example/dir/page", "?only=query")).toBe("http://a.example/dir/page?only=query")
    expect(followedURL("http://a.example/dir/page", "https://b.example:8443/x")).toBe("https://b.example:8443/x")
  })

  it("an absolute Location is taken as written: no default port is inserted", () => {
    expect(followedURL("http://a.example:8080/", "https://secure.example/path?q=a%20b")).toBe(
      "https://secure.example/path?q=a%20b"
    )
    expect(followedURL("http://a.example:8080/", "http://plain.example/p")).toBe("http://plain.example/p")
  })

  it("Location is trimmed of surrounding whitespace", () => {
    expect(followedURL("http://a.example/", "  /final\t")).toBe("http://a.example/final")
  })

  it("a Location without a fragment inherits the request's fragment (RFC 9110 §10.2.2); one with its own keeps it", () => {
    expect(followedURL("http://a.example/page#part", "/final")).toBe("http://a.example/final#part")
    expect(followedURL("http://a.example/page#part", "/final#own")).toBe("http://a.example/final#own")
    expect(followedURL("http://a.example/page", "/final")).toBe("http://a.example/final")
  })

  it("a Location sent as UTF-8 is read as UTF-8; one that is not UTF-8 stays as it came", () => {
    // "café" as UTF-8 bytes, decoded as Latin-1 the way header fields arrive.
    expect(followedURL("http://a.example/", "/caf\u00c3\u00a9")).toBe("http://a.example/caf%C3%A9")
    // A lone Latin-1 "é" is not UTF-8: taken as the character it is.
    expect(followedURL("http://a.example/", "/caf\u00e9")).toBe("http://a.example/caf%C3%A9")
    // Beyond Latin-1, the value was not read from bytes: taken as it is.
    expect(followedURL("http://a.example/", "/\u00c3\u00a9\u20ac")).toBe("http://a.example/%C3%83%C2%A9%E2%82%AC")
  })

  it("a missing, empty or blank Location is no redirect: the response is the final one", () => {
    const request = URLRequest.make("http://a.example/page")
    const url = new URL(request.url)
    expect(redirectRequest(request, url, redirect(302, undefined))).toEqual(Option.none())
    expect(redirectRequest(request, url, redirect(302, ""))).toEqual(Option.none())
    expect(redirectRequest(request, url, redirect(302, "   "))).toEqual(Option.none())
  })

  it("a Location that is not a URL, or not an http(s) one, is no redirect", () => {
    expect(followedURL("http://a.example/", "http://[not-an-address/")).toBeUndefined()
    expect(followedURL("http://a.example/", "ftp://a.example/file")).toBeUndefined()
    expect(followedURL("http://a.example/", "file:///etc/passwd")).toBeUndefined()
    expect(followedURL("http://a.example/", "data:text/plain,x")).toBeUndefined()
    expect(followedURL("http://a.example/", "javascript:alert(1)")).toBeUndefined()
  })

  const withCredentials = URLRequest.make("http://a.example/page").pipe(URLRequest.setHeaders({
    Authorization: "Basic dTpw",
    "Proxy-Authorization": "Basic cDpx",
    Cookie: "id=1",
    Host: "a.example",
    Accept: "*/*"
  }))

  it("a hop to another origin drops Authorization, Proxy-Authorization, Cookie and Host", () => {
    for (const location of ["http://b.example/page", "https://a.example/page", "http://a.example:8080/page"]) {
      expect(follow(withCredentials, 302, location).request.headers).toEqual({ Accept: "*/*" })
    }
  })

  it("a hop within the origin keeps every field", () => {
    expect(follow(withCredentials, 302, "/other").request.headers).toEqual(withCredentials.headers)
    expect(follow(withCredentials, 307, "http://a.example:80/other").request.headers).toEqual(withCredentials.headers)
  })

  it("an https → http Location is still a redirect: refusing it is the decision's, not the rules'", () => {
    expect(followedURL("https://a.example/", "http://a.example/")).toBe("http://a.example/")
  })
})

describe("downgrades", () => {
  it("https → http is a downgrade; every other pair is not", () => {
    expect(isDowngrade(new URL("https://a.example/"), new URL("http://a.example/"))).toBe(true)
    expect(isDowngrade(new URL("https://a.example/"), new URL("http://b.example/"))).toBe(true)
    expect(isDowngrade(new URL("http://a.example/"), new URL("https://a.example/"))).toBe(false)
    expect(isDowngrade(new URL("https://a.example/"), new URL("https://b.example/"))).toBe(false)
    expect(isDowngrade(new URL("http://a.example/"), new URL("http://b.example/"))).toBe(false)
  })
})

describe("a request the delegate chose", () => {
  const previous = URLRequest.make("https://a.example/page").pipe(URLRequest.setHeaders({
    Authorization: "Bearer carried",
    Cookie: "id=1",
    Host: "a.example",
    Accept: "*/*"
  }))
  const currentURL = new URL("https://a.example/page")
  const chosen = (url: string, headers: Record<string, string> = previous.headers) =>
    URLRequest.make(url).pipe(URLRequest.setHeaders(headers))

  const failure = (result: Either.Either<URLRequest.URLRequest, unknown>) =>
    Either.match(result, {
      onLeft: (error) => error,
      onRight: () => {
        throw new Error("the chosen request was accepted")
      }
    })

  it("a URL that does not parse fails with BadURL", () => {
    const error = failure(checkChosen(previous, currentURL, chosen("not a url"), false))
    expect(error).toMatchObject({ code: "BadURL", failingURL: "not a url" })
    expect(error).toHaveProperty(
      "message",
      "The URL is not valid while loading not a url: the redirect is not a valid URL"
    )
  })

  it("a URL of another scheme fails with UnsupportedURL", () => {
    const error = failure(checkChosen(previous, currentURL, chosen("ftp://a.example/file"), false))
    expect(error).toMatchObject({ code: "UnsupportedURL", failingURL: "ftp://a.example/file" })
  })

  it("https → http fails with AppTransportSecurityRequiresSecureConnection unless the configuration allows it", () => {
    const error = failure(checkChosen(previous, currentURL, chosen("http://a.example/page"), false))
    expect(error).toMatchObject({
      code: "AppTransportSecurityRequiresSecureConnection",
      failingURL: "http://a.example/page"
    })
    const allowed = checkChosen(previous, currentURL, chosen("http://a.example/page"), true)
    expect(Either.map(allowed, (request) => request.url)).toEqual(Either.right("http://a.example/page"))
  })

  it("within the origin the chosen request is taken as it is", () => {
    const same = chosen("https://a.example/other")
    expect(checkChosen(previous, currentURL, same, false)).toEqual(Either.right(same))
  })

  it("to another origin the credentials carried over are dropped; those the delegate set itself stay", () => {
    const carried = checkChosen(previous, currentURL, chosen("https://b.example/page"), false)
    expect(Either.map(carried, (request) => request.headers)).toEqual(Either.right({ Accept: "*/*" }))
    const own = checkChosen(
      previous,
      currentURL,
      chosen("https://b.example/page", { Authorization: "Bearer own", Cookie: "id=1", Host: "b.example" }),
      false
    )
    expect(Either.map(own, (request) => request.headers)).toEqual(
      Either.right({ Authorization: "Bearer own", Host: "b.example" })
    )
  })
})
