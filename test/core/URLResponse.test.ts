import { describe, expect, it } from "@effect/vitest"
import { URLResponse } from "@urlsession/core"
import { Option, Schema } from "effect"

const head = (headers: Record<string, string | Array<string>>, url = "http://127.0.0.1/files/report.pdf?v=2") =>
  URLResponse.fromHTTPHead({ url, statusCode: 200, headers })

describe("HTTPURLResponse", () => {
  it("derives mimeType and textEncodingName from Content-Type", () => {
    const response = head({ "Content-Type": "Text/HTML; Charset=\"ISO-8859-1\"" })
    expect(response.mimeType).toEqual(Option.some("text/html"))
    expect(response.textEncodingName).toEqual(Option.some("iso-8859-1"))
    expect(head({}).mimeType).toEqual(Option.none())
    expect(head({ "content-type": "application/json" }).textEncodingName).toEqual(Option.none())
  })

  it("expectedContentLength is the Content-Length, or -1 when unknown or encoded", () => {
    expect(head({ "content-length": "1234" }).expectedContentLength).toBe(1234)
    expect(head({}).expectedContentLength).toBe(-1)
    expect(head({ "content-length": "12x" }).expectedContentLength).toBe(-1)
    expect(head({ "content-length": "1234", "content-encoding": "gzip" }).expectedContentLength).toBe(-1)
  })

  it("suggestedFilename: Content-Disposition, then the URL's last segment, then Unknown", () => {
    expect(head({ "content-disposition": "attachment; filename=\"a b.txt\"" }).suggestedFilename).toBe("a b.txt")
    expect(
      head({ "content-disposition": "attachment; filename*=UTF-8''na%C3%AFve.txt; filename=naive.txt" })
        .suggestedFilename
    ).toBe("naïve.txt")
    expect(head({ "content-disposition": "attachment; filename=\"../../etc/passwd\"" }).suggestedFilename).toBe(
      "passwd"
    )
    expect(head({}).suggestedFilename).toBe("report.pdf")
    expect(head({}, "http://127.0.0.1/").suggestedFilename).toBe("Unknown")
  })

  it("looks header fields up case-insensitively and joins repeated ones", () => {
    const response = head({ "X-Thing": "one", "set-cookie": ["a=1", "b=2"] })
    expect(response.value("x-thing")).toEqual(Option.some("one"))
    expect(response.value("X-THING")).toEqual(Option.some("one"))
    expect(response.value("Set-Cookie")).toEqual(Option.some("a=1, b=2"))
    expect(response.value("missing")).toEqual(Option.none())
  })

  it("round-trips through its Schema", () => {
    const response = head({ "content-type": "text/plain; charset=utf-8", "content-length": "5" })
    const encoded = JSON.parse(JSON.stringify(Schema.encodeSync(URLResponse.HTTPURLResponse)(response)))
    const decoded = Schema.decodeUnknownSync(URLResponse.HTTPURLResponse)(encoded)
    expect(decoded).toBeInstanceOf(URLResponse.HTTPURLResponse)
    expect(decoded.statusCode).toBe(200)
    expect(decoded.mimeType).toEqual(Option.some("text/plain"))
    expect(decoded.value("Content-Length")).toEqual(Option.some("5"))
  })
})
