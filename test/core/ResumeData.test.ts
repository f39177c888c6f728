import { describe, expect, it } from "@effect/vitest"
import { ResumeData, URLError } from "@urlsession/core"
import { Cause, Effect, Encoding, Exit, FastCheck, Hash } from "effect"
import { faultRuns } from "../fixtures/hostile.js"

// A longer hunt: URLSESSION_FAULT_RUNS=100000 npx vitest run test/core/ResumeData.test.ts
const fastCheck = { fastCheck: { numRuns: faultRuns(200) } }

const valid = new ResumeData.ResumeData({
  version: 1,
  originalURL: "http://127.0.0.1:1/file",
  url: "http://127.0.0.1:1/file",
  headers: { Accept: "*/*" },
  etag: "\"v1\"",
  bytesReceived: 1000,
  expectedLength: 5000,
  partialFile: "CFNetworkDownload_0b9a2c5e-1f3d-4c8e-9a7b-2d6e5f4a3b21.tmp"
})

const encodeJSON = (value: unknown): string => Encoding.encodeBase64Url(JSON.stringify(value))

/**
 * What decoding `encoded` comes to: resume data, or a failure with `CannotDecodeRawData` that
 * can be printed and serialized. Anything else (a defect, a second failure) fails the test.
 */
const outcomeOf = (encoded: string): ResumeData.ResumeData | URLError.URLError => {
  const exit = Effect.runSyncExit(ResumeData.decode(encoded))
  if (Exit.isSuccess(exit)) return exit.value
  expect(Cause.isFailType(exit.cause), Cause.pretty(exit.cause).slice(0, 2000)).toBe(true)
  const error = (exit.cause as Cause.Fail<URLError.URLError>).error
  expect(error.code).toBe("CannotDecodeRawData")
  // The error and its cause are printed and serialized by whoever gets them: that too must
  // not die, and must stay readable.
  expect(error.message.length).toBeLessThan(1000)
  expect(error.message).toContain("resume data")
  String(error)
  JSON.stringify(error)
  Cause.pretty(exit.cause)
  return error
}

const expectFailure = (encoded: string): URLError.URLError => {
  const outcome = outcomeOf(encoded)
  expect(outcome).toBeInstanceOf(URLError.URLError)
  return outcome as URLError.URLError
}

const nested = (depth: number, open: string, close: string, inner = "1") =>
  `${open.repeat(depth)}${inner}${close.repeat(depth)}`

const arbitraryResumeData: FastCheck.Arbitrary<ResumeData.ResumeData> = FastCheck.record({
  originalURL: FastCheck.webUrl(),
  url: FastCheck.webUrl(),
  headers: FastCheck.dictionary(FastCheck.string(), FastCheck.string()),
  etag: FastCheck.option(FastCheck.string().filter((tag) => !tag.startsWith("W/")), { nil: undefined }),
  lastModified: FastCheck.option(FastCheck.string(), { nil: undefined }),
  bytesReceived: FastCheck.nat(),
  expectedLength: FastCheck.integer({ min: -1 }),
  partialFile: FastCheck.uuid().map((uuid) => `CFNetworkDownload_${uuid}.tmp`)
}, { requiredKeys: ["originalURL", "url", "headers", "bytesReceived", "expectedLength", "partialFile"] })
  .map((fields) => new ResumeData.ResumeData({ version: 1, ...fields }))

// The JSON text a hostile author would put in a field: text, not values, since a value nested
// thousands deep is more than JSON.stringify (or fast-check's reporting) can walk.
const hostileFieldText: FastCheck.Arbitrary<string> = FastCheck.oneof(
  FastCheck.jsonValue().map((value) => JSON.stringify(value)),
  FastCheck.constantFrom(
    1e308,
    -1e308,
    -1,
    -2,
    1.5,
    2 ** 53 + 2,
    Number.MAX_SAFE_INTEGER,
    0,
    "",
    null,
    true,
    [],
    {},
    "../../etc/passwd",
    "CFNetworkDownload_../../x.tmp",
    "/tmp/CFNetworkDownload_0b9a2c5e-1f3d-4c8e-9a7b-2d6e5f4a3b21.tmp",
    "file:///etc/passwd",
    "ftp://user:secret@example.com/",
    "javascript:alert(1)",
    "x".repeat(100_000),
    { constructor: "x" },
    { headers: { a: { b: "c" } } }
  ).map((value) => JSON.stringify(value)),
  FastCheck.constant("{\"__proto__\":{\"x\":1}}"),
  FastCheck.tuple(FastCheck.integer({ min: 1, max: 20_000 }), FastCheck.constantFrom(["[", "]"], ["{\"a\":", "}"]))
    .map(([depth, [open, close]]) => nested(depth, open!, close!))
)

