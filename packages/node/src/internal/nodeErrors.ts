import * as URLError from "@urlsession/core/URLError"
import { exhaustedCode } from "./bodyStream.js"
import { resetMidResponseCode } from "./parserAtClose.js"
import { invalidHeadCode } from "./responseHeadReader.js"

/**
 * Translates what Node and undici throw into the most specific NSURLError code.
 *
 * Errors are matched by their `code` (Node's `E…` system codes, OpenSSL's verification
 * codes, undici's `UND_ERR_…`, llhttp's `HPE_…`), looking through `cause` chains because
 * undici wraps socket and TLS errors. The message is the code's own words; what Node and
 * undici said stays in the cause. Only our own errors (`ERR_URLSESSION_…`), written for the
 * reader, add their message as the reason.
 */
export const toURLError = (error: unknown, failingURL: string): URLError.URLError => {
  const errors = errorsBehind(error)
  return URLError.make(codeFor(errors.flatMap(codesOf)), { failingURL, message: ownReason(errors), cause: error })
}

const systemCodes: Readonly<Record<string, URLError.Code>> = {
  // name resolution
  ENOTFOUND: "CannotFindHost",
  EAI_NONAME: "CannotFindHost",
  EAI_NODATA: "CannotFindHost",
  EAI_AGAIN: "DNSLookupFailed",
  EAI_FAIL: "DNSLookupFailed",
  // connecting
  ECONNREFUSED: "CannotConnectToHost",
  EHOSTUNREACH: "CannotConnectToHost",
  EHOSTDOWN: "CannotConnectToHost",
  EADDRNOTAVAIL: "CannotConnectToHost",
  ENETUNREACH: "NotConnectedToInternet",
  ENETDOWN: "NotConnectedToInternet",
  ETIMEDOUT: "TimedOut",
  UND_ERR_CONNECT_TIMEOUT: "TimedOut",
  UND_ERR_HEADERS_TIMEOUT: "TimedOut",
  UND_ERR_BODY_TIMEOUT: "TimedOut",
  // a connection that ends or breaks before the response is complete
  ECONNRESET: "NetworkConnectionLost",
  ECONNABORTED: "NetworkConnectionLost",
  EPIPE: "NetworkConnectionLost",
  UND_ERR_SOCKET: "NetworkConnectionLost",
  UND_ERR_CLOSED: "NetworkConnectionLost",
  [resetMidResponseCode]: "NetworkConnectionLost",
  // undici reports a body cut short by a closing connection as a length mismatch
  UND_ERR_RES_CONTENT_LENGTH_MISMATCH: "NetworkConnectionLost",
  // a response that is HTTP in form but not in substance
  UND_ERR_HEADERS_OVERFLOW: "BadServerResponse",
  UND_ERR_RES_EXCEEDED_MAX_SIZE: "DataLengthExceedsMaximum",
  HPE_INVALID_STATUS: "BadServerResponse",
  HPE_UNEXPECTED_CONTENT_LENGTH: "BadServerResponse",
  HPE_INVALID_CONTENT_LENGTH: "BadServerResponse",
  HPE_INVALID_TRANSFER_ENCODING: "BadServerResponse",
  HPE_HEADER_OVERFLOW: "BadServerResponse",
  [invalidHeadCode]: "BadServerResponse",
  // a request we refuse to send as written
  UND_ERR_INVALID_ARG: "BadURL",
  ERR_INVALID_URL: "BadURL",
  ERR_INVALID_CHAR: "BadURL",
  ERR_INVALID_HTTP_TOKEN: "BadURL",
  UND_ERR_NOT_SUPPORTED: "UnsupportedURL",
  // a request body stream that failed or ended short (see bodyStream.ts)
  ERR_URLSESSION_BODY_STREAM_EXHAUSTED: "RequestBodyStreamExhausted",
  UND_ERR_REQ_CONTENT_LENGTH_MISMATCH: "RequestBodyStreamExhausted",
  // aborted by us
  UND_ERR_ABORTED: "Cancelled",
  ABORT_ERR: "Cancelled"
}

