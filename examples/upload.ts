/**
 * Uploads a file with a progress bar (redrawn on a terminal, a line a tenth in a log), then a
 * stream of unknown length (sent chunked), and checks what the server received against what
 * was sent.
 *
 *   npx tsx --conditions=source examples/upload.ts <url> <file>
 *
 * (Without arguments it uploads a generated 16 MiB file and a stream to its own local server.)
 */
import { URLRequest, URLSession, URLSessionConfiguration, URLSessionEvent } from "@urlsession/core"
import { NodeURLSession } from "@urlsession/node"
import { Console, Effect, Fiber, Stream } from "effect"
import { createHash, randomFillSync } from "node:crypto"
import * as fs from "node:fs"
import * as os from "node:os"
import * as path from "node:path"
import { pathToFileURL } from "node:url"
import { progress } from "./progress.js"
import { demoServer } from "./server.js"

const megabytes = (bytes: number) => `${(bytes / 1024 / 1024).toFixed(1)} MiB`

const bar = (sent: number, expected: number) => {
  const fraction = expected > 0 ? Math.min(sent / expected, 1) : 0
  return `  [${"#".repeat(Math.round(fraction * 30)).padEnd(30, ".")}] ${megabytes(sent)} / ${
    expected > 0 ? megabytes(expected) : "?"
  }`
}

/** Uploads `file` with PUT, drawing progress from the task's `DidSendBodyData` events. */
export const uploadFile = (url: string, file: string) =>
  Effect.gen(function*() {
    const task = yield* URLSession.uploadTask(URLRequest.make(url).pipe(URLRequest.setMethod("PUT")), { file })
    const shown = progress(bar)
    const sending = yield* task.events.pipe(
      Stream.filter(URLSessionEvent.$is("DidSendBodyData")),
      Stream.runForEach(({ totalBytesExpectedToSend, totalBytesSent }) =>
        Effect.sync(() => shown.update(totalBytesSent, totalBytesExpectedToSend))
      ),
      Effect.fork
    )
    yield* task.resume
    const { data } = yield* task.await
    yield* Fiber.join(sending)
    shown.finish()
    return new TextDecoder().decode(data)
  })

/** The demo: a file and a stream, each checked by the hash the server computed. */
export const uploads = (baseURL: string) =>
  Effect.gen(function*() {
    const directory = fs.mkdtempSync(path.join(os.tmpdir(), "urlsession-demo-"))
    const file = path.join(directory, "upload.bin")
    const content = randomFillSync(Buffer.alloc(16 * 1024 * 1024))
    fs.writeFileSync(file, content)
    const answer = JSON.parse(yield* uploadFile(`${baseURL}/upload`, file))
    const expected = createHash("sha256").update(content).digest("hex")
    yield* Console.log(
      `  the server got ${answer.length} bytes, ${answer.sha256 === expected ? "identical" : "DIFFERENT"}`
    )

    const lines = Stream.range(1, 1000).pipe(Stream.map((n) => new TextEncoder().encode(`line ${n}\n`)))
    const streamed = yield* URLSession.upload(`${baseURL}/upload`, lines)
    yield* Console.log(`  a stream of unknown length, sent chunked: ${new TextDecoder().decode(streamed.data)}`)
    fs.rmSync(directory, { recursive: true, force: true })
  }).pipe(Effect.provide(NodeURLSession.layer(URLSessionConfiguration.default)))

if (import.meta.url === pathToFileURL(process.argv[1]!).href) {
  const [url, file] = process.argv.slice(2)
  if (url === undefined || file === undefined) {
    await Effect.runPromise(Effect.scoped(Effect.flatMap(demoServer, ({ baseURL }) => uploads(baseURL))))
  } else {
    const answer = await Effect.runPromise(
      uploadFile(url, file).pipe(Effect.provide(NodeURLSession.layer(URLSessionConfiguration.default)))
    )
    console.log(answer)
  }
}
