/**
 * The program the packed-install check (`.ci/packed-install`) runs in a fresh project that
 * installed the packed `@urlsession/core` and `@urlsession/node` tarballs: it serves a body on
 * 127.0.0.1, loads it with `URLSession.data` over `NodeURLSession.layer`, and exits non-zero
 * unless the status and body arrive, the packages resolve to their built `dist/` inside that
 * project, and `internal/` stays closed.
 */
import { URLResponse, URLSession, URLSessionConfiguration } from "@urlsession/core"
import { NodeURLSession } from "@urlsession/node"
import { Effect } from "effect"
import * as http from "node:http"
import type { AddressInfo } from "node:net"
import * as path from "node:path"
import { fileURLToPath } from "node:url"

const failures: Array<string> = []
const expected = "hello from a packed install"

// Outside this repository nothing sets the "source" condition: both packages must load from dist/.
for (const name of ["@urlsession/core", "@urlsession/node"]) {
  const resolved = fileURLToPath(import.meta.resolve(name))
  const wanted = path.join(process.cwd(), "node_modules", name, "dist", "index.js")
  if (resolved !== wanted) failures.push(`${name} resolves to ${resolved}, not ${wanted}`)
}

const server = http.createServer((_, response) => {
  response.writeHead(200, { "Content-Type": "text/plain; charset=utf-8" })
  response.end(expected)
})
await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve))
const { port } = server.address() as AddressInfo
try {
  const { data, response } = await Effect.runPromise(
    URLSession.data(`http://127.0.0.1:${port}/hello`).pipe(
      Effect.provide(NodeURLSession.layer(URLSessionConfiguration.default))
    )
  )
  const status = URLResponse.isHTTPURLResponse(response) ? response.statusCode : "-"
  const body = new TextDecoder().decode(data)
  console.log(`URLSession.data: ${status} ${JSON.stringify(body)}`)
  if (status !== 200 || body !== expected) failures.push(`expected 200 ${JSON.stringify(expected)}`)
} finally {
  server.close()
}

// The package closes its internals: a deep import must be refused.
const internal: string = "@urlsession/core/internal/task"
const refused = await import(internal).then(() => undefined, (error: NodeJS.ErrnoException) => error.code)
if (refused !== "ERR_PACKAGE_PATH_NOT_EXPORTED") failures.push(`import("${internal}") was not refused: ${refused}`)

if (failures.length > 0) {
  console.error(failures.join("\n"))
  process.exitCode = 1
}
