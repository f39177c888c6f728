/**
 * The behaviour and policies of a session, with Apple's defaults. A session copies its
 * configuration when it is created; changing a configuration never changes a live session.
 *
 * Only properties that the runtime honours are here; the rest of Apple's arrive with the
 * features that give them meaning (cache, cookies, credentials, background transfers).
 *
 * @since 0.1.0
 */
import * as Data from "effect/Data"
import * as Duration from "effect/Duration"
import * as Effect from "effect/Effect"
import { dual } from "effect/Function"
import * as Option from "effect/Option"
import { type Pipeable, pipeArguments } from "effect/Pipeable"
import { hasProperty } from "effect/Predicate"
import type { URLProtocol } from "./URLProtocol.js"

/**
 * @since 0.1.0
 * @category type ids
 */
export const TypeId: unique symbol = Symbol.for("@urlsession/core/URLSessionConfiguration")

/**
 * @since 0.1.0
 * @category type ids
 */
export type TypeId = typeof TypeId

/**
 * @since 0.1.0
 * @category models
 */
export interface URLSessionConfiguration extends Pipeable {
  readonly [TypeId]: TypeId
  /** Set for background sessions only: the name under which their transfers are kept. */
  readonly identifier: Option.Option<string>
  /** Idle timeout: how long a task may wait for the next byte (including DNS, connect and
   * the first byte of the response). Apple's default: 60 seconds. */
  readonly timeoutIntervalForRequest: Duration.Duration
  /** How long a whole task may take. Apple's default: 7 days. */
  readonly timeoutIntervalForResource: Duration.Duration
  /** How many connections the session opens to one host at most. Apple's default on macOS: 6. */
  readonly httpMaximumConnectionsPerHost: number
  /** Header fields added to every request that does not set them itself. */
  readonly httpAdditionalHeaders: Readonly<Record<string, string>>
  /** PEM certificates trusted as roots in addition to the platform's own, for server trust
   * evaluation (a private CA, or a self-signed development server). */
  readonly trustedCertificates: ReadonlyArray<string>
  /** Whether a redirect may lead from `https` to plain `http`. Default: `false`: such a
   * redirect fails with `AppTransportSecurityRequiresSecureConnection` (-1022). */
  readonly allowsInsecureRedirects: boolean
  /** The most bytes a compressed (gzip, deflate, br) body may decode to before the task fails
   * with `DataLengthExceedsMaximum`: a guard against decompression bombs. Default: 1 GiB. */
  readonly maximumDecodedContentLength: number
  /** Protocols of the caller's own, tried in order before the built-in ones (`http`, `https`,
   * `file`, `data`): the first whose `canInit` accepts a URL loads it. */
  readonly protocolClasses: ReadonlyArray<URLProtocol>
  /** The URL that relative request URLs are resolved against, as Apple's
   * `URL(string:relativeTo:)` does: `"users/1"` against `https://api.example/v2/` is
   * `https://api.example/v2/users/1`. An absolute request URL ignores it. Default: none. */
  readonly baseURL: Option.Option<string>
}

/**
 * The fields `with` can change; durations in any `Duration` form. `with` takes any value
 * and never throws: what is out of range, or not a duration at all, is reported by
 * {@link validate}, which every session layer runs before it starts.
 *
 * @since 0.1.0
 * @category models
 */
export interface Overrides {
  readonly timeoutIntervalForRequest?: Duration.DurationInput
  readonly timeoutIntervalForResource?: Duration.DurationInput
  readonly httpMaximumConnectionsPerHost?: number
  readonly httpAdditionalHeaders?: Readonly<Record<string, string>>
  readonly trustedCertificates?: ReadonlyArray<string>
  readonly allowsInsecureRedirects?: boolean
  readonly maximumDecodedContentLength?: number
  readonly protocolClasses?: ReadonlyArray<URLProtocol>
  /** A URL, or `Option.none()` to remove the base URL. */
  readonly baseURL?: string | URL | Option.Option<string | URL>
}

