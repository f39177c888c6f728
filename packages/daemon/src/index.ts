/**
 * @since 0.1.0
 */
export * as InstanceLock from "./InstanceLock.js"

/**
 * @since 0.1.0
 */
export * as StateDirectory from "./StateDirectory.js"

/**
 * @since 0.1.0
 */
export * as Store from "./Store.js"

/**
 * @since 0.1.0
 */
export * as DaemonSocket from "./DaemonSocket.js"

/**
 * @since 0.1.0
 */
export * as Protocol from "./Protocol.js"

/**
 * @since 0.1.0
 */
export * as Server from "./Server.js"

/**
 * @since 0.1.0
 */
export * as BackgroundSession from "./BackgroundSession.js"

/**
 * @since 0.1.0
 */
export * as Engine from "./Engine.js"
