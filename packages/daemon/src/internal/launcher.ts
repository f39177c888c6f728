/**
 * Finds the user's `urlsessiond`, or starts it: the app side's only way to a daemon. Nothing
 * here opens the store: an app never loads SQLite.
 */
import * as URLError from "@urlsession/core/URLError"
import * as Effect from "effect/Effect"
import * as Option from "effect/Option"
import * as Schedule from "effect/Schedule"
import { type ChildProcess, spawn } from "node:child_process"
import * as fs from "node:fs"
import * as net from "node:net"
import * as path from "node:path"
import { fileURLToPath } from "node:url"
import * as daemonSocket from "./daemonSocket.js"
import * as stateDirectory from "./stateDirectory.js"

// How long a daemon just started may take to answer: tsx compiling the sources on a cold
// cache takes a few seconds.
const startTimeout = "10 seconds"

export const logFile = (directory: string): string => path.join(directory, "daemon.log")

/**
 * The state directory: `given`, else where `URLSESSION_STATE_DIRECTORY` or the default
 * says, made 0700 and checked by the daemon's own rule (the daemon's log goes there before
 * the daemon runs).
 */
export const resolveStateDirectory = (given: string | undefined): Effect.Effect<string, URLError.URLError> =>
  Effect.map(stateDirectory.tag, (directory) => directory.path).pipe(
    Effect.provide(given === undefined ? stateDirectory.layer : stateDirectory.layerPath(path.resolve(given))),
    Effect.mapError((error) =>
      URLError.make("CannotCreateFile", {
        message: `the background sessions' state directory cannot be used: ${error.message}`,
        cause: error
      })
    )
  )

/** Whether something accepts connections on `socket` now. */
export const answers = (socket: string): Effect.Effect<boolean> =>
  Effect.async((resume) => {
    const connection = net.createConnection({ path: socket })
    connection.once("connect", () => {
      connection.destroy()
      resume(Effect.succeed(true))
    })
    connection.once("error", () => {
      connection.destroy()
      resume(Effect.succeed(false))
    })
    return Effect.sync(() => connection.destroy())
  })

// From the sources (this file ends in `.ts`: vitest, tsx) the daemon runs its sources too;
// from a build, its bin. Both files sit two levels below the package's root.
const daemonArguments = (): ReadonlyArray<string> =>
  import.meta.url.endsWith(".ts")
    ? ["--conditions=source", "--import", "tsx", fileURLToPath(new URL("../urlsessiond.ts", import.meta.url))]
    : [fileURLToPath(new URL("../../bin/urlsessiond.js", import.meta.url))]

const packageRoot = fileURLToPath(new URL("../../", import.meta.url))

/**
 * Starts the daemon for `directory`, detached: in a process group of its own, with no tie to
 * the app's stdio, so that it outlives the app, its terminal and its process group. Its
 * working directory is its package (where `tsx` resolves, and never a directory the app
 * might unmount). Two apps starting one at once is harmless: the instance lock lets one run.
 */
const start = (directory: string): Effect.Effect<ChildProcess, URLError.URLError> =>
  Effect.try({
    try: () => {
      const log = fs.openSync(logFile(directory), "a", 0o600)
      try {
        const child = spawn(process.execPath, daemonArguments(), {
          cwd: packageRoot,
          detached: true,
          stdio: ["ignore", log, log],
          env: { ...process.env, [stateDirectory.variable]: directory }
        })
        // A failure to start shows as a daemon that never answers, whose log says why.
        child.on("error", () => {})
        child.unref()
        return child
      } finally {
        fs.closeSync(log)
      }
    },
    catch: (cause) =>
      URLError.make("CannotConnectToHost", {
        message: `urlsessiond cannot be started (its log: ${logFile(directory)})`,
        cause
      })
  })

/**
 * The socket of the daemon for `directory`, started first if nothing answers there (no
 * socket file, or one left by a daemon that died), and waited for.
 */
export const ensureRunning = (directory: string): Effect.Effect<string, URLError.URLError> =>
  Effect.gen(function*() {
    const socket = daemonSocket.pathFor(directory)
    if (yield* answers(socket)) return socket
    let child = yield* start(directory)
    // A daemon that exits at once with status 0 found the instance lock held: by a daemon
    // that is stopping (it releases the lock last), or one that another app just started.
    // It is started again until one answers. Any other exit is for its log to explain.
    const answeredOrRestarted = Effect.flatMap(answers(socket), (ok) =>
      ok || child.exitCode !== 0 ? Effect.succeed(ok) : Effect.as(
        Effect.map(start(directory), (next) => {
          child = next
        }),
        false
      ))
    const answered = yield* answeredOrRestarted.pipe(
      Effect.repeat({
        schedule: Schedule.spaced("50 millis"),
        until: (ok) =>
          ok
      }),
      Effect.timeoutOption(startTimeout)
    )
    if (Option.isNone(answered)) {
      return yield* Effect.fail(URLError.make("CannotConnectToHost", {
        message: `urlsessiond did not answer at ${socket} within ${startTimeout}; see its log at ${logFile(directory)}`
      }))
    }
    return socket
  })