/**
 * One thing wrong with a configuration: the field, the value it holds, and the rule that
 * value breaks.
 *
 * @since 0.1.0
 * @category models
 */
export interface Problem {
  readonly field: string
  readonly value: unknown
  readonly reason: string
}

/**
 * A configuration a session cannot run with, and every reason why: building a session layer
 * fails with it, naming each field, its value and the rule it breaks. `field` and `reason`
 * are those of the first problem.
 *
 * @since 0.1.0
 * @category errors
 */
export class InvalidConfiguration extends Data.TaggedError("InvalidConfiguration")<{
  readonly problems: readonly [Problem, ...Array<Problem>]
}> {
  /** The first field at fault. */
  get field(): string {
    return this.problems[0].field
  }
  /** The rule the first field at fault breaks. */
  get reason(): string {
    return this.problems[0].reason
  }
  override get message(): string {
    return `The session configuration is not valid: ${
      this.problems.map((problem) => `${problem.field} is ${describe(problem.value)}: ${problem.reason}`).join("; ")
    }`
  }
}

const describe = (value: unknown): string => {
  if (typeof value === "string") return JSON.stringify(value.length > 80 ? `${value.slice(0, 77)}...` : value)
  if (typeof value === "bigint") return `${value}n`
  if (Duration.isDuration(value)) return Duration.format(value)
  if (Option.isOption(value)) return Option.isSome(value) ? describe(value.value) : "none"
  if (value instanceof URL) return JSON.stringify(value.href)
  if (Array.isArray(value)) return `[${value.map(describe).join(", ")}]`
  return String(value)
}

// Inputs `with` could not take, by field, for `validate` to report: a duration that is not
// one throws in `Duration.decode`, and a negative one decodes to zero, hiding what was given.
const rejectedInputs = Symbol.for("@urlsession/core/URLSessionConfiguration/rejectedInputs")

interface WithRejected {
  readonly [rejectedInputs]?: Readonly<Record<string, Problem>>
}

const Proto = {
  [TypeId]: TypeId,
  pipe() {
    return pipeArguments(this, arguments)
  }
}

const build = (
  fields: Omit<URLSessionConfiguration, "pipe" | TypeId>,
  rejected?: Readonly<Record<string, Problem>>
): URLSessionConfiguration => {
  const configuration = Object.assign(Object.create(Proto), fields)
  if (rejected !== undefined && Object.keys(rejected).length > 0) configuration[rejectedInputs] = rejected
  return configuration
}

/**
 * Is this a configuration made by this module (`default`, `background`, `with`)?
 *
 * @since 0.1.0
 * @category refinements
 */
export const isURLSessionConfiguration = (u: unknown): u is URLSessionConfiguration => hasProperty(u, TypeId)

/**
 * The default configuration: Apple's defaults.
 *
 * @since 0.1.0
 * @category constructors
 */
export const defaultConfiguration: URLSessionConfiguration = build({
  identifier: Option.none(),
  timeoutIntervalForRequest: Duration.seconds(60),
  timeoutIntervalForResource: Duration.days(7),
  httpMaximumConnectionsPerHost: 6,
  httpAdditionalHeaders: {},
  trustedCertificates: [],
  allowsInsecureRedirects: false,
  maximumDecodedContentLength: 1024 * 1024 * 1024,
  protocolClasses: [],
  baseURL: Option.none()
})

export {
  /**
   * The default configuration (Apple's `URLSessionConfiguration.default`).
   *
   * @since 0.1.0
   * @category constructors
   */
  defaultConfiguration as default
}

/**
 * A configuration that keeps nothing on disk. Until the cache, cookie and credential stores
 * exist nothing is kept anywhere, so today it equals `default`.
 *
 * @since 0.1.0
 * @category constructors
 */
export const ephemeral: URLSessionConfiguration = defaultConfiguration

