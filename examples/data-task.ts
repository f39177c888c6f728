/**
 * Load a URL into memory with `URLSession.data`, in a session provided as a layer.
 *
 *   npx tsx --conditions=source examples/data-task.ts
 */
import { URLError, URLResponse, URLSession, URLSessionConfiguration } from "@urlsession/core"
import { NodeURLSession } from "@urlsession/node"
import { Console, Effect, Option } from "effect"
import { pathToFileURL } from "node:url"
import { runWithDemoServer } from "./server.js"

export const dataTask = (baseURL: string) =>
  Effect.gen(function*() {
    const { data, response } = yield* URLSession.data(`${baseURL}/hello`)
    const status = URLResponse.isHTTPURLResponse(response) ? response.statusCode : "-"
    const mimeType = Option.getOrElse(response.mimeType, () => "unknown type")
    yield* Console.log(`  ${status} ${mimeType}, ${data.byteLength} bytes: ${new TextDecoder().decode(data)}`)
  }).pipe(
    URLError.catchCode("TimedOut", () => Console.log("  the server did not answer in time")),
    Effect.provide(
      NodeURLSession.layer(
        URLSessionConfiguration.default.pipe(URLSessionConfiguration.with({ timeoutIntervalForRequest: "5 seconds" }))
      )
    )
  )

if (import.meta.url === pathToFileURL(process.argv[1]!).href) await runWithDemoServer(dataTask)
