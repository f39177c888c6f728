/**
 * The soak's app: attaches to the background session `soak`, takes every download the
 * daemon hands over (its delegate moves the file to `<out>/<n>.bin`), then makes sure each
 * of the `count` downloads exists, and waits. Killed with SIGKILL at random moments by
 * `soak.ts`, and started again.
 *
 * Argument: a JSON object `{ baseURL, out, count }`. Writes `<out>/duplicates.log` (a file
 * handed over twice) and prints `all delivered; <n> extra tasks` once every file is in
 * `out` (a task still alive then was made twice), having cancelled those.
 */
import { URLSession, URLSessionConfiguration, URLSessionEvent } from "@urlsession/core"
import { NodeURLSession } from "@urlsession/node"
import { Effect, Stream } from "effect"
import * as fs from "node:fs"
import * as path from "node:path"

const { baseURL, count, out } = JSON.parse(process.argv[2]!) as { baseURL: string; count: number; out: string }

const fileFor = (url: string) => path.join(out, `${new URL(url).pathname.split("/").at(-1)}.bin`)
const delivered = () => fs.readdirSync(out).filter((name) => name.endsWith(".bin")).length

const delegate = {
  didFinishDownloadingTo: (task: { readonly originalRequest: { readonly url: string } }, location: string) =>
    Effect.sync(() => {
      const to = fileFor(task.originalRequest.url)
      if (fs.existsSync(to)) fs.appendFileSync(path.join(out, "duplicates.log"), `${to}\n`)
      fs.renameSync(location, to)
    })
}

const program = Effect.gen(function*() {
  // Whatever finished while this app was away is handed over first.
  yield* URLSession.events.pipe(
    Stream.takeUntil(URLSessionEvent.$is("DidFinishEventsForBackgroundURLSession")),
    Stream.runDrain
  )
  const tasks = yield* URLSession.allTasks
  // A task an earlier app made but was killed before resuming.
  for (const task of tasks) yield* task.resume
  const alive = new Set(tasks.map((task) => task.originalRequest.url))
  for (let n = 0; n < count; n++) {
    const url = `${baseURL}/file/${n}`
    if (alive.has(url) || fs.existsSync(fileFor(url))) continue
    const task = yield* URLSession.downloadTask(url)
    yield* task.resume
  }
  while (delivered() < count) yield* Effect.sleep("200 millis")
  // Any task still alive downloads a file already delivered: an app made it twice.
  const extra = (yield* URLSession.allTasks).length
  yield* URLSession.invalidateAndCancel
  console.log(`all delivered; ${extra} extra tasks`)
})

Effect.runFork(program.pipe(
  Effect.provide(NodeURLSession.layer(URLSessionConfiguration.background("soak"), { delegate })),
  Effect.scoped,
  Effect.tapErrorCause(Effect.logError)
))