/**
 * Whether `identifier` can name a session: 1 to 255 ASCII letters, digits, `.`, `_` and `-`,
 * not starting with `.` (so `com.example.app.sync` is one, `""`, `"."`, `".."`, `"../x"`,
 * `"a/b"` are not). A session's files live in a directory named by its identifier: the rule
 * keeps that name a single path segment on every platform, which no identifier can lead out
 * of.
 *
 * @since 0.1.0
 * @category predicates
 */
export const isValidIdentifier = (identifier: string): boolean =>
  /^[A-Za-z0-9_-][A-Za-z0-9._-]{0,254}$/.test(identifier)

/**
 * A configuration for transfers that outlive the process, named by `identifier`. Background
 * sessions need the transfer daemon, from `@urlsession/daemon`.
 *
 * It takes any string: an identifier that `isValidIdentifier` refuses makes the session
 * layer fail with `InvalidConfiguration` (see {@link validate}).
 *
 * @since 0.1.0
 * @category constructors
 */
export const background = (identifier: string): URLSessionConfiguration =>
  build({ ...fieldsOf(defaultConfiguration), identifier: Option.some(identifier) })

const fieldsOf = (self: URLSessionConfiguration): Omit<URLSessionConfiguration, "pipe" | TypeId> => ({
  identifier: self.identifier,
  timeoutIntervalForRequest: self.timeoutIntervalForRequest,
  timeoutIntervalForResource: self.timeoutIntervalForResource,
  httpMaximumConnectionsPerHost: self.httpMaximumConnectionsPerHost,
  httpAdditionalHeaders: self.httpAdditionalHeaders,
  trustedCertificates: self.trustedCertificates,
  allowsInsecureRedirects: self.allowsInsecureRedirects,
  maximumDecodedContentLength: self.maximumDecodedContentLength,
  protocolClasses: self.protocolClasses,
  // A configuration written before the field existed has none.
  baseURL: self.baseURL ?? Option.none()
})

/**
 * Is this a background configuration?
 *
 * @since 0.1.0
 * @category predicates
 */
export const isBackground = (self: URLSessionConfiguration): boolean => Option.isSome(self.identifier)

const durationRule = "it must be a duration longer than zero (Duration.infinity for no limit)"

// `Duration.decode` throws for what is not a duration, and turns a negative number into zero.
const isNegative = (input: Duration.DurationInput): boolean => {
  if (typeof input === "number") return input < 0 || Number.isNaN(input)
  if (typeof input === "bigint") return input < 0n
  if (typeof input === "string") return input.trimStart().startsWith("-")
  if (Array.isArray(input)) return input.some((part) => typeof part !== "number" || part < 0 || Number.isNaN(part))
  return false
}

const decodeDuration = (input: Duration.DurationInput): Duration.Duration | undefined => {
  if (isNegative(input)) return undefined
  try {
    return Duration.decode(input)
  } catch {
    return undefined
  }
}

const baseURLOf = (input: string | URL): string => {
  if (input instanceof URL) return input.href
  // A URL that parses is kept in its normal form; anything else as given, for `validate`.
  return URL.canParse(input) ? new URL(input).href : input
}

/**
 * A copy with some fields changed. It takes any value and never throws: a value out of
 * range (`httpMaximumConnectionsPerHost: 0`, a negative timeout, a string that is not a
 * duration) is kept for {@link validate} to report when a session layer is built.
 *
 * @example
 * ```ts
 * import { URLSessionConfiguration } from "@urlsession/core"
 *
 * const configuration = URLSessionConfiguration.default.pipe(
 *   URLSessionConfiguration.with({ timeoutIntervalForRequest: "5 seconds", httpMaximumConnectionsPerHost: 2 })
 * )
 * ```
 *
 * @since 0.1.0
 * @category combinators
 */
