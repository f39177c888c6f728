/**
 * The README's quick start: JSON in and out with a Schema, a status check and retries, and a
 * download with progress that goes on where it stopped, in a session with a base URL.
 *
 *   npx tsx --conditions=source examples/quick-start.ts
 */
import { DataResult, URLResponse, URLSession } from "@urlsession/core"
import { NodeURLSession } from "@urlsession/node"
import { Console, Effect, Option, Schema } from "effect"
import * as fs from "node:fs"
import * as os from "node:os"
import * as path from "node:path"
import { pathToFileURL } from "node:url"
import { progress } from "./progress.js"
import { runWithDemoServer } from "./server.js"

const Greeting = Schema.Struct({ greeting: Schema.String })
const Received = Schema.Struct({ length: Schema.Number, sha256: Schema.String })

export const quickStart = (baseURL: string) =>
  Effect.gen(function*() {
    // GET, decoded with a Schema; a non-2xx status fails; timeouts, lost connections and 5xx retried.
    const { greeting } = yield* URLSession.data("hello", { query: { lang: "en" } }).pipe(
      Effect.flatMap(DataResult.filterStatusOk),
      URLSession.retryTransient(),
      Effect.flatMap(DataResult.schemaJson(Greeting))
    )
    yield* Console.log(`  GET hello: ${greeting}`)

    // POST a JSON body (Content-Type: application/json).
    const received = yield* URLSession.data("upload", { method: "POST", json: { name: "Ada" } }).pipe(
      Effect.flatMap(DataResult.filterStatusOk),
      Effect.flatMap(DataResult.schemaJson(Received))
    )
    yield* Console.log(`  POST upload: the server got ${received.length} bytes`)

    // A download moved to `to` whole, with progress. Stopped (here by a timeout, as by Ctrl-C), it keeps
    // its partial file, and the next call for the same URL and `to` goes on from there.
    const to = path.join(os.tmpdir(), `quick-start-${process.pid}.bin`)
    yield* Effect.addFinalizer(() => Effect.sync(() => fs.rmSync(to, { force: true })))
    const bar = progress((done, expected) => `  ${done} of ${expected} bytes`)
    const download = URLSession.download("big", {
      to,
      resumable: true,
      progress: ({ bytes, totalBytes }) => Effect.sync(() => bar.update(bytes, Option.getOrElse(totalBytes, () => -1)))
    })
    yield* download.pipe(Effect.timeout("300 millis"), Effect.ignore)
    bar.finish()
    yield* Console.log("  stopped; the next call goes on from where it stopped")
    const { response } = yield* download
    bar.finish()
    yield* Console.log(`  the rest, ${response.expectedContentLength} bytes, came in a 206 (${statusOf(response)})`)
  }).pipe(
    Effect.scoped,
    Effect.provide(NodeURLSession.layer({ baseURL: `${baseURL}/`, timeoutIntervalForRequest: "10 seconds" }))
  )

const statusOf = (response: URLResponse.URLResponse) =>
  URLResponse.isHTTPURLResponse(response) ? response.statusCode : "no status"

if (import.meta.url === pathToFileURL(process.argv[1]!).href) await runWithDemoServer(quickStart)
