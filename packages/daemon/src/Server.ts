/**
 * The daemon's side of the wire: the `Protocol` served over the daemon's socket as framed
 * ndjson, each call a thin mapping onto the `Engine`. A connection's calls about a session
 * are accepted only while that connection holds the session's `Attach` stream (the lease);
 * `Status` and `Stop` need none.
 *
 * @since 0.1.0
 */
import type * as Layer from "effect/Layer"
import type { DaemonSocketError } from "./DaemonSocket.js"
import type { Engine } from "./Engine.js"
import * as internal from "./internal/server.js"
import type { StateDirectory } from "./StateDirectory.js"

/**
 * Listens on the daemon's socket and serves every call until the layer's scope closes. Only
 * the holder of the instance lock may build it: it replaces a stale socket file.
 *
 * @since 0.1.0
 * @category layers
 */
export const layer: Layer.Layer<never, DaemonSocketError, Engine | StateDirectory> = internal.layer
