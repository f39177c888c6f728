/**
 * Downloads that finish while no app runs: enqueue them in a background session and exit;
 * run again to collect what finished meanwhile.
 *
 *   npx tsx --conditions=source examples/background-download.ts enqueue <url>...
 *   npx tsx --conditions=source examples/background-download.ts collect <directory>
 *
 * The transfers are carried out by `urlsessiond`, which the first command starts and which
 * exits by itself once it has been idle for a minute. `URLSESSION_STATE_DIRECTORY` moves its
 * state (the demo gives it a directory of its own).
 */
import { URLSession, URLSessionConfiguration, URLSessionEvent } from "@urlsession/core"
import type { URLSessionDelegate } from "@urlsession/core"
import { NodeURLSession } from "@urlsession/node"
import { Console, Effect, Stream } from "effect"
import { execFile } from "node:child_process"
import { createHash } from "node:crypto"
import * as fs from "node:fs"
import * as os from "node:os"
import * as path from "node:path"
import { fileURLToPath, pathToFileURL } from "node:url"
import { bigBody } from "./server.js"

const configuration = URLSessionConfiguration.background("com.example.background-download")

/** Starts a download of each URL and returns: closing the layer detaches, it cancels nothing. */
export const enqueue = (urls: ReadonlyArray<string>) =>
  Effect.gen(function*() {
    for (const url of urls) {
      const task = yield* URLSession.downloadTask(url)
      yield* task.resume
      yield* Console.log(`  enqueued download task ${task.taskIdentifier}: ${url}`)
    }
  }).pipe(Effect.provide(NodeURLSession.layer(configuration)))

/**
 * Takes every download that finished while this app was away into `directory` (the
 * delegate moves each file there; its success is the hand-off), then lists those still
 * running.
 */
export const collect = (directory: string) => {
  const delegate: URLSessionDelegate.URLSessionDelegate = {
    didFinishDownloadingTo: (task, location) =>
      Effect.gen(function*() {
        const to = path.join(directory, path.basename(new URL(task.originalRequest.url).pathname) || "index")
        fs.renameSync(location, to)
        yield* Console.log(`  collected download task ${task.taskIdentifier}: ${to} (${fs.statSync(to).size} bytes)`)
      })
  }
  return Effect.gen(function*() {
    yield* URLSession.events.pipe(
      Stream.takeUntil(URLSessionEvent.$is("DidFinishEventsForBackgroundURLSession")),
      Stream.runDrain
    )
    for (const task of yield* URLSession.allTasks) {
      const received = yield* task.countOfBytesReceived
      yield* Console.log(`  still running: download task ${task.taskIdentifier}, ${received} bytes so far`)
    }
  }).pipe(Effect.provide(NodeURLSession.layer(configuration, { delegate })))
}

const runThisFile = (args: ReadonlyArray<string>, stateDirectory: string) =>
  Effect.async<string>((resume) => {
    execFile(
      process.execPath,
      ["--conditions=source", "--import", "tsx", fileURLToPath(import.meta.url), ...args],
      { env: { ...process.env, URLSESSION_STATE_DIRECTORY: stateDirectory } },
      (error, stdout, stderr) =>
        resume(error ? Effect.die(new Error(`${error.message}\n${stderr}`)) : Effect.succeed(stdout))
    )
  })

/**
 * What `npm run demo` shows: an app enqueues a download and exits; the daemon finishes it
 * while no app runs; a second app collects it. Each app is a process of its own, and the
 * daemon state lives in a directory of the demo's own, stopped at the end.
 */
export const backgroundDownload = (baseURL: string) =>
  Effect.gen(function*() {
    const work = yield* Effect.acquireRelease(
      Effect.sync(() => fs.mkdtempSync(path.join(os.tmpdir(), "urlsession-demo-"))),
      (work) =>
        runDaemonCommand("stop", path.join(work, "state")).pipe(
          Effect.ignore,
          Effect.zipRight(Effect.sync(() => fs.rmSync(work, { recursive: true, force: true })))
        )
    )
    const stateDirectory = path.join(work, "state")
    const collected = path.join(work, "collected")
    fs.mkdirSync(collected)
    process.stdout.write(yield* runThisFile(["enqueue", `${baseURL}/big`], stateDirectory))
    yield* Console.log("  the app exited; urlsessiond goes on with the download")
    const file = path.join(collected, "big")
    // An app that comes back before the download has finished sees it still running.
    while (!fs.existsSync(file)) {
      yield* Effect.sleep("2 seconds")
      process.stdout.write(yield* runThisFile(["collect", collected], stateDirectory))
    }
    const sha256 = createHash("sha256").update(fs.readFileSync(file)).digest("hex")
    const expected = createHash("sha256").update(bigBody).digest("hex")
    yield* Console.log(`  ${sha256 === expected ? "byte-identical to" : "DIFFERENT from"} what the server sent`)
  }).pipe(Effect.scoped)

// The daemon's program in this repository's sources (an installed package has the
// `urlsessiond` bin instead).
const daemonEntry = new URL("../packages/daemon/src/urlsessiond.ts", import.meta.url)

const runDaemonCommand = (command: string, stateDirectory: string) =>
  Effect.async<string, Error>((resume) => {
    execFile(
      process.execPath,
      ["--conditions=source", "--import", "tsx", fileURLToPath(daemonEntry), command],
      { env: { ...process.env, URLSESSION_STATE_DIRECTORY: stateDirectory } },
      (error, stdout) => resume(error ? Effect.fail(error) : Effect.succeed(stdout))
    )
  })

if (import.meta.url === pathToFileURL(process.argv[1]!).href) {
  const [command, ...rest] = process.argv.slice(2)
  const program = command === "enqueue" && rest.length > 0
    ? enqueue(rest)
    : command === "collect" && rest.length === 1
    ? collect(path.resolve(rest[0]!))
    : Effect.dieMessage("usage: background-download.ts enqueue <url>... | collect <directory>")
  await Effect.runPromise(program)
}
