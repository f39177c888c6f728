import { describe, expect, it } from "@effect/vitest"
import { acceptEncoding, parseContentEncoding } from "../../packages/node/src/internal/contentDecoding.js"

// The Content-Encoding rules as a function: a header value in, the codings to undo out, in the
// order they were applied. test/node/contentCoding.test.ts decodes real bodies over sockets.

describe("Content-Encoding parsing", () => {
  it("the session asks for gzip, deflate and br", () => {
    expect(acceptEncoding).toBe("gzip, deflate, br")
  })

  it("no Content-Encoding is no coding", () => {
    expect(parseContentEncoding(undefined)).toEqual([])
  })

  it("each known coding is named by itself; x-gzip is gzip", () => {
    expect(parseContentEncoding("gzip")).toEqual(["gzip"])
    expect(parseContentEncoding("x-gzip")).toEqual(["gzip"])
    expect(parseContentEncoding("deflate")).toEqual(["deflate"])
    expect(parseContentEncoding("br")).toEqual(["br"])
  })

  it("names are case-insensitive and trimmed", () => {
    expect(parseContentEncoding(" GZip ")).toEqual(["gzip"])
    expect(parseContentEncoding("BR")).toEqual(["br"])
  })

  it("several codings come in the order they were applied", () => {
    expect(parseContentEncoding("deflate, gzip")).toEqual(["deflate", "gzip"])
    expect(parseContentEncoding("gzip,br,gzip")).toEqual(["gzip", "br", "gzip"])
  })

  it("identity and empty members are no coding", () => {
    expect(parseContentEncoding("")).toEqual([])
    expect(parseContentEncoding("identity")).toEqual([])
    expect(parseContentEncoding("Identity, gzip")).toEqual(["gzip"])
    expect(parseContentEncoding("gzip,, ,br")).toEqual(["gzip", "br"])
  })

  it("one unknown coding makes the whole value unknown: the body is delivered as it came", () => {
    expect(parseContentEncoding("compress")).toBeUndefined()
    expect(parseContentEncoding("zstd")).toBeUndefined()
    expect(parseContentEncoding("gzip, zstd")).toBeUndefined()
    expect(parseContentEncoding("gzip;q=1")).toBeUndefined()
  })
})
