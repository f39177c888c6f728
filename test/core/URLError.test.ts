import { describe, expect, it } from "@effect/vitest"
import { ResumeData, URLError } from "@urlsession/core"
import { Cause, Effect, Either, Option, Schema } from "effect"
import * as util from "node:util"

const table: ReadonlyArray<readonly [URLError.Code, number]> = [
  ["Unknown", -1],
  ["Cancelled", -999],
  ["BadURL", -1000],
  ["TimedOut", -1001],
  ["UnsupportedURL", -1002],
  ["CannotFindHost", -1003],
  ["CannotConnectToHost", -1004],
  ["NetworkConnectionLost", -1005],
  ["DNSLookupFailed", -1006],
  ["HTTPTooManyRedirects", -1007],
  ["ResourceUnavailable", -1008],
  ["NotConnectedToInternet", -1009],
  ["RedirectToNonExistentLocation", -1010],
  ["BadServerResponse", -1011],
  ["UserCancelledAuthentication", -1012],
  ["UserAuthenticationRequired", -1013],
  ["ZeroByteResource", -1014],
  ["CannotDecodeRawData", -1015],
  ["CannotDecodeContentData", -1016],
  ["CannotParseResponse", -1017],
  ["AppTransportSecurityRequiresSecureConnection", -1022],
  ["FileDoesNotExist", -1100],
  ["FileIsDirectory", -1101],
  ["NoPermissionsToReadFile", -1102],
  ["DataLengthExceedsMaximum", -1103],
  ["SecureConnectionFailed", -1200],
  ["ServerCertificateHasBadDate", -1201],
  ["ServerCertificateUntrusted", -1202],
  ["ServerCertificateHasUnknownRoot", -1203],
  ["ServerCertificateNotYetValid", -1204],
  ["ClientCertificateRejected", -1205],
  ["ClientCertificateRequired", -1206],
  ["CannotLoadFromNetwork", -2000],
  ["CannotCreateFile", -3000],
  ["CannotOpenFile", -3001],
  ["CannotCloseFile", -3002],
  ["CannotWriteToFile", -3003],
  ["CannotRemoveFile", -3004],
  ["CannotMoveFile", -3005],
  ["DownloadDecodingFailedMidStream", -3006],
  ["DownloadDecodingFailedToComplete", -3007],
  ["InternationalRoamingOff", -1018],
  ["CallIsActive", -1019],
  ["DataNotAllowed", -1020],
  ["RequestBodyStreamExhausted", -1021],
  ["BackgroundSessionRequiresSharedContainer", -995],
  ["BackgroundSessionInUseByAnotherProcess", -996],
  ["BackgroundSessionWasDisconnected", -997]
]

