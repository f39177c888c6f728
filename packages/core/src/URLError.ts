/**
 * The failures of the URL Loading System, one per `NSURLError` code.
 *
 * Every task fails with a `URLError` whose `code` is the name of Apple's code without the
 * `NSURLError` prefix (`"TimedOut"`) and whose `errorCode` is its raw value (`-1001`).
 * HTTP error statuses are not failures: a 404 is a response, as in Apple's API.
 *
 * @since 0.1.0
 */
import * as Effect from "effect/Effect"
import { dual } from "effect/Function"
import * as Option from "effect/Option"
import * as Schema from "effect/Schema"
import { ResumeData } from "./ResumeData.js"

type ResumeDataEncoded = Schema.Schema.Encoded<typeof ResumeData>

/**
 * Apple's NSURLError table (seed `000_…txt`): the 48 codes and their raw values.
 *
 * @since 0.1.0
 * @category models
 */
export const codes = {
  Unknown: -1,
  Cancelled: -999,
  BadURL: -1000,
  TimedOut: -1001,
  UnsupportedURL: -1002,
  CannotFindHost: -1003,
  CannotConnectToHost: -1004,
  NetworkConnectionLost: -1005,
  DNSLookupFailed: -1006,
  HTTPTooManyRedirects: -1007,
  ResourceUnavailable: -1008,
  NotConnectedToInternet: -1009,
  RedirectToNonExistentLocation: -1010,
  BadServerResponse: -1011,
  UserCancelledAuthentication: -1012,
  UserAuthenticationRequired: -1013,
  ZeroByteResource: -1014,
  CannotDecodeRawData: -1015,
  CannotDecodeContentData: -1016,
  CannotParseResponse: -1017,
  AppTransportSecurityRequiresSecureConnection: -1022,
  FileDoesNotExist: -1100,
  FileIsDirectory: -1101,
  NoPermissionsToReadFile: -1102,
  DataLengthExceedsMaximum: -1103,
  SecureConnectionFailed: -1200,
  ServerCertificateHasBadDate: -1201,
  ServerCertificateUntrusted: -1202,
  ServerCertificateHasUnknownRoot: -1203,
  ServerCertificateNotYetValid: -1204,
  ClientCertificateRejected: -1205,
  ClientCertificateRequired: -1206,
  CannotLoadFromNetwork: -2000,
  CannotCreateFile: -3000,
  CannotOpenFile: -3001,
  CannotCloseFile: -3002,
  CannotWriteToFile: -3003,
  CannotRemoveFile: -3004,
  CannotMoveFile: -3005,
  DownloadDecodingFailedMidStream: -3006,
  DownloadDecodingFailedToComplete: -3007,
  InternationalRoamingOff: -1018,
  CallIsActive: -1019,
  DataNotAllowed: -1020,
  RequestBodyStreamExhausted: -1021,
  BackgroundSessionRequiresSharedContainer: -995,
  BackgroundSessionInUseByAnotherProcess: -996,
  BackgroundSessionWasDisconnected: -997
} as const

/**
 * The name of an NSURLError code, without the `NSURLError` prefix.
 *
 * @since 0.1.0
 * @category models
 */
export type Code = keyof typeof codes

/**
 * @since 0.1.0
 * @category models
 */
export const Code: Schema.Schema<Code> = Schema.Literal(...(Object.keys(codes) as Array<Code>))

const codesByRawValue: ReadonlyMap<number, Code> = new Map(
  (Object.keys(codes) as Array<Code>).map((code) => [codes[code], code])
)

/**
 * The raw value of a code: `rawValue("TimedOut") === -1001`.
 *
 * @since 0.1.0
 * @category codes
 */
export const rawValue = (code: Code): number => codes[code]

/**
 * The code of a raw value: `fromRawValue(-1001)` is `Some("TimedOut")`.
 *
 * @since 0.1.0
 * @category codes
 */
export const fromRawValue = (errorCode: number): Option.Option<Code> =>
  Option.fromNullable(codesByRawValue.get(errorCode))

/**
 * A failed URL load. Schema-encodable, so it can be persisted or cross a process boundary;
 * the `cause` is encoded as a defect (its message and stack survive, its prototype does not).
 *
 * @since 0.1.0
 * @category errors
 */
export class URLError extends Schema.TaggedError<URLError>("@urlsession/core/URLError")("URLError", {
  code: Code,
  failingURL: Schema.optional(Schema.String),
  message: Schema.String,
  cause: Schema.optional(Schema.Defect),
  /** For a download that failed part way: what `downloadTaskWithResumeData` needs to go on. */
  resumeData: Schema.optional(Schema.suspend((): Schema.Schema<ResumeData, ResumeDataEncoded> => ResumeData))
}) {
  /**
   * The raw NSURLError value of `code` (`-1001` for `"TimedOut"`).
   *
   * @since 0.1.0
   */
  get errorCode(): number {
    return codes[this.code]
  }
}

