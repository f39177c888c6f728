import { describe, expect, it } from "@effect/vitest"
import { URLSessionConfiguration } from "@urlsession/core"
import { Duration, Effect, Option } from "effect"

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
    const direct = URLSessionConfiguration.with(URLSessionConfiguration.ephemeral, {
      httpAdditionalHeaders: { A: "b" }
    })
    expect(direct.httpAdditionalHeaders).toEqual({ A: "b" })
  })

  it("is recognised by isURLSessionConfiguration; overrides are not", () => {
    expect(URLSessionConfiguration.isURLSessionConfiguration(URLSessionConfiguration.default)).toBe(true)
    expect(URLSessionConfiguration.isURLSessionConfiguration(URLSessionConfiguration.background("a"))).toBe(true)
    expect(
      URLSessionConfiguration.isURLSessionConfiguration(
        URLSessionConfiguration.default.pipe(URLSessionConfiguration.with({ httpMaximumConnectionsPerHost: 2 }))
      )
    ).toBe(true)
    expect(URLSessionConfiguration.isURLSessionConfiguration({ httpMaximumConnectionsPerHost: 2 })).toBe(false)
  })

  it("baseURL is none by default, kept in its normal form, and removed by Option.none()", () => {
    expect(URLSessionConfiguration.default.baseURL).toEqual(Option.none())
    const based = URLSessionConfiguration.default.pipe(
      URLSessionConfiguration.with({ baseURL: "https://API.example/v2/" })
    )
    expect(based.baseURL).toEqual(Option.some("https://api.example/v2/"))
    const fromURL = URLSessionConfiguration.with(URLSessionConfiguration.default, {
      baseURL: new URL("http://a.example")
    })
    expect(fromURL.baseURL).toEqual(Option.some("http://a.example/"))
    expect(URLSessionConfiguration.with(based, { baseURL: Option.none() }).baseURL).toEqual(Option.none())
    expect(URLSessionConfiguration.with(based, { timeoutIntervalForRequest: "1 second" }).baseURL).toEqual(
      based.baseURL
    )
  })
})