const fieldNames = [
  "version",
  "originalURL",
  "url",
  "headers",
  "etag",
  "lastModified",
  "bytesReceived",
  "expectedLength",
  "partialFile",
  "extra",
  "__proto__"
] as const

describe("ResumeData", () => {
  it.prop("decode(encode(x)) is x", [arbitraryResumeData], ([resumeData]) => {
    const encoded = Effect.runSync(ResumeData.encode(resumeData))
    expect(outcomeOf(encoded)).toEqual(resumeData)
  }, fastCheck)

  it("8 KB of nested brackets fails with CannotDecodeRawData, not a stack overflow", () => {
    for (const depth of [4096, 100_000]) {
      const error = expectFailure(Encoding.encodeBase64Url(nested(depth, "[", "]", "")))
      expect(error.message).toBe("The data could not be decoded: the resume data is nested deeper than 2 levels")
    }
  })

  it("deeply nested objects fail with CannotDecodeRawData, also inside a field", () => {
    const deepObject = nested(4096, "{\"a\":", "}")
    expectFailure(Encoding.encodeBase64Url(deepObject))
    for (const field of fieldNames) {
      const error = expectFailure(Encoding.encodeBase64Url(withFieldText(encodedFields(valid), field, deepObject)))
      expect(error.message).toContain("nested deeper")
    }
  })

  it("input longer than any resume data fails before it is parsed", () => {
    const error = expectFailure(encodeJSON({ ...encodedFields(valid), headers: { big: "x".repeat(2 ** 20) } }))
    expect(error.message).toBe("The data could not be decoded: the resume data is longer than 1048576 characters")
  })

  it("says why in plain words, without repeating the input", () => {
    const why = (encoded: string) => expectFailure(encoded).message.replace("The data could not be decoded: ", "")
    const { etag: _, ...withoutETag } = encodedFields(valid)
    expect(why("not base64!")).toBe("the resume data is not base64url")
    expect(why(Encoding.encodeBase64Url("{"))).toBe("the resume data is not JSON")
    expect(why(encodeJSON(["http://127.0.0.1:1/file"]))).toBe(
      "the resume data is not an object of resume data's fields"
    )
    expect(why(encodeJSON({ ...encodedFields(valid), partialFile: "../../etc/passwd" })))
      .toBe("the resume data has an invalid partialFile")
    expect(why(encodeJSON({ ...encodedFields(valid), headers: { "X-A": 1 } }))).toBe(
      "the resume data has an invalid headers.\"X-A\""
    )
    expect(why(encodeJSON({ ...encodedFields(valid), etag: "W/\"v1\"" }))).toBe("the resume data has an invalid etag")
    expect(why(encodeJSON({ ...withoutETag, version: undefined }))).toBe("the resume data has no field version")
    expect(why(encodeJSON({ ...encodedFields(valid), ["y".repeat(10_000)]: 1 })))
      .toBe(`the resume data has an unknown field "${"y".repeat(40)}…"`)
  })

  it("validate checks a value as decode checks its string, whatever made the value", () => {
    const validated = (value: unknown) => Effect.runSyncExit(ResumeData.validate(value))
    expect(validated(valid)).toEqual(Exit.succeed(valid))
    // Once compared, an instance also carries its cached hash under a symbol: no field of its own.
    Hash.hash(valid)
    expect(validated(valid)).toEqual(Exit.succeed(valid))
    expect(validated({ ...encodedFields(valid) })).toEqual(Exit.succeed(valid))
    const why = (value: unknown) => {
      const exit = validated(value)
      if (Exit.isSuccess(exit)) return "decoded"
      expect(Cause.isFailType(exit.cause), Cause.pretty(exit.cause)).toBe(true)
      const error = (exit.cause as Cause.Fail<URLError.URLError>).error
      expect(error.code).toBe("CannotDecodeRawData")
      return error.message.replace("The data could not be decoded: ", "")
    }
    expect(why({ ...valid, partialFile: "../outside.bin" })).toBe("the resume data has an invalid partialFile")
    expect(why({ ...valid, bytesReceived: Number.NaN })).toBe("the resume data has an invalid bytesReceived")
    expect(why({ ...valid, bytesReceived: 2 ** 53 })).toBe("the resume data has an invalid bytesReceived")
    expect(why({ ...valid, url: "file:///etc/hostname" })).toBe("the resume data has an invalid url")
    const cyclic: Record<string, unknown> = { ...valid }
    cyclic["headers"] = cyclic
    expect(why(cyclic)).toBe("the resume data is nested deeper than 2 levels")
    expect(why({ ...valid, headers: JSON.parse(nested(100_000, "[", "]", "")) })).toBe(
      "the resume data is nested deeper than 2 levels"
    )
    // Values that run code when read: read once, inside the check, never later.
    const throwing = () => {
      throw new Error("hostile")
    }
    expect(why(Object.defineProperty({ ...valid }, "version", { get: throwing, enumerable: true }))).toBe(
      "the resume data cannot be read"
    )
    expect(why(new Proxy({}, { ownKeys: throwing }))).toBe("the resume data cannot be read")
    expect(why({ ...valid, headers: new Proxy({}, { ownKeys: throwing }) })).toBe("the resume data cannot be read")
  })

  it.prop(
    "any string fails or decodes, never dies",
    [FastCheck.string({ unit: "binary", maxLength: 500 })],
    ([text]) => {
      outcomeOf(text)
    },
    fastCheck
  )

  it.prop("any base64url fails or decodes, never dies", [FastCheck.uint8Array({ maxLength: 2000 })], ([bytes]) => {
    outcomeOf(Encoding.encodeBase64Url(bytes))
  }, fastCheck)

  it.prop("any JSON fails or decodes, never dies", [FastCheck.jsonValue()], ([value]) => {
    outcomeOf(encodeJSON(value))
  }, fastCheck)

  it.prop(
    "valid resume data with a character changed, added or removed fails or decodes, never dies",
    [arbitraryResumeData, FastCheck.nat(), FastCheck.constantFrom("replace", "insert", "remove"), FastCheck.char()],
    ([resumeData, at, how, char]) => {
      const encoded = Effect.runSync(ResumeData.encode(resumeData))
      const index = at % encoded.length
      const mutated = encoded.slice(0, index) + (how === "remove" ? "" : char) +
        encoded.slice(how === "insert" ? index : index + 1)
      outcomeOf(mutated)
    },
    fastCheck
  )

  it.prop(
    "valid resume data with a field set to anything fails or decodes, never dies",
    [arbitraryResumeData, FastCheck.constantFrom(...fieldNames), hostileFieldText],
    ([resumeData, field, text]) => {
      outcomeOf(Encoding.encodeBase64Url(withFieldText(encodedFields(resumeData), field, text)))
    },
    fastCheck
  )

  it.prop(
    "a partial file outside the session's pattern never decodes",
    [arbitraryResumeData, FastCheck.string()],
    ([resumeData, name]) => {
      FastCheck.pre(!/^CFNetworkDownload_[0-9a-f-]{36}\.tmp$/.test(name))
      expectFailure(encodeJSON({ ...encodedFields(resumeData), partialFile: name }))
      expectFailure(encodeJSON({ ...encodedFields(resumeData), partialFile: `../${resumeData.partialFile}` }))
    },
    fastCheck
  )
})

const encodedFields = (resumeData: ResumeData.ResumeData): Record<string, unknown> => {
  const encoded = Effect.runSync(ResumeData.encode(resumeData))
  return JSON.parse(new TextDecoder().decode(
    Encoding.decodeBase64Url(encoded).pipe((either) => {
      if (either._tag === "Left") throw new Error("encode made something decodeBase64Url refuses")
      return either.right
    })
  ))
}

/** The JSON text of `fields` with `field` set to the JSON text `text`, whatever it holds. */
const withFieldText = (fields: Record<string, unknown>, field: string, text: string): string => {
  const marker = "\u0000field\u0000"
  const withMarker = { ...fields }
  Object.defineProperty(withMarker, field, { value: marker, enumerable: true, configurable: true, writable: true })
  return JSON.stringify(withMarker).replace(JSON.stringify(marker), () => text)
}
