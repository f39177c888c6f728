/**
 * @since 0.1.0
 */
export * as NodeURLSession from "./NodeURLSession.js"

/**
 * @since 0.1.0
 */
export * as UndiciDispatcher from "./UndiciDispatcher.js"
