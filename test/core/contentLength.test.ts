import { describe, expect, it } from "@effect/vitest"
import { URLRequest, URLResponse } from "@urlsession/core"
import { Option } from "effect"
import { parseContentLength } from "../../packages/core/src/internal/headerFields.js"

// One rule for every Content-Length the session reads: a request's, which sizes a body stream,
// and a response's, which is its expectedContentLength.

describe("Content-Length", () => {
  it("a Content-Length is a count of bytes in digits, trimmed", () => {
    expect(parseContentLength("0")).toBe(0)
    expect(parseContentLength("1234")).toBe(1234)
    expect(parseContentLength(" 42\t")).toBe(42)
    expect(parseContentLength("007")).toBe(7)
    expect(parseContentLength("9007199254740991")).toBe(9007199254740991)
  })

  it.each(["", " ", "-1", "+1", "1.5", "1e3", "0x10", "12x", "1, 1", "1 2", "١٢"])(
    "%j is no Content-Length",
    (value) => {
      expect(parseContentLength(value)).toBeUndefined()
    }
  )

  it("a request's contentLength is its Content-Length field, whatever its case", () => {
    const request = URLRequest.make("http://a.example/")
    expect(URLRequest.contentLength(request)).toEqual(Option.none())
    expect(URLRequest.contentLength(URLRequest.setHeader(request, "content-length", " 10 "))).toEqual(Option.some(10))
    expect(URLRequest.contentLength(URLRequest.setHeader(request, "Content-Length", "ten"))).toEqual(Option.none())
  })

  it("a request's contentLength does not count a body of bytes: only the field says", () => {
    const request = URLRequest.setBody(URLRequest.make("http://a.example/"), "abc")
    expect(URLRequest.contentLength(request)).toEqual(Option.none())
  })

  it("a response's expectedContentLength follows the same rule, -1 for no length", () => {
    const expected = (length: string) =>
      URLResponse.fromHTTPHead({ url: "http://a.example/", statusCode: 200, headers: { "Content-Length": length } })
        .expectedContentLength
    expect(expected(" 42 ")).toBe(42)
    expect(expected("-1")).toBe(-1)
    expect(expected("1.5")).toBe(-1)
  })
})
