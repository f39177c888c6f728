/**
 * Real `urlsessiond` processes for tests, started from the sources and killed by their PID.
 */
import { type Protocol, StateDirectory } from "@urlsession/daemon"
import { Effect, Queue } from "effect"
import { type ChildProcess, spawn } from "node:child_process"
import { fileURLToPath } from "node:url"

const entry = fileURLToPath(new URL("../../packages/daemon/src/urlsessiond.ts", import.meta.url))

export interface Daemon {
  readonly child: ChildProcess
  readonly output: () => string
  /** The exit code, once the process has exited. */
  readonly exited: Promise<number | null>
}

/** Starts `urlsessiond` on `stateDirectory` (with `args`, and `environment` added to this
 * process's); killed by its PID when the scope closes. */
export const startDaemon = (
  stateDirectory: string,
  environment: Readonly<Record<string, string>> = {},
  args: ReadonlyArray<string> = []
) =>
  Effect.acquireRelease(
    Effect.sync((): Daemon => {
      const child = spawn(process.execPath, ["--conditions=source", "--import", "tsx", entry, ...args], {
        env: { ...process.env, ...environment, [StateDirectory.variable]: stateDirectory },
        stdio: ["ignore", "pipe", "pipe"]
      })
      let output = ""
      child.stdout!.on("data", (chunk) => output += chunk)
      child.stderr!.on("data", (chunk) => output += chunk)
      const exited = new Promise<number | null>((resolve) => child.on("close", (code) => resolve(code)))
      return { child, output: () => output, exited }
    }),
    ({ child, exited }) =>
      Effect.promise(() => {
        if (child.exitCode === null && child.signalCode === null) process.kill(child.pid!, "SIGKILL")
        return exited
      })
  )

/** Waits until the daemon's output contains `text`. */
export const waitForOutput = (daemon: Daemon, text: string) =>
  Effect.promise(() =>
    new Promise<void>((resolve, reject) => {
      const timer = setTimeout(() => reject(new Error(`no "${text}" in: ${daemon.output()}`)), 15_000)
      const check = () => {
        if (!daemon.output().includes(text)) return
        clearTimeout(timer)
        resolve()
      }
      daemon.child.stdout!.on("data", check)
      daemon.child.stderr!.on("data", check)
      check()
    })
  )

/** Runs `urlsessiond <args>` on `stateDirectory` to its end: its exit code and output. */
export const runCommand = (stateDirectory: string, args: ReadonlyArray<string>) =>
  Effect.scoped(
    Effect.flatMap(startDaemon(stateDirectory, {}, args), (command) =>
      Effect.promise(async () => ({ code: await command.exited, output: command.output() })))
  )

/** Apple's default configuration, as it crosses the wire. */
export const configuration: Protocol.WireConfiguration = {
  timeoutIntervalForRequestMillis: 60_000,
  timeoutIntervalForResourceMillis: 7 * 24 * 3600 * 1000,
  httpMaximumConnectionsPerHost: 6,
  httpAdditionalHeaders: {},
  trustedCertificates: [],
  allowsInsecureRedirects: false,
  maximumDecodedContentLength: 2 ** 30
}

/** Takes items until one satisfies `last`, which is included. */
export const takeThrough = <A>(queue: Queue.Queue<A>, last: (item: A) => boolean) =>
  Effect.gen(function*() {
    const taken: Array<A> = []
    for (;;) {
      const item = yield* Queue.take(queue)
      taken.push(item)
      if (last(item)) return taken
    }
  })
