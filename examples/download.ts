/**
 * A downloader with a progress bar (bytes, rate, ETA; redrawn on a terminal, a line a tenth
 * in a log). Ctrl-C stops it and writes resume data to `<to>.resume`; the next run with the
 * same arguments goes on from there.
 *
 *   npx tsx --conditions=source examples/download.ts <url> <to>
 *
 * (Without arguments it downloads from its own local server, and stops itself half way once
 * to show a pause and resume.)
 */
import { ResumeData, URLSession, URLSessionConfiguration, URLSessionEvent } from "@urlsession/core"
import { NodeURLSession } from "@urlsession/node"
import { Console, Deferred, Effect, Fiber, Option, Stream } from "effect"
import { createHash } from "node:crypto"
import * as fs from "node:fs"
import * as os from "node:os"
import * as path from "node:path"
import { pathToFileURL } from "node:url"
import { progress } from "./progress.js"
import { bigBody, demoServer } from "./server.js"

const megabytes = (bytes: number) => `${(bytes / 1024 / 1024).toFixed(1)} MiB`

/** One line of progress: bar, bytes, rate and ETA. */
const progressLine = (written: number, expected: number, startedAt: number, startedFrom: number) => {
  const seconds = Math.max((Date.now() - startedAt) / 1000, 0.001)
  const rate = (written - startedFrom) / seconds
  const fraction = expected > 0 ? Math.min(written / expected, 1) : 0
  const bar = "#".repeat(Math.round(fraction * 30)).padEnd(30, ".")
  const eta = expected > 0 && rate > 0 ? `${Math.ceil((expected - written) / rate)} s` : "?"
  const total = expected > 0 ? megabytes(expected) : "?"
  return `  [${bar}] ${megabytes(written)} / ${total}  ${megabytes(rate)}/s  ETA ${eta}`
}

/**
 * Downloads `url` to `to`, going on from `<to>.resume` when it exists. `stop` completing
 * stops the download and saves resume data instead: Ctrl-C, in a terminal.
 */
export const downloadWithResume = (url: string, to: string, stop: Deferred.Deferred<void>) =>
  Effect.gen(function*() {
    const sideFile = `${to}.resume`
    const saved = fs.existsSync(sideFile) ? Option.some(fs.readFileSync(sideFile, "utf8")) : Option.none()
    const task = yield* Option.match(saved, {
      onNone: () => URLSession.downloadTask(url),
      onSome: (encoded) =>
        ResumeData.decode(encoded).pipe(
          Effect.flatMap(URLSession.downloadTaskWithResumeData),
          Effect.tap(() => Console.log(`  resuming from ${sideFile}`))
        )
    })
    const startedAt = Date.now()
    let startedFrom = 0
    const shown = progress((written, expected) => progressLine(written, expected, startedAt, startedFrom))
    const receiving = yield* task.events.pipe(
      Stream.runForEach(URLSessionEvent.$match({
        DidResumeAtOffset: ({ fileOffset }) => Effect.sync(() => void (startedFrom = fileOffset)),
        DidWriteData: ({ totalBytesExpectedToWrite, totalBytesWritten }) =>
          Effect.sync(() => shown.update(totalBytesWritten, totalBytesExpectedToWrite)),
        DidFinishDownloadingTo: () => Effect.void,
        DidReceiveResponse: () => Effect.void,
        DidReceiveData: () => Effect.void,
        DidBecomeDownloadTask: () => Effect.void,
        DidSendBodyData: () => Effect.void,
        WillPerformHTTPRedirection: () => Effect.void,
        DidCompleteWithError: () => Effect.sync(() => shown.finish()),
        DidBecomeInvalidWithError: () => Effect.void,
        DidFinishEventsForBackgroundURLSession: () => Effect.void
      })),
      Effect.fork
    )
    yield* task.resume
    const outcome = yield* Effect.raceFirst(
      Effect.map(task.await, Option.some),
      Effect.as(Deferred.await(stop), Option.none())
    )
    if (Option.isNone(outcome)) {
      const resumeData = yield* task.cancelByProducingResumeData
      yield* Fiber.join(receiving)
      if (Option.isSome(resumeData)) {
        fs.writeFileSync(sideFile, yield* ResumeData.encode(resumeData.value))
        yield* Console.log(`  stopped at ${megabytes(resumeData.value.bytesReceived)}; resume data in ${sideFile}`)
      } else {
        yield* Console.log("  stopped; the server does not allow resuming")
      }
      return false
    }
    yield* Fiber.join(receiving)
    fs.renameSync(outcome.value.location, to)
    fs.rmSync(sideFile, { force: true })
    yield* Console.log(`  saved ${to}`)
    return true
  }).pipe(Effect.provide(NodeURLSession.layer(URLSessionConfiguration.default)))

/** The demo: a download stopped half way (as by Ctrl-C), then resumed by a second run. */
export const pausedAndResumed = (baseURL: string) =>
  Effect.gen(function*() {
    const to = path.join(fs.mkdtempSync(path.join(os.tmpdir(), "urlsession-demo-")), "big.bin")
    const stop = yield* Deferred.make<void>()
    yield* Effect.fork(Effect.delay(Deferred.succeed(stop, undefined), "500 millis"))
    yield* downloadWithResume(`${baseURL}/big`, to, stop)
    yield* downloadWithResume(`${baseURL}/big`, to, yield* Deferred.make<void>())
    const same = createHash("sha256").update(fs.readFileSync(to)).digest("hex") ===
      createHash("sha256").update(bigBody).digest("hex")
    yield* Console.log(`  the file is ${same ? "byte-identical to" : "DIFFERENT from"} the server's`)
    fs.rmSync(path.dirname(to), { recursive: true, force: true })
  })

if (import.meta.url === pathToFileURL(process.argv[1]!).href) {
  const [url, to] = process.argv.slice(2)
  if (url === undefined || to === undefined) {
    await Effect.runPromise(Effect.scoped(Effect.flatMap(demoServer, ({ baseURL }) => pausedAndResumed(baseURL))))
  } else {
    const stop = Effect.runSync(Deferred.make<void>())
    process.once("SIGINT", () => Effect.runSync(Deferred.succeed(stop, undefined)))
    const done = await Effect.runPromise(downloadWithResume(url, to, stop))
    process.exit(done ? 0 : 130)
  }
}
