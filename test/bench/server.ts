/**
 * The benchmark's HTTP server, run by `run.ts` in a process of its own so that the client
 * process being measured does nothing but be a client. It listens on 127.0.0.1 and a free
 * port, prints `{"port":N}` as its first line, and exits when its stdin closes (the runner
 * ended, however it ended).
 *
 * - `GET /small`           1 KiB
 * - `GET /bytes/<n>`       n bytes of a repeating pattern, with Content-Length, generated as
 *                          the client reads (a 64 KiB chunk written again and again under
 *                          backpressure, never the whole body in memory)
 * - `POST /upload`         reads and discards the body, answers `{"bytes":n}`
 * - `GET /stats`           the server's CPU time so far, `{"user":µs,"system":µs}`
 */
import * as http from "node:http"
import type { AddressInfo } from "node:net"

const small = Buffer.alloc(1024, "x")
const chunk = Buffer.alloc(64 * 1024)
for (let i = 0; i < chunk.length; i++) chunk[i] = i % 251

const serveBytes = (total: number, response: http.ServerResponse) => {
  response.writeHead(200, { "Content-Type": "application/octet-stream", "Content-Length": total })
  let left = total
  const pump = () => {
    while (left > 0) {
      const piece = left >= chunk.length ? chunk : chunk.subarray(0, left)
      left -= piece.length
      if (!response.write(piece)) return void response.once("drain", pump)
    }
    response.end()
  }
  pump()
}

const server = http.createServer((request, response) => {
  const url = request.url ?? "/"
  if (request.method === "GET" && url === "/small") {
    response.writeHead(200, { "Content-Type": "application/octet-stream", "Content-Length": small.length })
    return void response.end(small)
  }
  if (request.method === "GET" && url.startsWith("/bytes/")) {
    const total = Number(url.slice("/bytes/".length))
    if (Number.isSafeInteger(total) && total >= 0) return serveBytes(total, response)
  }
  if (request.method === "POST" && url === "/upload") {
    let bytes = 0
    request.on("data", (data: Buffer) => void (bytes += data.length))
    request.on("end", () => {
      response.writeHead(200, { "Content-Type": "application/json" })
      response.end(JSON.stringify({ bytes }))
    })
    return
  }
  if (request.method === "GET" && url === "/stats") {
    const { system, user } = process.cpuUsage()
    response.writeHead(200, { "Content-Type": "application/json" })
    return void response.end(JSON.stringify({ system, user }))
  }
  response.writeHead(404).end()
})

// Connections stay open across a whole case: no client should pay for reconnects the
// server forced on it.
server.keepAliveTimeout = 120_000
server.headersTimeout = 130_000
server.requestTimeout = 0
server.maxRequestsPerSocket = 0
// Case 4 opens thousands of requests at once; the clients cap connections at 6 per host,
// but a client that does not would otherwise be refused by a short accept queue.
server.listen({ host: "127.0.0.1", port: 0, backlog: 4096 }, () => {
  process.stdout.write(`${JSON.stringify({ port: (server.address() as AddressInfo).port })}\n`)
})

process.stdin.on("end", () => process.exit(0))
process.stdin.on("error", () => process.exit(0))
process.stdin.resume()
