import { describe, expect, it } from "@effect/vitest"
import { URLSessionConfiguration } from "@urlsession/core"
import { Duration, Option } from "effect"

describe("URLSessionConfiguration", () => {
  it("default has Apple's defaults", () => {
    const configuration = URLSessionConfiguration.default
    expect(Duration.toSeconds(configuration.timeoutIntervalForRequest)).toBe(60)
    expect(Duration.toDays(configuration.timeoutIntervalForResource)).toBe(7)
    expect(configuration.httpMaximumConnectionsPerHost).toBe(6)
    expect(configuration.httpAdditionalHeaders).toEqual({})
    expect(configuration.identifier).toEqual(Option.none())
    expect(URLSessionConfiguration.isBackground(configuration)).toBe(false)
  })

  it("background(identifier) names the session", () => {
    const configuration = URLSessionConfiguration.background("com.example.sync")
    expect(configuration.identifier).toEqual(Option.some("com.example.sync"))
    expect(URLSessionConfiguration.isBackground(configuration)).toBe(true)
  })

  it("with changes a copy, piped or direct", () => {
    const changed = URLSessionConfiguration.default.pipe(
      URLSessionConfiguration.with({ timeoutIntervalForRequest: "5 seconds", httpMaximumConnectionsPerHost: 2 })
    )
    expect(Duration.toMillis(changed.timeoutIntervalForRequest)).toBe(5000)
    expect(changed.httpMaximumConnectionsPerHost).toBe(2)
    expect(URLSessionConfiguration.default.httpMaximumConnectionsPerHost).toBe(6)
    const direct = URLSessionConfiguration.with(URLSessionConfiguration.ephemeral, { httpAdditionalHeaders: { A: "b" } })
    expect(direct.httpAdditionalHeaders).toEqual({ A: "b" })
  })

  it("refuses a connection limit below one", () => {
    expect(() => URLSessionConfiguration.default.pipe(URLSessionConfiguration.with({ httpMaximumConnectionsPerHost: 0 })))
      .toThrow(RangeError)
  })
})
