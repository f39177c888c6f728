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
import { ResumeData } from "./internal/resumeDataSchema.js"
import { redactPasswords } from "./internal/userInfo.js"

/**
 * Apple's NSURLError table: the 48 codes and their raw values.
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
 * What each code means, in plain words: the start of every message {@link make} writes.
 *
 * @since 0.1.0
 * @category models
 */
export const descriptions: { readonly [K in Code]: string } = {
  Unknown: "An unknown error occurred",
  Cancelled: "The task was cancelled",
  BadURL: "The URL is not valid",
  TimedOut: "The request timed out",
  UnsupportedURL: "The URL's scheme is not supported",
  CannotFindHost: "The server's host name could not be found",
  CannotConnectToHost: "Could not connect to the server",
  NetworkConnectionLost: "The connection was lost",
  DNSLookupFailed: "The host name lookup failed",
  HTTPTooManyRedirects: "There were too many redirects",
  ResourceUnavailable: "The resource is unavailable",
  NotConnectedToInternet: "The network cannot be reached",
  RedirectToNonExistentLocation: "A redirect led nowhere",
  BadServerResponse: "The server sent a bad response",
  UserCancelledAuthentication: "Authentication was cancelled",
  UserAuthenticationRequired: "Authentication is required",
  ZeroByteResource: "The resource is empty",
  CannotDecodeRawData: "The data could not be decoded",
  CannotDecodeContentData: "The response body could not be decoded",
  CannotParseResponse: "The response could not be parsed",
  AppTransportSecurityRequiresSecureConnection: "A secure connection is required",
  FileDoesNotExist: "The file does not exist",
  FileIsDirectory: "The file is a directory",
  NoPermissionsToReadFile: "There is no permission to read the file",
  DataLengthExceedsMaximum: "The data is longer than allowed",
  SecureConnectionFailed: "A secure connection could not be made",
  ServerCertificateHasBadDate: "The server's certificate has expired",
  ServerCertificateUntrusted: "The server's certificate is not trusted",
  ServerCertificateHasUnknownRoot: "The server's certificate has an unknown root",
  ServerCertificateNotYetValid: "The server's certificate is not yet valid",
  ClientCertificateRejected: "The server rejected the client certificate",
  ClientCertificateRequired: "The server requires a client certificate",
  CannotLoadFromNetwork: "The resource could not be loaded from the network",
  CannotCreateFile: "The file could not be created",
  CannotOpenFile: "The file could not be opened",
  CannotCloseFile: "The file could not be closed",
  CannotWriteToFile: "The file could not be written",
  CannotRemoveFile: "The file could not be removed",
  CannotMoveFile: "The file could not be moved",
  DownloadDecodingFailedMidStream: "The download could not be decoded",
  DownloadDecodingFailedToComplete: "The download could not be decoded to its end",
  InternationalRoamingOff: "International roaming is off",
  CallIsActive: "A call is active",
  DataNotAllowed: "Cellular data is not allowed",
  RequestBodyStreamExhausted: "The request body stream could not be sent",
  BackgroundSessionRequiresSharedContainer: "A background session requires a shared container",
  BackgroundSessionInUseByAnotherProcess: "The background session is in use by another process",
  BackgroundSessionWasDisconnected: "The background session was disconnected"
}

type Fields = {
  readonly code: Code
  readonly failingURL?: string | undefined
  readonly message: string
  readonly cause?: unknown
  readonly resumeData?: ResumeData | undefined
}

/**
 * A failed URL load. Schema-encodable, so it can be persisted or cross a process boundary;
 * the `cause` is encoded as a defect (its message and stack survive, its prototype does not).
 *
 * No password from a URL's user info is kept, in `failingURL` or in the message: it is
 * replaced by `***` here, whoever builds the error.
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
  resumeData: Schema.optional(ResumeData)
}) {
  constructor(fields: Fields, options?: Schema.MakeOptions) {
    super({
      ...fields,
      failingURL: fields.failingURL === undefined ? undefined : redactPasswords(fields.failingURL),
      message: redactPasswords(fields.message)
    }, options)
    // The stack's first line is what `String(error)` says, as Node's own errors do.
    if (typeof this.stack === "string") {
      const firstLine = this.stack.indexOf("\n")
      this.stack = `${this.toString()}${firstLine === -1 ? "" : this.stack.slice(firstLine)}`
    }
  }

  /**
   * The raw NSURLError value of `code` (`-1001` for `"TimedOut"`).
   *
   * @since 0.1.0
   */
  get errorCode(): number {
    return codes[this.code]
  }

  /**
   * The name, the code and its raw value, and the message:
   * `URLError [NetworkConnectionLost -1005]: The connection was lost while loading http://host/x`.
   *
   * @since 0.1.0
   */
  override toString(): string {
    return `${this.name} [${this.code} ${this.errorCode}]: ${this.message}`
  }
}

/**
 * Builds a `URLError` whose message reads like every other: what failed (the code's
 * {@link descriptions}), for which URL, and, when `message` is given, why, in plain words:
 * `"The server sent a bad response while loading http://host/x: the status code is 099"`.
 * What the platform said (undici's, Node's words) belongs in `cause`, not in `message`.
 *
 * @since 0.1.0
 * @category constructors
 */
export const make = (
  code: Code,
  options?: {
    readonly failingURL?: string | undefined
    /** Why, in plain words, after the headline; starts in lower case. */
    readonly message?: string | undefined
    readonly cause?: unknown
    readonly resumeData?: ResumeData | undefined
  }
): URLError => {
  const failingURL = options?.failingURL
  const where = failingURL === undefined ? "" : ` while loading ${failingURL}`
  const why = options?.message === undefined || options.message === "" ? "" : `: ${options.message}`
  return new URLError({
    code,
    failingURL,
    message: `${descriptions[code]}${where}${why}`,
    cause: options?.cause,
    resumeData: options?.resumeData
  })
}

const transientCodes: ReadonlySet<Code> = new Set<Code>([
  "TimedOut",
  "CannotConnectToHost",
  "NetworkConnectionLost",
  "DNSLookupFailed",
  "NotConnectedToInternet",
  "BackgroundSessionWasDisconnected"
])

/**
 * Might the same load succeed if tried again? True for a timeout, a connection refused or
 * lost, a failed DNS lookup, no network, and a background session's lost daemon; false for
 * what trying again cannot mend (a bad URL, an untrusted certificate, a host that does not
 * exist, a cancel, a full disk). `URLSession.retryTransient` retries by it.
 *
 * @since 0.1.0
 * @category predicates
 */
export const isTransient = (error: URLError): boolean => transientCodes.has(error.code)

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
      (error): Effect.Effect<A2, E | E2, R2> => hasCode(error, code) ? f(error) : Effect.fail(error)
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
