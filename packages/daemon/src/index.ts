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