describe("URLError", () => {
  it("has Apple's 48 codes with their raw values", () => {
    expect(table).toHaveLength(48)
    expect(Object.keys(URLError.codes)).toHaveLength(48)
    for (const [code, raw] of table) {
      expect(URLError.rawValue(code)).toBe(raw)
      expect(URLError.fromRawValue(raw)).toEqual(Option.some(code))
      expect(URLError.make(code).errorCode).toBe(raw)
    }
    expect(URLError.fromRawValue(-4242)).toEqual(Option.none())
  })

  it("round-trips through its Schema, cause included", () => {
    const error = URLError.make("TimedOut", {
      failingURL: "http://127.0.0.1:1/slow",
      message: "no byte came within timeoutIntervalForRequest",
      cause: new Error("idle for 60 s")
    })
    const encoded = JSON.parse(JSON.stringify(Schema.encodeSync(URLError.URLError)(error)))
    expect(encoded._tag).toBe("URLError")
    expect(encoded.code).toBe("TimedOut")
    const decoded = Schema.decodeUnknownSync(URLError.URLError)(encoded)
    expect(decoded).toBeInstanceOf(URLError.URLError)
    expect(decoded.code).toBe("TimedOut")
    expect(decoded.errorCode).toBe(-1001)
    expect(decoded.failingURL).toBe("http://127.0.0.1:1/slow")
    expect(decoded.message).toBe(
      "The request timed out while loading http://127.0.0.1:1/slow: no byte came within timeoutIntervalForRequest"
    )
    expect(String(decoded)).toBe(String(error))
    expect((decoded.cause as Error).message).toBe("idle for 60 s")
  })

  it("carries resume data through its Schema", () => {
    const resumeData = new ResumeData.ResumeData({
      version: 1,
      originalURL: "http://127.0.0.1:1/file",
      url: "http://127.0.0.1:1/file",
      headers: { Accept: "*/*" },
      etag: "\"v1\"",
      bytesReceived: 1000,
      expectedLength: 5000,
      partialFile: "CFNetworkDownload_0b9a2c5e-1f3d-4c8e-9a7b-2d6e5f4a3b21.tmp"
    })
    const error = URLError.make("NetworkConnectionLost", { failingURL: resumeData.url, resumeData })
    const encoded = JSON.parse(JSON.stringify(Schema.encodeSync(URLError.URLError)(error)))
    const decoded = Schema.decodeUnknownSync(URLError.URLError)(encoded)
    expect(decoded.resumeData).toBeInstanceOf(ResumeData.ResumeData)
    expect(decoded.resumeData).toEqual(resumeData)
  })

  describe("messages", () => {
    it("say what failed, for which URL, in plain words", () => {
      const url = "http://127.0.0.1:1/x"
      expect(URLError.make("NetworkConnectionLost", { failingURL: url }).message)
        .toBe("The connection was lost while loading http://127.0.0.1:1/x")
      expect(URLError.make("TimedOut", { failingURL: url }).message)
        .toBe("The request timed out while loading http://127.0.0.1:1/x")
      expect(URLError.make("CannotConnectToHost", { failingURL: url }).message)
        .toBe("Could not connect to the server while loading http://127.0.0.1:1/x")
      expect(URLError.make("ServerCertificateUntrusted", { failingURL: url }).message)
        .toBe("The server's certificate is not trusted while loading http://127.0.0.1:1/x")
      expect(URLError.make("CannotMoveFile", { failingURL: url }).message)
        .toBe("The file could not be moved while loading http://127.0.0.1:1/x")
    })

    it("add the reason after the headline, and leave the platform's words to the cause", () => {
      const cause = new Error("other side closed")
      const error = URLError.make("BadServerResponse", {
        failingURL: "http://127.0.0.1:1/x",
        message: "the response body contradicts its Content-Length",
        cause
      })
      expect(error.message).toBe(
        "The server sent a bad response while loading http://127.0.0.1:1/x: the response body contradicts its Content-Length"
      )
      expect(error.cause).toBe(cause)
      expect(error.message).not.toContain("other side closed")
    })

    it("without a URL, say what failed", () => {
      expect(URLError.make("CannotDecodeRawData").message).toBe("The data could not be decoded")
      expect(URLError.make("CannotDecodeRawData", { message: "the resume data is not JSON" }).message)
        .toBe("The data could not be decoded: the resume data is not JSON")
    })

    it("every code has its own words: one sentence, no code names, no final period", () => {
      const descriptions = Object.values(URLError.descriptions)
      expect(Object.keys(URLError.descriptions).sort()).toEqual(Object.keys(URLError.codes).sort())
      expect(new Set(descriptions).size).toBe(descriptions.length)
      for (const description of descriptions) expect(description).toMatch(/^[A-Z][A-Za-z' ()]+[a-z]$/)
    })
  })

  describe("String(error)", () => {
    const error = URLError.make("NetworkConnectionLost", { failingURL: "http://127.0.0.1:1/x" })
    const expected =
      "URLError [NetworkConnectionLost -1005]: The connection was lost while loading http://127.0.0.1:1/x"

    it("shows the name, the code and its raw value, and the message", () => {
      expect(String(error)).toBe(expected)
      expect(`${URLError.make("Cancelled")}`).toBe("URLError [Cancelled -999]: The task was cancelled")
    })

    it("is the first line of the stack and of what Node prints", () => {
      expect(error.stack!.split("\n")[0]).toBe(expected)
      expect(util.inspect(error).split("\n")[0]).toBe(expected)
    })

    it("keeps the name URLError and the tag", () => {
      expect(error.name).toBe("URLError")
      expect(error._tag).toBe("URLError")
      expect(Cause.pretty(Cause.fail(error)).split("\n")[0]).toBe(`URLError: ${error.message}`)
    })
  })

  describe("a password in a URL's user info", () => {
    it("is hidden in failingURL and in the message, the user name kept", () => {
      const error = URLError.make("NetworkConnectionLost", { failingURL: "http://alice:s3cret@127.0.0.1:1/x?q=1" })
      expect(error.failingURL).toBe("http://alice:***@127.0.0.1:1/x?q=1")
      expect(error.message).toBe("The connection was lost while loading http://alice:***@127.0.0.1:1/x?q=1")
    })

    it("is hidden wherever a URL appears in the reason", () => {
      const error = URLError.make("AppTransportSecurityRequiresSecureConnection", {
        failingURL: "http://127.0.0.1:1/x",
        message: "redirected from https://bob:hunter2@127.0.0.1:2/ and then ftp://c:d@e/"
      })
      expect(error.message).not.toMatch(/hunter2|:d@/)
      expect(error.message).toContain("https://bob:***@127.0.0.1:2/ and then ftp://c:***@e/")
    })

    it("is hidden whole, whatever characters it holds", () => {
      const hidden = (url: string) => URLError.make("BadURL", { failingURL: url }).failingURL
      expect(hidden("http://u:p@ss:w@rd@127.0.0.1/")).toBe("http://u:***@127.0.0.1/")
      expect(hidden("http://a@b:pw@127.0.0.1/")).toBe("http://a@b:***@127.0.0.1/")
      expect(hidden("HTTPS://u:%40x@host/")).toBe("HTTPS://u:***@host/")
      expect(hidden("http://u:@host/")).toBe("http://u:***@host/")
    })

    it("leaves URLs without a password as they are", () => {
      const kept = (url: string) => URLError.make("BadURL", { failingURL: url }).failingURL
      for (
        const url of [
          "http://127.0.0.1:8080/a@b",
          "http://user@127.0.0.1:8080/",
          "http://127.0.0.1:8080/?next=a:b@c",
          "http://127.0.0.1:8080/#x:y@z",
          "no scheme here"
        ]
      ) expect(kept(url)).toBe(url)
    })

    it("is hidden also in an error built with new, and stays hidden through the Schema", () => {
      const error = new URLError.URLError({
        code: "TimedOut",
        failingURL: "http://u:pw@127.0.0.1:1/",
        message: "timed out at http://u:pw@127.0.0.1:1/"
      })
      expect(error.failingURL).toBe("http://u:***@127.0.0.1:1/")
      expect(error.message).toBe("timed out at http://u:***@127.0.0.1:1/")
      const decoded = Schema.decodeUnknownSync(URLError.URLError)(Schema.encodeSync(URLError.URLError)(error))
      expect(decoded.failingURL).toBe("http://u:***@127.0.0.1:1/")
      expect(JSON.stringify(Schema.encodeSync(URLError.URLError)(error))).not.toContain("pw")
    })
  })

  it("refuses to decode a code that does not exist", () => {
    const decoded = Schema.decodeUnknownEither(URLError.URLError)({ _tag: "URLError", code: "Oops", message: "" })
    expect(Either.isLeft(decoded)).toBe(true)
  })

  it.effect("catchCode recovers from one code and lets the others through", () =>
    Effect.gen(function*() {
      const failing = (code: URLError.Code) => Effect.fail(URLError.make(code))
      const recovered = yield* failing("TimedOut").pipe(
        URLError.catchCode("TimedOut", (error) => Effect.succeed(error.errorCode))
      )
      expect(recovered).toBe(-1001)
      const passed = yield* failing("Cancelled").pipe(
        URLError.catchCode("TimedOut", () => Effect.succeed("recovered")),
        Effect.flip
      )
      expect(passed.code).toBe("Cancelled")
      const direct = yield* URLError.catchCode(failing("BadURL"), "BadURL", () => Effect.succeed("direct"))
      expect(direct).toBe("direct")
    }))

  it.effect("catchCodes takes one handler per code", () =>
    Effect.gen(function*() {
      const handle = (code: URLError.Code) =>
        Effect.fail(URLError.make(code)).pipe(
          URLError.catchCodes({
            TimedOut: () => Effect.succeed("retry later"),
            CannotFindHost: (error) => Effect.succeed(`no host (${error.errorCode})`)
          })
        )
      expect(yield* handle("TimedOut")).toBe("retry later")
      expect(yield* handle("CannotFindHost")).toBe("no host (-1003)")
      expect((yield* Effect.flip(handle("BadURL"))).code).toBe("BadURL")
    }))
})
