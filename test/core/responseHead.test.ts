import { describe, expect, it } from "@effect/vitest"
import { isEncoded } from "../../packages/core/src/internal/responseHead.js"

// What a response head says about its body, as functions; test/core/URLResponse.test.ts checks
// the response built from it.

describe("response head", () => {
  it("a body is encoded when Content-Encoding names any coding but identity", () => {
    expect(isEncoded("gzip")).toBe(true)
    expect(isEncoded("br")).toBe(true)
    expect(isEncoded("identity, gzip")).toBe(true)
    expect(isEncoded("anything")).toBe(true)
  })

  it("a body is not encoded without Content-Encoding, or with identity in any case", () => {
    expect(isEncoded(undefined)).toBe(false)
    expect(isEncoded("identity")).toBe(false)
    expect(isEncoded(" Identity ")).toBe(false)
  })
})
