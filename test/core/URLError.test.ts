import { describe, expect, it } from "@effect/vitest"
import { ResumeData, URLError } from "@urlsession/core"
import { Effect, Either, Option, Schema } from "effect"

const table: ReadonlyArray<readonly [URLError.Code, number]> = [
  ["Unknown", -1], ["Cancelled", -999], ["BadURL", -1000], ["TimedOut", -1001], ["UnsupportedURL", -1002],
  ["CannotFindHost", -1003], ["CannotConnectToHost", -1004], ["NetworkConnectionLost", -1005],
  ["DNSLookupFailed", -1006], ["HTTPTooManyRedirects", -1007], ["ResourceUnavailable", -1008],
  ["NotConnectedToInternet", -1009], ["RedirectToNonExistentLocation", -1010], ["BadServerResponse", -1011],
  ["UserCancelledAuthentication", -1012], ["UserAuthenticationRequired", -1013], ["ZeroByteResource", -1014],
  ["CannotDecodeRawData", -1015], ["CannotDecodeContentData", -1016], ["CannotParseResponse", -1017],
  ["AppTransportSecurityRequiresSecureConnection", -1022], ["FileDoesNotExist", -1100],
  ["FileIsDirectory", -1101], ["NoPermissionsToReadFile", -1102], ["DataLengthExceedsMaximum", -1103],
  ["SecureConnectionFailed", -1200], ["ServerCertificateHasBadDate", -1201], ["ServerCertificateUntrusted", -1202],
  ["ServerCertificateHasUnknownRoot", -1203], ["ServerCertificateNotYetValid", -1204],
  ["ClientCertificateRejected", -1205], ["ClientCertificateRequired", -1206], ["CannotLoadFromNetwork", -2000],
  ["CannotCreateFile", -3000], ["CannotOpenFile", -3001], ["CannotCloseFile", -3002], ["CannotWriteToFile", -3003],
  ["CannotRemoveFile", -3004], ["CannotMoveFile", -3005], ["DownloadDecodingFailedMidStream", -3006],
  ["DownloadDecodingFailedToComplete", -3007], ["InternationalRoamingOff", -1018], ["CallIsActive", -1019],
  ["DataNotAllowed", -1020], ["RequestBodyStreamExhausted", -1021],
  ["BackgroundSessionRequiresSharedContainer", -995], ["BackgroundSessionInUseByAnotherProcess", -996],
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
      message: "The request timed out.",
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
    expect(decoded.message).toBe("The request timed out.")
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

  it("refuses to decode a code that does not exist", () => {
    const decoded = Schema.decodeUnknownEither(URLError.URLError)({ _tag: "URLError", code: "Oops", message: "" })
    expect(Either.isLeft(decoded)).toBe(true)
  })

  it.effect("catchCode recovers from one code and lets the others through", () =>
    Effect.gen(function*() {
      const failing = (code: URLError.Code) => Effect.fail(URLError.make(code))
      const recovered = yield* failing("TimedOut").pipe(URLError.catchCode("TimedOut", (error) => Effect.succeed(error.errorCode)))
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
