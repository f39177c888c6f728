/**
 * The daemon's side of the wire: the `Protocol` served over the daemon's socket as framed
 * ndjson, each call answered from the store.
 *
 * @since 0.1.0
 */
import type * as Layer from "effect/Layer"
import type { DaemonSocketError } from "./DaemonSocket.js"
import * as internal from "./internal/server.js"
import type { StateDirectory } from "./StateDirectory.js"
import type { Store } from "./Store.js"

/**
 * Listens on the daemon's socket and serves every call until the layer's scope closes. Only
 * the holder of the instance lock may build it: it replaces a stale socket file.
 *
 * @since 0.1.0
 * @category layers
 */
export const layer: Layer.Layer<never, DaemonSocketError, Store | StateDirectory> = internal.layer
