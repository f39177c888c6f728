/**
 * Values of `@urlsession/core` to and from their wire forms (`protocol.ts`), used on both
 * sides: the app sends requests and configurations, the daemon sends events.
 */
import * as URLRequest from "@urlsession/core/URLRequest"
import * as URLSessionConfiguration from "@urlsession/core/URLSessionConfiguration"
import * as URLSessionEvent from "@urlsession/core/URLSessionEvent"
import * as Duration from "effect/Duration"
import * as Option from "effect/Option"
import type { WireConfiguration, WireEvent, WireRequest } from "./protocol.js"

export type WireRequest = typeof WireRequest.Type
export type WireEvent = typeof WireEvent.Type
export type WireConfiguration = typeof WireConfiguration.Type

/** Apple: background sessions load http and https URLs only. */
export const isHTTP = (url: string): boolean => {
  try {
    const protocol = new URL(url).protocol
    return protocol === "http:" || protocol === "https:"
  } catch {
    return false
  }
}

export const requestToWire = (request: URLRequest.URLRequest): WireRequest => ({
  url: request.url,
  method: request.method,
  headers: request.headers,
  ...Option.match(request.body, { onNone: () => ({}), onSome: (body) => ({ body }) }),
  ...Option.match(request.timeoutInterval, {
    onNone: () => ({}),
    onSome: (interval) => ({ timeoutIntervalMillis: Duration.toMillis(interval) })
  })
})

export const requestFromWire = (wire: WireRequest): URLRequest.URLRequest => {
  let request = URLRequest.make(wire.url).pipe(URLRequest.setMethod(wire.method), URLRequest.setHeaders(wire.headers))
  if (wire.body !== undefined) request = URLRequest.setBody(request, wire.body)
  if (wire.timeoutIntervalMillis !== undefined) {
    request = URLRequest.setTimeoutInterval(request, Duration.millis(wire.timeoutIntervalMillis))
  }
  return request
}

export const configurationToWire = (
  configuration: URLSessionConfiguration.URLSessionConfiguration
): WireConfiguration => ({
  timeoutIntervalForRequestMillis: Duration.toMillis(configuration.timeoutIntervalForRequest),
  timeoutIntervalForResourceMillis: Duration.toMillis(configuration.timeoutIntervalForResource),
  httpMaximumConnectionsPerHost: configuration.httpMaximumConnectionsPerHost,
  httpAdditionalHeaders: configuration.httpAdditionalHeaders,
  trustedCertificates: configuration.trustedCertificates,
  allowsInsecureRedirects: configuration.allowsInsecureRedirects,
  maximumDecodedContentLength: configuration.maximumDecodedContentLength
})

/** The configuration the daemon's own session for `identifier` runs with. */
export const configurationFromWire = (
  identifier: string,
  wire: WireConfiguration
): URLSessionConfiguration.URLSessionConfiguration =>
  URLSessionConfiguration.background(identifier).pipe(URLSessionConfiguration.with({
    timeoutIntervalForRequest: Duration.millis(wire.timeoutIntervalForRequestMillis),
    timeoutIntervalForResource: Duration.millis(wire.timeoutIntervalForResourceMillis),
    httpMaximumConnectionsPerHost: wire.httpMaximumConnectionsPerHost,
    httpAdditionalHeaders: wire.httpAdditionalHeaders,
    trustedCertificates: wire.trustedCertificates,
    allowsInsecureRedirects: wire.allowsInsecureRedirects,
    maximumDecodedContentLength: wire.maximumDecodedContentLength
  }))

/** The wire form of an event; `None` for those that cannot cross (`DidBecomeDownloadTask`,
 * and the session-level `DidFinishEventsForBackgroundURLSession`, which the app makes). */
export const eventToWire = (event: URLSessionEvent.URLSessionEvent): Option.Option<WireEvent> => {
  switch (event._tag) {
    case "DidBecomeDownloadTask":
    case "DidFinishEventsForBackgroundURLSession":
      return Option.none()
    case "WillPerformHTTPRedirection":
      return Option.some({ ...event, newRequest: requestToWire(event.newRequest) })
    default:
      return Option.some(event)
  }
}

export const eventFromWire = (wire: WireEvent): URLSessionEvent.URLSessionEvent => {
  switch (wire._tag) {
    case "DidReceiveResponse":
      return URLSessionEvent.DidReceiveResponse(wire)
    case "WillPerformHTTPRedirection":
      return URLSessionEvent.WillPerformHTTPRedirection({ ...wire, newRequest: requestFromWire(wire.newRequest) })
    case "DidSendBodyData":
      return URLSessionEvent.DidSendBodyData(wire)
    case "DidReceiveData":
      return URLSessionEvent.DidReceiveData(wire)
    case "DidWriteData":
      return URLSessionEvent.DidWriteData(wire)
    case "DidResumeAtOffset":
      return URLSessionEvent.DidResumeAtOffset(wire)
    case "DidFinishDownloadingTo":
      return URLSessionEvent.DidFinishDownloadingTo(wire)
    case "DidCompleteWithError":
      return URLSessionEvent.DidCompleteWithError(wire)
    case "DidBecomeInvalidWithError":
      return URLSessionEvent.DidBecomeInvalidWithError(wire)
  }
}
