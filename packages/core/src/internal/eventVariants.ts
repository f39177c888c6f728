/**
 * The variants of `URLSessionEvent`, over the type of the download task a data task becomes.
 * A task streams its events and one event carries a task: `URLSessionTask.ts` and
 * `URLSessionEvent.ts` each fill in the download task here, so neither imports the other.
 */
import type * as Data from "effect/Data"
import type * as Option from "effect/Option"
import type { URLError } from "../URLError.js"
import type { URLRequest } from "../URLRequest.js"
import type { HTTPURLResponse, URLResponse } from "../URLResponse.js"

/** One variant per delegate callback, in the order of Apple's "Life cycle of a URL session". */
export type URLSessionEvent<DownloadTask> = Data.TaggedEnum<{
  /** The response head arrived (`urlSession(_:dataTask:didReceive:completionHandler:)`). */
  DidReceiveResponse: { readonly taskIdentifier: number; readonly response: URLResponse }
  /** A response redirects; `newRequest` is the request the session will send next unless the
   * delegate decides otherwise (`urlSession(_:task:willPerformHTTPRedirection:newRequest:…)`). */
  WillPerformHTTPRedirection: {
    readonly taskIdentifier: number
    readonly response: HTTPURLResponse
    readonly newRequest: URLRequest
  }
  /** The delegate turned data task `taskIdentifier` into `downloadTask`, which goes on with
   * the same response on the same connection. The data task's last event: its subscribers
   * go on to see the download task's events, up to its `DidCompleteWithError`; the data
   * task's `await` fails with `Cancelled` (`urlSession(_:dataTask:didBecome:)`). */
  DidBecomeDownloadTask: { readonly taskIdentifier: number; readonly downloadTask: DownloadTask }
  /** Request body bytes went out. Coalesced like `DidWriteData`; all of a request's come
   * before its response unless the server answers before reading the whole body
   * (`urlSession(_:task:didSendBodyData:totalBytesSent:…)`). */
  DidSendBodyData: {
    readonly taskIdentifier: number
    readonly bytesSent: number
    readonly totalBytesSent: number
    /** -1 when the length is unknown (a stream sent chunked). */
    readonly totalBytesExpectedToSend: number
  }
  /** A chunk of the body arrived (`urlSession(_:dataTask:didReceive:)`). */
  DidReceiveData: { readonly taskIdentifier: number; readonly data: Uint8Array }
  /** A download task wrote body bytes to its file. Coalesced: a subscriber that lags sees
   * the latest progress, not every step (`urlSession(_:downloadTask:didWriteData:…)`). */
  DidWriteData: {
    readonly taskIdentifier: number
    readonly bytesWritten: number
    readonly totalBytesWritten: number
    /** -1 when the length is unknown. */
    readonly totalBytesExpectedToWrite: number
  }
  /** A download from resume data goes on at `fileOffset` (0: the server sent the whole
   * resource again) (`urlSession(_:downloadTask:didResumeAtOffset:expectedTotalBytes:)`). */
  DidResumeAtOffset: {
    readonly taskIdentifier: number
    readonly fileOffset: number
    /** -1 when unknown. */
    readonly expectedTotalBytes: number
  }
  /** A download task's file is complete at `location` (`urlSession(_:downloadTask:didFinishDownloadingTo:)`). */
  DidFinishDownloadingTo: { readonly taskIdentifier: number; readonly location: string }
  /** The task finished: `None` on success, else why it failed (`urlSession(_:task:didCompleteWithError:)`). */
  DidCompleteWithError: { readonly taskIdentifier: number; readonly error: Option.Option<URLError> }
  /** The session was invalidated; always its last event (`urlSession(_:didBecomeInvalidWithError:)`). */
  DidBecomeInvalidWithError: { readonly error: Option.Option<URLError> }
  /** A background session delivered every event that was waiting for the app when it
   * attached; live events follow (`urlSessionDidFinishEvents(forBackgroundURLSession:)`). */
  DidFinishEventsForBackgroundURLSession: {}
}>

/** The events of one task (every variant but the session-level ones). */
export type TaskEvent<DownloadTask> = Exclude<
  URLSessionEvent<DownloadTask>,
  { readonly _tag: "DidBecomeInvalidWithError" | "DidFinishEventsForBackgroundURLSession" }
>
