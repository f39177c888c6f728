import { describe, expect, it } from "@effect/vitest"
import { URLRequest } from "@urlsession/core"
import { Duration, Option } from "effect"

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
})