// OpenSSL's certificate verification results, as Node reports them.
const certificateCodes: Readonly<Record<string, URLError.Code>> = {
  CERT_HAS_EXPIRED: "ServerCertificateHasBadDate",
  CRL_HAS_EXPIRED: "ServerCertificateHasBadDate",
  CERT_NOT_YET_VALID: "ServerCertificateNotYetValid",
  CRL_NOT_YET_VALID: "ServerCertificateNotYetValid",
  DEPTH_ZERO_SELF_SIGNED_CERT: "ServerCertificateUntrusted",
  ERR_TLS_CERT_ALTNAME_INVALID: "ServerCertificateUntrusted",
  CERT_SIGNATURE_FAILURE: "ServerCertificateUntrusted",
  CERT_REVOKED: "ServerCertificateUntrusted",
  CERT_REJECTED: "ServerCertificateUntrusted",
  CERT_UNTRUSTED: "ServerCertificateUntrusted",
  INVALID_CA: "ServerCertificateUntrusted",
  INVALID_PURPOSE: "ServerCertificateUntrusted",
  PATH_LENGTH_EXCEEDED: "ServerCertificateUntrusted",
  UNABLE_TO_DECRYPT_CERT_SIGNATURE: "ServerCertificateUntrusted",
  UNABLE_TO_DECODE_ISSUER_PUBLIC_KEY: "ServerCertificateUntrusted",
  SELF_SIGNED_CERT_IN_CHAIN: "ServerCertificateHasUnknownRoot",
  UNABLE_TO_GET_ISSUER_CERT: "ServerCertificateHasUnknownRoot",
  UNABLE_TO_GET_ISSUER_CERT_LOCALLY: "ServerCertificateHasUnknownRoot",
  UNABLE_TO_VERIFY_LEAF_SIGNATURE: "ServerCertificateHasUnknownRoot",
  // the server asked for a client certificate we did not have, or refused ours
  ERR_SSL_TLSV13_ALERT_CERTIFICATE_REQUIRED: "ClientCertificateRequired",
  ERR_SSL_SSLV3_ALERT_BAD_CERTIFICATE: "ClientCertificateRejected",
  ERR_SSL_SSLV3_ALERT_CERTIFICATE_UNKNOWN: "ClientCertificateRejected",
  ERR_SSL_TLSV1_ALERT_UNKNOWN_CA: "ClientCertificateRejected"
}

const codeFor = (codes: ReadonlyArray<string>): URLError.Code => {
  // A request body stream that failed is that, whatever the stream's own error holds (it may
  // come from another load, certificate verdict and all).
  if (codes.includes(exhaustedCode)) return "RequestBodyStreamExhausted"
  // The most specific reason wins: a certificate verdict explains a reset that follows it.
  for (const code of codes) {
    const certificate = certificateCodes[code]
    if (certificate !== undefined) return certificate
  }
  for (const code of codes) {
    const system = systemCodes[code]
    if (system !== undefined) return system
    if (code.startsWith("HPE_")) return "CannotParseResponse"
    if (code.startsWith("ERR_SSL_") || code === "EPROTO" || code.startsWith("ERR_TLS_")) return "SecureConnectionFailed"
  }
  return "Unknown"
}

// undici's HTTPParserError often carries no code: its message names llhttp's complaint.
const parserErrorCode = (error: { readonly name?: unknown; readonly message?: unknown }): string | undefined => {
  if (error.name !== "HTTPParserError") return undefined
  return typeof error.message === "string" && error.message.includes("Invalid response status")
    ? "HPE_INVALID_STATUS"
    : "HPE_PARSE_ERROR"
}

/** The error and every error behind it: its `cause` chain, and an AggregateError's errors. */
const errorsBehind = (error: unknown): ReadonlyArray<object> => {
  const errors: Array<object> = []
  const seen = new Set<unknown>()
  const visit = (start: unknown): void => {
    let current = start
    while (typeof current === "object" && current !== null && !seen.has(current)) {
      seen.add(current)
      errors.push(current)
      if (current instanceof AggregateError) current.errors.forEach(visit)
      current = (current as { readonly cause?: unknown }).cause
    }
  }
  visit(error)
  return errors
}

const codesOf = (error: object): ReadonlyArray<string> => {
  const code = (error as { readonly code?: unknown }).code
  const parserCode = parserErrorCode(error)
  return [...(typeof code === "string" ? [code] : []), ...(parserCode === undefined ? [] : [parserCode])]
}

// Our own errors (`ERR_URLSESSION_…`, from bodyStream.ts and responseHeadReader.ts) are written
// for the reader: the first one's message says why, as a clause after the headline.
const ownReason = (errors: ReadonlyArray<object>): string | undefined => {
  const own = errors.find((error): error is Error =>
    error instanceof Error && error.message !== "" &&
    String((error as { readonly code?: unknown }).code).startsWith("ERR_URLSESSION_")
  )
  if (own === undefined) return undefined
  // "The body stream failed" follows a colon as "the body stream failed"; "HTTP…" stays.
  return /^[A-Z][a-z]/.test(own.message) ? own.message[0]!.toLowerCase() + own.message.slice(1) : own.message
}
