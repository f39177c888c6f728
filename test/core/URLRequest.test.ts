import { describe, expect, it } from "@effect/vitest"
import { URLRequest } from "@urlsession/core"
import { Duration, Option, Stream } from "effect"

describe("URLRequest", () => {
  it("make gives a GET with no headers and no body", () => {
    const request = URLRequest.make("http://127.0.0.1/")
    expect(request.method).toBe("GET")
    expect(request.headers).toEqual({})
    expect(request.body).toEqual(Option.none())
    expect(URLRequest.make(new URL("http://127.0.0.1/a")).url).toBe("http://127.0.0.1/a")
  })

  it("setters are pipeable and direct, and never change the original", () => {
    const original = URLRequest.make("http://127.0.0.1/")
    const piped = original.pipe(URLRequest.setMethod("put"), URLRequest.setBody("x"))
    const direct = URLRequest.setMethod(original, "PUT")
    expect(piped.method).toBe("PUT")
    expect(direct.method).toBe("PUT")
    expect(original.method).toBe("GET")
    expect(Option.getOrThrow(piped.body)).toEqual(new TextEncoder().encode("x"))
  })

  it("a header set again under another case replaces the first, with the new spelling", () => {
    const request = URLRequest.make("http://127.0.0.1/").pipe(
      URLRequest.setHeader("content-type", "text/plain"),
      URLRequest.setHeaders({ "Content-Type": "application/json", Accept: "*/*" })
    )
    expect(request.headers).toEqual({ "Content-Type": "application/json", Accept: "*/*" })
    expect(URLRequest.header(request, "CONTENT-TYPE")).toEqual(Option.some("application/json"))
  })

  it("setTimeoutInterval takes any Duration input", () => {
    const request = URLRequest.make("http://127.0.0.1/").pipe(URLRequest.setTimeoutInterval("1500 millis"))
    expect(request.timeoutInterval).toEqual(Option.some(Duration.millis(1500)))
  })

  describe("the options form", () => {
    it("sets method, headers, body and timeout as the setters do", () => {
      const request = URLRequest.make("http://127.0.0.1/items", {
        method: "put",
        headers: { "X-Trace": "1" },
        body: "hello",
        timeout: "2 seconds"
      })
      expect(request.method).toBe("PUT")
      expect(request.headers).toEqual({ "X-Trace": "1" })
      expect(Option.getOrThrow(request.body)).toEqual(new TextEncoder().encode("hello"))
      expect(request.timeoutInterval).toEqual(Option.some(Duration.seconds(2)))
    })

    it("a JSON body is encoded and sets Content-Type: application/json", () => {
      const request = URLRequest.make("http://127.0.0.1/", { method: "POST", json: { name: "Ada", tags: ["x"] } })
      expect(new TextDecoder().decode(Option.getOrThrow(request.body))).toBe(`{"name":"Ada","tags":["x"]}`)
      expect(URLRequest.header(request, "content-type")).toEqual(Option.some("application/json"))
    })

    it("a JSON body keeps a content type the caller named, whatever its case", () => {
      const request = URLRequest.make("http://127.0.0.1/", {
        headers: { "content-type": "application/merge-patch+json" },
        json: null
      })
      expect(request.headers).toEqual({ "content-type": "application/merge-patch+json" })
      expect(new TextDecoder().decode(Option.getOrThrow(request.body))).toBe("null")
    })

    it("a value with no JSON form throws as JSON.stringify does", () => {
      expect(() => URLRequest.make("http://127.0.0.1/", { json: 1n })).toThrow(TypeError)
      expect(() => URLRequest.make("http://127.0.0.1/", { json: () => 1 })).toThrow(/no JSON form/)
    })

    it("a stream body becomes the body stream", () => {
      const request = URLRequest.make("http://127.0.0.1/", { body: Stream.make(new Uint8Array([1])) })
      expect(Option.isSome(request.bodyStream)).toBe(true)
      expect(request.body).toEqual(Option.none())
    })

    it("applies on top of a request given whole", () => {
      const base = URLRequest.make("http://127.0.0.1/a", { headers: { Accept: "text/plain" } })
      const request = URLRequest.fromURLOrRequest(base, { headers: { Accept: "application/json" }, query: { v: 2 } })
      expect(request.url).toBe("http://127.0.0.1/a?v=2")
      expect(request.headers).toEqual({ Accept: "application/json" })
      expect(URLRequest.fromURLOrRequest(base)).toBe(base)
    })
  })

  describe("appendQuery", () => {
    const url = (given: string, params: URLRequest.QueryParams) => URLRequest.make(given, { query: params }).url

    it("appends after the query the URL has and before its fragment", () => {
      expect(url("http://h/s?lang=en#top", { q: "x" })).toBe("http://h/s?lang=en&q=x#top")
      expect(url("http://h/s#top", { q: "x" })).toBe("http://h/s?q=x#top")
      expect(url("http://h/s?", { q: "x" })).toBe("http://h/s?q=x")
      expect(url("http://h/s?a=1&", { q: "x" })).toBe("http://h/s?a=1&q=x")
    })

    it("encodes names and values, repeats arrays, writes numbers and booleans, leaves out undefined", () => {
      expect(url("http://h/", { "a b": "x&y=z", tag: ["1", "2"], n: 0, ok: false, gone: undefined }))
        .toBe("http://h/?a+b=x%26y%3Dz&tag=1&tag=2&n=0&ok=false")
      expect(url("http://h/", { emoji: "é✓" })).toBe("http://h/?emoji=%C3%A9%E2%9C%93")
    })

    it("takes URLSearchParams as they are, and nothing to append changes nothing", () => {
      expect(url("http://h/", new URLSearchParams([["k", "v"], ["k", "w"]]))).toBe("http://h/?k=v&k=w")
      expect(url("http://h/p#f", {})).toBe("http://h/p#f")
      expect(url("http://h/p", { gone: undefined })).toBe("http://h/p")
    })

    it("works on a relative URL, before it is resolved", () => {
      expect(url("users?active=1", { page: 2 })).toBe("users?active=1&page=2")
    })
  })

  describe("resolvedAgainst (URL(string:relativeTo:))", () => {
    const resolve = (url: string, base: string | URL) => URLRequest.make(url, { relativeTo: base }).url

    it("resolves by RFC 3986: a base's last segment is replaced unless it ends in a slash", () => {
      expect(resolve("users/1", "https://api.example.com/v1/")).toBe("https://api.example.com/v1/users/1")
      expect(resolve("users/1", "https://api.example.com/v1")).toBe("https://api.example.com/users/1")
      expect(resolve("/users", "https://api.example.com/v1/")).toBe("https://api.example.com/users")
      expect(resolve("../v2/x", new URL("https://api.example.com/v1/"))).toBe("https://api.example.com/v2/x")
      expect(resolve("?q=1", "https://api.example.com/v1/list")).toBe("https://api.example.com/v1/list?q=1")
      expect(resolve("//cdn.example.com/a", "https://api.example.com/")).toBe("https://cdn.example.com/a")
    })

    it("leaves an absolute URL as it is", () => {
      expect(resolve("http://other.example/x", "https://api.example.com/v1/")).toBe("http://other.example/x")
    })

    it("leaves what cannot be resolved as written, for the task to fail with BadURL", () => {
      expect(resolve("users", "not a base")).toBe("users")
      expect(resolve("http://[bad", "https://api.example.com/")).toBe("http://[bad")
    })

    it("resolves before the query is appended", () => {
      expect(URLRequest.make("search", { relativeTo: "https://h/api/", query: { q: "a b" } }).url)
        .toBe("https://h/api/search?q=a+b")
    })
  })
})
