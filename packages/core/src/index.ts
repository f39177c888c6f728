/**
 * @since 0.1.0
 */
export * as DataResult from "./DataResult.js"

/**
 * @since 0.1.0
 */
export * as DownloadStorage from "./DownloadStorage.js"

/**
 * @since 0.1.0
 */
export * as ResumeData from "./ResumeData.js"

/**
 * @since 0.1.0
 */
export * as ScriptedURLProtocol from "./ScriptedURLProtocol.js"

/**
 * @since 0.1.0
 */
export * as URLError from "./URLError.js"

/**
 * @since 0.1.0
 */
export * as URLProtocol from "./URLProtocol.js"

/**
 * @since 0.1.0
 */
export * as URLRequest from "./URLRequest.js"

/**
 * @since 0.1.0
 */
export * as URLResponse from "./URLResponse.js"

/**
 * @since 0.1.0
 */
export * as URLSession from "./URLSession.js"

/**
 * @since 0.1.0
 */
export * as URLSessionConfiguration from "./URLSessionConfiguration.js"

/**
 * @since 0.1.0
 */
export * as URLSessionDelegate from "./URLSessionDelegate.js"

/**
 * @since 0.1.0
 */
export * as URLSessionEvent from "./URLSessionEvent.js"

/**
 * @since 0.1.0
 */
export * as URLSessionHttpClient from "./URLSessionHttpClient.js"

/**
 * @since 0.1.0
 */
export * as URLSessionTask from "./URLSessionTask.js"