describe("URLSessionConfiguration: values are checked by validate, never by a throw", () => {
  const problemsOf = (overrides: URLSessionConfiguration.Overrides) =>
    URLSessionConfiguration.problems(URLSessionConfiguration.with(URLSessionConfiguration.default, overrides))

  it("with takes any value without throwing", () => {
    expect(() =>
      URLSessionConfiguration.default.pipe(URLSessionConfiguration.with({
        httpMaximumConnectionsPerHost: 0,
        timeoutIntervalForRequest: -5,
        timeoutIntervalForResource: "soon" as Duration.DurationInput,
        maximumDecodedContentLength: -1,
        baseURL: "not a url"
      }))
    ).not.toThrow()
  })

  it("background takes any identifier without throwing", () => {
    for (const identifier of ["", "..", "../x", "a/b", "x".repeat(300)]) {
      expect(URLSessionConfiguration.background(identifier).identifier).toEqual(Option.some(identifier))
    }
  })

  it("the defaults and a background configuration have no problems", () => {
    expect(URLSessionConfiguration.problems(URLSessionConfiguration.default)).toEqual([])
    expect(URLSessionConfiguration.problems(URLSessionConfiguration.background("com.example.sync"))).toEqual([])
    expect(problemsOf({ timeoutIntervalForResource: Duration.infinity, baseURL: "https://a.example/v2/" })).toEqual([])
  })

  it("an identifier that isValidIdentifier refuses is a problem", () => {
    expect(URLSessionConfiguration.problems(URLSessionConfiguration.background("../x"))).toEqual([{
      field: "identifier",
      value: "../x",
      reason: `it must be 1 to 255 letters, digits, ".", "_" or "-", not starting with "."`
    }])
  })

  it.each([0, -1, 1.5, Number.NaN, Infinity])("httpMaximumConnectionsPerHost %s is a problem", (value) => {
    expect(problemsOf({ httpMaximumConnectionsPerHost: value }).map((problem) => problem.field)).toEqual([
      "httpMaximumConnectionsPerHost"
    ])
  })

  it.each(
    [
      ["a negative number", -1],
      ["a negative string", "-5 seconds"],
      ["zero", 0],
      ["zero seconds", "0 seconds"],
      ["not a duration", "soon"]
    ] as const
  )("a timeout of %s is a problem, reported with the value given", (_, value) => {
    const found = problemsOf({
      timeoutIntervalForRequest: value as Duration.DurationInput,
      timeoutIntervalForResource: value as Duration.DurationInput
    })
    expect(found.map((problem) => problem.field)).toEqual(["timeoutIntervalForRequest", "timeoutIntervalForResource"])
    expect(found[0]!.reason).toBe("it must be a duration longer than zero (Duration.infinity for no limit)")
  })

  it("a rejected timeout given again correctly is no longer a problem", () => {
    const fixed = URLSessionConfiguration.default.pipe(
      URLSessionConfiguration.with({ timeoutIntervalForRequest: "soon" as Duration.DurationInput }),
      URLSessionConfiguration.with({ timeoutIntervalForRequest: "2 seconds" })
    )
    expect(URLSessionConfiguration.problems(fixed)).toEqual([])
    expect(Duration.toMillis(fixed.timeoutIntervalForRequest)).toBe(2000)
  })

  it("maximumDecodedContentLength must be a positive integer", () => {
    expect(problemsOf({ maximumDecodedContentLength: 0 }).map((problem) => problem.field)).toEqual([
      "maximumDecodedContentLength"
    ])
  })

  it.each(["not a url", "/v2/", "mailto:a@b.example"])("baseURL %j is a problem", (baseURL) => {
    expect(problemsOf({ baseURL })).toEqual([{
      field: "baseURL",
      value: baseURL,
      reason: "it must be an absolute URL that relative URLs can be resolved against"
    }])
  })

  it("header fields with CR, LF or NUL, or a name that is not a token, are problems", () => {
    expect(problemsOf({ httpAdditionalHeaders: { "X-Bad": "1\r\n2", "X-Good": "1", "Bad Name": "x", "X-Nul": "a\0" } }))
      .toEqual([
        {
          field: `httpAdditionalHeaders["X-Bad"]`,
          value: "1\r\n2",
          reason: "a header field value must not contain CR, LF or NUL"
        },
        {
          field: "httpAdditionalHeaders",
          value: "Bad Name",
          reason: "a header field name must be a token (RFC 9110 §5.1)"
        },
        {
          field: `httpAdditionalHeaders["X-Nul"]`,
          value: "a\0",
          reason: "a header field value must not contain CR, LF or NUL"
        }
      ])
  })

  it("trusted certificates must be PEM", () => {
    const pem = "-----BEGIN CERTIFICATE-----\nMIIBszCCAVmgAwIBAgIUQ==\n-----END CERTIFICATE-----\n"
    expect(problemsOf({ trustedCertificates: [pem, pem + pem] })).toEqual([])
    expect(problemsOf({ trustedCertificates: [pem, "not a certificate"] }).map((problem) => problem.field)).toEqual([
      "trustedCertificates[1]"
    ])
  })

  it.effect("validate fails with InvalidConfiguration reporting every problem, naming field, value and rule", () =>
    Effect.gen(function*() {
      const error = yield* Effect.flip(URLSessionConfiguration.validate(
        URLSessionConfiguration.background("../x").pipe(
          URLSessionConfiguration.with({ httpMaximumConnectionsPerHost: 0, timeoutIntervalForRequest: -1 })
        )
      ))
      expect(error._tag).toBe("InvalidConfiguration")
      expect(error.problems.map((problem) => problem.field)).toEqual([
        "identifier",
        "timeoutIntervalForRequest",
        "httpMaximumConnectionsPerHost"
      ])
      expect(error.field).toBe("identifier")
      expect(error.message).toBe(
        `The session configuration is not valid: identifier is "../x": it must be 1 to 255 letters, digits, ".", "_" or "-", not starting with "."; ` +
          "timeoutIntervalForRequest is -1: it must be a duration longer than zero (Duration.infinity for no limit); " +
          "httpMaximumConnectionsPerHost is 0: it must be a positive integer"
      )
    }))

  it.effect("validate gives back a valid configuration", () =>
    Effect.gen(function*() {
      expect(yield* URLSessionConfiguration.validate(URLSessionConfiguration.default)).toBe(
        URLSessionConfiguration.default
      )
    }))
})
