/**
 * The local server the examples talk to: started by `npm run demo` (and by each example when
 * run on its own), on 127.0.0.1 and a free port.
 *
 * - `/hello`  a small JSON greeting
 * - `/chunks` five text chunks, 50 ms apart
 * - `/slow`   a response head, then nothing: for cancellation
 * - `/big`    4 MiB with an ETag and byte ranges, paced at about 4 MB/s: for downloads
 * - `/upload` takes a body of any size (POST or PUT) and answers with its length and SHA-256
 */
import { Effect } from "effect"
import { createHash } from "node:crypto"
import * as http from "node:http"
import type { AddressInfo } from "node:net"

export const demoServer = Effect.acquireRelease(
  Effect.async<http.Server>((resume) => {
    const server = http.createServer((request, response) => {
      switch (new URL(request.url ?? "/", "http://127.0.0.1").pathname) {
        case "/hello":
          response.setHeader("Content-Type", "application/json; charset=utf-8")
          return void response.end(JSON.stringify({ greeting: "hello from 127.0.0.1" }))
        case "/chunks": {
          response.setHeader("Content-Type", "text/plain; charset=utf-8")
          let sent = 0
          const timer = setInterval(() => {
            response.write(`chunk ${++sent}\n`)
            if (sent === 5) {
              clearInterval(timer)
              response.end()
            }
          }, 50)
          return void response.on("close", () => clearInterval(timer))
        }
        case "/big":
          return serveBig(request, response)
        case "/upload":
          return hashUpload(request, response)
        case "/slow":
          response.writeHead(200, { "Content-Type": "text/plain" })
          response.write("this response never ends\n")
          return void request.socket.on("close", () => console.log("  server: the client closed the connection"))
        default:
          response.statusCode = 404
          response.end("not found")
      }
    })
    server.listen(0, "127.0.0.1", () => resume(Effect.succeed(server)))
  }),
  (server) =>
    Effect.async<void>((resume) => {
      server.closeAllConnections()
      server.close(() => resume(Effect.void))
    })
).pipe(Effect.map((server) => ({ baseURL: `http://127.0.0.1:${(server.address() as AddressInfo).port}` })))

/** Runs `program` against a fresh demo server: what each example does when run by itself. */
export const runWithDemoServer = <A, E>(program: (baseURL: string) => Effect.Effect<A, E>) =>
  Effect.runPromise(Effect.scoped(Effect.flatMap(demoServer, ({ baseURL }) => program(baseURL))))

/** The `/big` resource: deterministic bytes, so a download can be checked against it. */
export const bigBody = Buffer.from(Array.from({ length: 4 * 1024 * 1024 }, (_, i) => (i * 31 + 7) % 251))

const hashUpload = (request: http.IncomingMessage, response: http.ServerResponse) => {
  const hash = createHash("sha256")
  let length = 0
  request.on("data", (chunk: Buffer) => {
    hash.update(chunk)
    length += chunk.length
  })
  request.on("end", () => {
    response.setHeader("Content-Type", "application/json")
    response.end(JSON.stringify({ length, sha256: hash.digest("hex") }))
  })
}

const serveBig = (request: http.IncomingMessage, response: http.ServerResponse) => {
  const etag = "\"big-v1\""
  const range = request.headers.range?.match(/^bytes=(\d+)-$/)
  const start = range && (request.headers["if-range"] ?? etag) === etag ? Number(range[1]) : 0
  const headers = { ETag: etag, "Accept-Ranges": "bytes", "Content-Length": String(bigBody.length - start) }
  response.writeHead(
    start > 0 ? 206 : 200,
    start > 0 ? { ...headers, "Content-Range": `bytes ${start}-${bigBody.length - 1}/${bigBody.length}` } : headers
  )
  let offset = start
  const timer = setInterval(() => {
    const piece = bigBody.subarray(offset, offset + 64 * 1024)
    offset += piece.length
    if (offset >= bigBody.length) {
      clearInterval(timer)
      response.end(piece)
    } else {
      response.write(piece)
    }
  }, 15)
  response.on("close", () => clearInterval(timer))
}
