/**
 * The behaviour and policies of a session, with Apple's defaults. A session copies its
 * configuration when it is created; changing a configuration never changes a live session.
 *
 * Only properties that the runtime honours are here; the rest of Apple's arrive with the
 * features that give them meaning (cache, cookies, credentials, background transfers).
 *
 * @since 0.1.0
 */
import * as Duration from "effect/Duration"
import { dual } from "effect/Function"
import * as Option from "effect/Option"
import { type Pipeable, pipeArguments } from "effect/Pipeable"
import type { URLProtocol } from "./URLProtocol.js"

/**
 * @since 0.1.0
 * @category models
 */
export interface URLSessionConfiguration extends Pipeable {
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
}

/**
 * The fields `with` can change; durations in any `Duration` form.
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
}

const Proto = {
  pipe() {
    return pipeArguments(this, arguments)
  }
}

const build = (fields: Omit<URLSessionConfiguration, "pipe">): URLSessionConfiguration =>
  Object.assign(Object.create(Proto), fields)

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
  protocolClasses: []
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
export const isValidIdentifier = (identifier: string): boolean => /^[A-Za-z0-9_-][A-Za-z0-9._-]{0,254}$/.test(identifier)

/**
 * A configuration for transfers that outlive the process, named by `identifier`. Background
 * sessions need the transfer daemon: `NodeURLSession.layer` refuses this configuration
 * until the daemon is built.
 *
 * An identifier that `isValidIdentifier` refuses is a programming error: this throws a
 * `TypeError` naming it.
 *
 * @since 0.1.0
 * @category constructors
 */
export const background = (identifier: string): URLSessionConfiguration => {
  if (!isValidIdentifier(identifier)) {
    throw new TypeError(
      `URLSessionConfiguration.background: the identifier ${JSON.stringify(identifier)} is not 1 to 255 letters, digits, ".", "_" or "-" (not starting with ".")`
    )
  }
  return build({ ...defaultConfiguration, identifier: Option.some(identifier) })
}

/**
 * Is this a background configuration?
 *
 * @since 0.1.0
 * @category predicates
 */
export const isBackground = (self: URLSessionConfiguration): boolean => Option.isSome(self.identifier)

/**
 * A copy with some fields changed.
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
  const connections = overrides.httpMaximumConnectionsPerHost ?? self.httpMaximumConnectionsPerHost
  if (!Number.isInteger(connections) || connections < 1) {
    throw new RangeError(`httpMaximumConnectionsPerHost must be a positive integer, got ${connections}`)
  }
  return build({
    identifier: self.identifier,
    timeoutIntervalForRequest: overrides.timeoutIntervalForRequest === undefined
      ? self.timeoutIntervalForRequest
      : Duration.decode(overrides.timeoutIntervalForRequest),
    timeoutIntervalForResource: overrides.timeoutIntervalForResource === undefined
      ? self.timeoutIntervalForResource
      : Duration.decode(overrides.timeoutIntervalForResource),
    httpMaximumConnectionsPerHost: connections,
    httpAdditionalHeaders: overrides.httpAdditionalHeaders ?? self.httpAdditionalHeaders,
    trustedCertificates: overrides.trustedCertificates ?? self.trustedCertificates,
    allowsInsecureRedirects: overrides.allowsInsecureRedirects ?? self.allowsInsecureRedirects,
    maximumDecodedContentLength: overrides.maximumDecodedContentLength ?? self.maximumDecodedContentLength,
    protocolClasses: overrides.protocolClasses ?? self.protocolClasses
  })
})

export {
  /**
   * @since 0.1.0
   * @category combinators
   */
  withOverrides as with
}