/**
 * Builds a `URLError`; the message defaults to a description of the code.
 *
 * @since 0.1.0
 * @category constructors
 */
export const make = (
  code: Code,
  options?: {
    readonly failingURL?: string | undefined
    readonly message?: string | undefined
    readonly cause?: unknown
    readonly resumeData?: ResumeData | undefined
  }
): URLError =>
  new URLError({
    code,
    failingURL: options?.failingURL,
    message: options?.message ?? `${code} (${codes[code]})`,
    cause: options?.cause,
    resumeData: options?.resumeData
  })

/**
 * Is this value a `URLError`?
 *
 * @since 0.1.0
 * @category refinements
 */
export const isURLError = (u: unknown): u is URLError => u instanceof URLError

/**
 * Recovers from the failures with one code; the others stay in the error channel.
 *
 * @example
 * ```ts
 * import { Effect } from "effect"
 * import { URLError, URLSession } from "@urlsession/core"
 *
 * const page = URLSession.data("http://127.0.0.1:8080/").pipe(
 *   URLError.catchCode("TimedOut", () => Effect.succeed(undefined))
 * )
 * ```
 *
 * @since 0.1.0
 * @category error handling
 */
export const catchCode: {
  <K extends Code, A2, E2, R2>(
    code: K,
    f: (error: URLError & { readonly code: K }) => Effect.Effect<A2, E2, R2>
  ): <A, E, R>(self: Effect.Effect<A, E, R>) => Effect.Effect<A | A2, E | E2, R | R2>
  <A, E, R, K extends Code, A2, E2, R2>(
    self: Effect.Effect<A, E, R>,
    code: K,
    f: (error: URLError & { readonly code: K }) => Effect.Effect<A2, E2, R2>
  ): Effect.Effect<A | A2, E | E2, R | R2>
} = dual(
  3,
  <A, E, R, K extends Code, A2, E2, R2>(
    self: Effect.Effect<A, E, R>,
    code: K,
    f: (error: URLError & { readonly code: K }) => Effect.Effect<A2, E2, R2>
  ): Effect.Effect<A | A2, E | E2, R | R2> =>
    Effect.catchAll(
      self,
      (error): Effect.Effect<A2, E | E2, R2> =>
        hasCode(error, code) ? f(error) : Effect.fail(error)
    )
)

/**
 * One recovery per code, for {@link catchCodes}.
 *
 * @since 0.1.0
 * @category models
 */
export type CodeCases = {
  readonly [K in Code]?: (error: URLError & { readonly code: K }) => Effect.Effect<unknown, unknown, unknown>
}

const hasCode = <K extends Code>(u: unknown, code: K): u is URLError & { readonly code: K } =>
  isURLError(u) && u.code === code

type CaseEffect<Cases extends CodeCases> = {
  [K in keyof Cases]: Cases[K] extends (error: never) => infer X ? Extract<X, Effect.Effect<unknown, unknown, unknown>>
    : never
}[keyof Cases]

/**
 * Recovers from several codes at once, one handler per code (like `Effect.catchTags`).
 *
 * @since 0.1.0
 * @category error handling
 */
export const catchCodes: {
  <Cases extends CodeCases>(
    cases: Cases
  ): <A, E, R>(self: Effect.Effect<A, E, R>) => Effect.Effect<
    A | Effect.Effect.Success<CaseEffect<Cases>>,
    E | Effect.Effect.Error<CaseEffect<Cases>>,
    R | Effect.Effect.Context<CaseEffect<Cases>>
  >
  <A, E, R, Cases extends CodeCases>(
    self: Effect.Effect<A, E, R>,
    cases: Cases
  ): Effect.Effect<
    A | Effect.Effect.Success<CaseEffect<Cases>>,
    E | Effect.Effect.Error<CaseEffect<Cases>>,
    R | Effect.Effect.Context<CaseEffect<Cases>>
  >
} = dual(
  2,
  <A, E, R>(self: Effect.Effect<A, E, R>, cases: CodeCases): Effect.Effect<unknown, unknown, unknown> =>
    Effect.catchAll(self, (error) => {
      const handle = isURLError(error)
        ? cases[error.code] as ((error: URLError) => Effect.Effect<unknown, unknown, unknown>) | undefined
        : undefined
      return handle === undefined ? Effect.fail(error) : handle(error as URLError)
    })
)