const withOverrides: {
  (overrides: Overrides): (self: URLSessionConfiguration) => URLSessionConfiguration
  (self: URLSessionConfiguration, overrides: Overrides): URLSessionConfiguration
} = dual(2, (self: URLSessionConfiguration, overrides: Overrides): URLSessionConfiguration => {
  const rejected: Record<string, Problem> = { ...(self as WithRejected)[rejectedInputs] }
  const timeout = (field: "timeoutIntervalForRequest" | "timeoutIntervalForResource"): Duration.Duration => {
    const input = overrides[field]
    if (input === undefined) return self[field]
    delete rejected[field]
    const decoded = decodeDuration(input)
    if (decoded !== undefined) return decoded
    rejected[field] = { field, value: input, reason: durationRule }
    return self[field]
  }
  const baseURL = overrides.baseURL === undefined
    ? self.baseURL ?? Option.none()
    : Option.isOption(overrides.baseURL)
    ? Option.map(overrides.baseURL, baseURLOf)
    : Option.some(baseURLOf(overrides.baseURL))
  return build({
    identifier: self.identifier,
    timeoutIntervalForRequest: timeout("timeoutIntervalForRequest"),
    timeoutIntervalForResource: timeout("timeoutIntervalForResource"),
    httpMaximumConnectionsPerHost: overrides.httpMaximumConnectionsPerHost ?? self.httpMaximumConnectionsPerHost,
    httpAdditionalHeaders: overrides.httpAdditionalHeaders ?? self.httpAdditionalHeaders,
    trustedCertificates: overrides.trustedCertificates ?? self.trustedCertificates,
    allowsInsecureRedirects: overrides.allowsInsecureRedirects ?? self.allowsInsecureRedirects,
    maximumDecodedContentLength: overrides.maximumDecodedContentLength ?? self.maximumDecodedContentLength,
    protocolClasses: overrides.protocolClasses ?? self.protocolClasses,
    baseURL
  }, rejected)
})

export {
  /**
   * @since 0.1.0
   * @category combinators
   */
  withOverrides as with
}

// One or more PEM certificate blocks, as Node's `tls` takes them in `ca`.
const pemBundle = /^(?:\s*-----BEGIN CERTIFICATE-----\r?\n[A-Za-z0-9+/=\r\n \t]+-----END CERTIFICATE-----)+\s*$/

