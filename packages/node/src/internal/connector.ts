import type { Socket } from "node:net"
import { buildConnector } from "undici"
import { finishParsingBeforeClose } from "./parserAtClose.js"
import * as ResponseHeadReader from "./responseHeadReader.js"

/**
 * undici's connector, plus a memory of the TLS alerts each connection received, and the
 * guards each connection needs around undici's HTTP/1 parser (`responseHeadReader.ts`,
 * `parserAtClose.ts`).
 *
 * When a TLS 1.3 server rejects the client after the handshake (no client certificate, a
 * certificate it does not accept) the alert arrives as a socket error that undici replaces
 * with a generic "other side closed". The alert is the real reason, so it is kept here,
 * keyed by the connection's local address, for the error mapping to find.
 */
export interface Connector {
  readonly connect: buildConnector.connector
  /** The TLS alert behind a failure on one of this connector's connections, if there was one. */
  readonly alertBehind: (error: unknown) => Error | undefined
}

// How long an alert is remembered: long enough for the request that failed to ask for it.
const alertMemoryMillis = 10_000

export const make = (options: buildConnector.BuildOptions): Connector => {
  const connect = buildConnector(options)
  const alerts = new Map<string, Error>()
  return {
    connect: (connectOptions, callback) =>
      connect(connectOptions, (...args) => {
        const socket = args[1]
        if (socket !== null && socket !== undefined) {
          rememberAlerts(socket, alerts)
          ResponseHeadReader.watch(socket)
          finishParsingBeforeClose(socket)
        }
        callback(...args)
      }),
    alertBehind: (error) => {
      const info = (error as { readonly socket?: SocketInfo } | null)?.socket
      if (info === undefined) return undefined
      const key = keyOf(info)
      const alert = alerts.get(key)
      alerts.delete(key)
      return alert
    }
  }
}

interface SocketInfo {
  readonly localAddress?: string | undefined
  readonly localPort?: number | undefined
  readonly remoteAddress?: string | undefined
  readonly remotePort?: number | undefined
}

// Both ends name the connection: a local port reused later for another peer is another key.
const keyOf = (info: SocketInfo) => `${info.localAddress}:${info.localPort}>${info.remoteAddress}:${info.remotePort}`

const rememberAlerts = (socket: Socket, alerts: Map<string, Error>) => {
  const key = keyOf(socket)
  socket.on("error", (error: Error & { readonly code?: string }) => {
    if (error.code === undefined || !error.code.startsWith("ERR_SSL_")) return
    alerts.set(key, error)
    setTimeout(() => alerts.delete(key), alertMemoryMillis).unref()
  })
}
