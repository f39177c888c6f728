/**
 * One daemon per state directory: real `urlsessiond` processes, started from the sources; a
 * second one exits cleanly while the first holds the lock, and the lock is free again the
 * moment its holder is killed with SIGKILL.
 */
import { describe, expect, it } from "@effect/vitest"
import { InstanceLock, StateDirectory } from "@urlsession/daemon"
import { Effect, Exit } from "effect"
import { type ChildProcess, spawn } from "node:child_process"
import * as path from "node:path"
import { fileURLToPath } from "node:url"
import { tempDirectory } from "../fixtures/files.js"

const entry = fileURLToPath(new URL("../../packages/daemon/src/urlsessiond.ts", import.meta.url))

interface Daemon {
  readonly child: ChildProcess
  readonly output: () => string
  /** The exit code, once the process has exited. */
  readonly exited: Promise<number | null>
}

/** Starts `urlsessiond` on `stateDirectory`; killed by its PID when the scope closes. */
const startDaemon = (stateDirectory: string) =>
  Effect.acquireRelease(
    Effect.sync((): Daemon => {
      const child = spawn(process.execPath, ["--conditions=source", "--import", "tsx", entry], {
        env: { ...process.env, [StateDirectory.variable]: stateDirectory },
        stdio: ["ignore", "pipe", "pipe"]
      })
      let output = ""
      child.stdout!.on("data", (chunk) => output += chunk)
      child.stderr!.on("data", (chunk) => output += chunk)
      const exited = new Promise<number | null>((resolve) => child.on("exit", (code) => resolve(code)))
      return { child, output: () => output, exited }
    }),
    ({ child, exited }) =>
      Effect.promise(() => {
        if (child.exitCode === null && child.signalCode === null) process.kill(child.pid!, "SIGKILL")
        return exited
      })
  )

/** Waits until the daemon's output contains `text`. */
const waitForOutput = (daemon: Daemon, text: string) =>
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

describe("InstanceLock", () => {
  it.live("a second daemon exits with status 0 while the first holds the lock; SIGKILL frees it", () =>
    Effect.scoped(Effect.gen(function*() {
      const directory = path.join(yield* tempDirectory, "state")
      const first = yield* startDaemon(directory)
      yield* waitForOutput(first, "ready in")

      const second = yield* startDaemon(directory)
      expect(yield* Effect.promise(() => second.exited)).toBe(0)
      expect(second.output()).toBe(
        `urlsessiond ${second.child.pid}: another urlsessiond holds the lock in ${directory}; exiting\n`
      )
      expect(first.child.exitCode).toBe(null)

      process.kill(first.child.pid!, "SIGKILL")
      yield* Effect.promise(() => first.exited)
      const third = yield* startDaemon(directory)
      yield* waitForOutput(third, "ready in")
      expect(third.output()).toBe(`urlsessiond ${third.child.pid} ready in ${directory}\n`)
    })), { timeout: 60_000 })

  it.live("of two daemons started at once, one serves and the other exits with status 0", () =>
    Effect.scoped(Effect.gen(function*() {
      const directory = path.join(yield* tempDirectory, "state")
      const daemons = [yield* startDaemon(directory), yield* startDaemon(directory)]
      const loser = yield* Effect.promise(() =>
        Promise.race(daemons.map((daemon) => daemon.exited.then((code) => ({ daemon, code }))))
      )
      expect(loser.code).toBe(0)
      expect(loser.daemon.output()).toContain("another urlsessiond holds the lock")
      const winner = daemons.find((daemon) => daemon !== loser.daemon)!
      yield* waitForOutput(winner, "ready in")
      expect(winner.child.exitCode).toBe(null)
    })), { timeout: 60_000 })

  it.live("the lock is exclusive within one process too, and free again when its scope closes", () =>
    Effect.scoped(Effect.gen(function*() {
      const layer = StateDirectory.layerPath(path.join(yield* tempDirectory, "state"))
      const acquire = Effect.provide(InstanceLock.acquire, layer)
      yield* Effect.scoped(Effect.gen(function*() {
        yield* acquire
        const exit = yield* Effect.exit(Effect.scoped(acquire))
        expect(Exit.isFailure(exit) && exit.cause._tag === "Fail" && exit.cause.error.reason).toBe("AlreadyRunning")
      }))
      expect(Exit.isSuccess(yield* Effect.exit(Effect.scoped(acquire)))).toBe(true)
    })))
})