// RFC 9110 §5.1: a field name is a token.
const fieldName = /^[!#$%&'*+.^_`|~0-9A-Za-z-]+$/
// What splits a field or a message: CR, LF and NUL (RFC 9110 §5.5).
const splitting = /[\r\n\0]/

const isPositiveInteger = (value: unknown): boolean =>
  typeof value === "number" && Number.isSafeInteger(value) && value > 0

/**
 * Every problem with a configuration, in the order of its fields; empty when a session can
 * run with it. The rules:
 * - `identifier`, when set: one that `isValidIdentifier` accepts.
 * - `timeoutIntervalForRequest`, `timeoutIntervalForResource`: a duration longer than zero;
 *   `Duration.infinity` for no limit. Zero is refused: an idle timer of zero would fail
 *   every task before its first byte, which is never what was meant.
 * - `httpMaximumConnectionsPerHost`, `maximumDecodedContentLength`: a positive integer.
 * - `httpAdditionalHeaders`: names that are tokens, and names and values without CR, LF or
 *   NUL.
 * - `trustedCertificates`: each a PEM certificate (one or more `BEGIN CERTIFICATE` blocks).
 * - `baseURL`, when set: an absolute URL that relative URLs can be resolved against (so
 *   `"/v2"` and `"mailto:a@b.example"` are not).
 *
 * @since 0.1.0
 * @category validation
 */
export const problems = (self: URLSessionConfiguration): ReadonlyArray<Problem> => {
  const found: Array<Problem> = []
  const problem = (field: string, value: unknown, reason: string) => found.push({ field, value, reason })
  const rejected = (self as WithRejected)[rejectedInputs] ?? {}
  if (Option.isSome(self.identifier) && !isValidIdentifier(self.identifier.value)) {
    problem(
      "identifier",
      self.identifier.value,
      `it must be 1 to 255 letters, digits, ".", "_" or "-", not starting with "."`
    )
  }
  for (const field of ["timeoutIntervalForRequest", "timeoutIntervalForResource"] as const) {
    const input = rejected[field]
    if (input !== undefined) found.push(input)
    else if (!Duration.isDuration(self[field]) || Duration.lessThanOrEqualTo(self[field], Duration.zero)) {
      problem(field, self[field], durationRule)
    }
  }
  if (!isPositiveInteger(self.httpMaximumConnectionsPerHost)) {
    problem("httpMaximumConnectionsPerHost", self.httpMaximumConnectionsPerHost, "it must be a positive integer")
  }
  for (const [name, value] of Object.entries(self.httpAdditionalHeaders)) {
    if (!fieldName.test(name)) {
      problem("httpAdditionalHeaders", name, "a header field name must be a token (RFC 9110 §5.1)")
    } else if (typeof value !== "string" || splitting.test(value)) {
      problem(
        `httpAdditionalHeaders[${JSON.stringify(name)}]`,
        value,
        "a header field value must not contain CR, LF or NUL"
      )
    }
  }
  self.trustedCertificates.forEach((certificate, index) => {
    if (typeof certificate !== "string" || !pemBundle.test(certificate)) {
      problem(
        `trustedCertificates[${index}]`,
        certificate,
        `it must be a PEM certificate ("-----BEGIN CERTIFICATE-----" ... "-----END CERTIFICATE-----")`
      )
    }
  })
  if (!isPositiveInteger(self.maximumDecodedContentLength)) {
    problem("maximumDecodedContentLength", self.maximumDecodedContentLength, "it must be a positive integer")
  }
  const baseURL = self.baseURL ?? Option.none()
  // "x" against a URL that cannot be a base ("mailto:a@b.example") does not parse.
  if (Option.isSome(baseURL) && !(URL.canParse(baseURL.value) && URL.canParse("x", baseURL.value))) {
    problem("baseURL", baseURL.value, "it must be an absolute URL that relative URLs can be resolved against")
  }
  return found
}

/**
 * The configuration, if a session can run with it; otherwise `InvalidConfiguration`
 * reporting every problem {@link problems} finds. Session layers validate before they
 * start, so a mistake in a configuration is a typed failure of the layer, never a throw.
 *
 * @example
 * ```ts
 * import { Effect } from "effect"
 * import { URLSessionConfiguration } from "@urlsession/core"
 *
 * const checked = URLSessionConfiguration.default.pipe(
 *   URLSessionConfiguration.with({ httpMaximumConnectionsPerHost: 0 }),
 *   URLSessionConfiguration.validate
 * )
 * // fails: httpMaximumConnectionsPerHost is 0: it must be a positive integer
 * ```
 *
 * @since 0.1.0
 * @category validation
 */
export const validate = (
  self: URLSessionConfiguration,
  /** Problems the caller found in what goes with the configuration, reported with its own. */
  more: ReadonlyArray<Problem> = []
): Effect.Effect<URLSessionConfiguration, InvalidConfiguration> => {
  const found = [...problems(self), ...more]
  return found.length === 0
    ? Effect.succeed(self)
    : Effect.fail(new InvalidConfiguration({ problems: found as [Problem, ...Array<Problem>] }))
}

/**
 * What a session layer takes: nothing for the default configuration, a configuration, or
 * the fields to change in the default one.
 *
 * @since 0.1.0
 * @category models
 */
export type Input = URLSessionConfiguration | Overrides

/**
 * The configuration an {@link Input} stands for.
 *
 * @since 0.1.0
 * @category constructors
 */
export const fromInput = (input?: Input): URLSessionConfiguration =>
  input === undefined
    ? defaultConfiguration
    : isURLSessionConfiguration(input)
    ? input
    : withOverrides(defaultConfiguration, input)
