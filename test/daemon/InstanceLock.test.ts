/**
 * One daemon per state directory: real `urlsessiond` processes, started from the sources; a
 * second one exits cleanly while the first holds the lock, and the lock is free again the
 * moment its holder is killed with SIGKILL.
 */
import { describe, expect, it } from "@effect/vitest"
import { InstanceLock, StateDirectory } from "@urlsession/daemon"
import { Effect, Exit } from "effect"
import * as path from "node:path"
import { tempDirectory } from "../fixtures/files.js"
import { startDaemon, waitForOutput } from "./daemonProcess.js"

describe("InstanceLock", () => {
  it.live(
    "a second daemon exits with status 0 while the first holds the lock; SIGKILL frees it",
    () =>
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
      })),
    { timeout: 60_000 }
  )

  it.live(
    "of two daemons started at once, one serves and the other exits with status 0",
    () =>
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
      })),
    { timeout: 60_000 }
  )

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
