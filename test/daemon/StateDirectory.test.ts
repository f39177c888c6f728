/**
 * The daemon's state directory: per user under the XDG state directory, moved by one
 * environment variable, and held to the private-directory rule of the downloads directory.
 */
import { describe, expect, it } from "@effect/vitest"
import { StateDirectory } from "@urlsession/daemon"
import { ConfigProvider, Effect, Exit } from "effect"
import * as fs from "node:fs"
import * as path from "node:path"
import { tempDirectory } from "../fixtures/files.js"

// Giving a directory to another user takes root (as CI runs).
const canChown = process.getuid?.() === 0

/** The state directory the layer makes, with `URLSESSION_STATE_DIRECTORY` set to `moved`. */
const stateDirectoryAt = (moved: string) =>
  Effect.map(StateDirectory.StateDirectory, (directory) => directory.path).pipe(
    Effect.provide(StateDirectory.layer),
    Effect.withConfigProvider(ConfigProvider.fromMap(new Map([[StateDirectory.variable, moved]])))
  )

const failureOf = <A, E>(effect: Effect.Effect<A, E>) =>
  Effect.flatMap(Effect.exit(effect), (exit) =>
    Exit.isFailure(exit) && exit.cause._tag === "Fail"
      ? Effect.succeed(exit.cause.error)
      : Effect.dieMessage(`expected a failure, got ${exit._tag}`))

describe("StateDirectory", () => {
  it("is $XDG_STATE_HOME/urlsession when XDG_STATE_HOME is absolute", () => {
    expect(StateDirectory.defaultPath({ XDG_STATE_HOME: "/x/state" }, "linux", "/home/u")).toBe("/x/state/urlsession")
  })

  it("is ~/.local/state/urlsession without XDG_STATE_HOME, or with a relative one", () => {
    expect(StateDirectory.defaultPath({}, "linux", "/home/u")).toBe("/home/u/.local/state/urlsession")
    expect(StateDirectory.defaultPath({ XDG_STATE_HOME: "state" }, "linux", "/home/u")).toBe(
      "/home/u/.local/state/urlsession"
    )
  })

  it("is ~/Library/Application Support/urlsession on macOS", () => {
    expect(StateDirectory.defaultPath({}, "darwin", "/Users/u")).toBe("/Users/u/Library/Application Support/urlsession")
  })

  it.scoped("URLSESSION_STATE_DIRECTORY moves it, and a missing one is made 0700", () =>
    Effect.gen(function*() {
      const moved = path.join(yield* tempDirectory, "a", "state")
      expect(yield* stateDirectoryAt(moved)).toBe(moved)
      const stats = fs.lstatSync(moved)
      expect([stats.isDirectory(), stats.mode & 0o777]).toEqual([true, 0o700])
    }))

  it.effect("a relative URLSESSION_STATE_DIRECTORY is refused with NotAbsolute", () =>
    Effect.gen(function*() {
      const error = yield* failureOf(stateDirectoryAt("state"))
      expect(error.reason).toBe("NotAbsolute")
      expect(error.message).toBe("URLSESSION_STATE_DIRECTORY must be an absolute path, not \"state\"")
    }))

  it.scoped("a directory others can write to (0777) is refused, not repaired", () =>
    Effect.gen(function*() {
      const directory = path.join(yield* tempDirectory, "state")
      fs.mkdirSync(directory)
      fs.chmodSync(directory, 0o777)
      const error = yield* failureOf(stateDirectoryAt(directory))
      expect(error.reason).toBe("NotPrivate")
      expect(error.message).toBe(`the directory ${directory} is writable by its group and others (mode 777)`)
      expect(fs.lstatSync(directory).mode & 0o777).toBe(0o777)
    }))

  it.scoped.skipIf(!canChown)("a directory of another user is refused", () =>
    Effect.gen(function*() {
      const directory = path.join(yield* tempDirectory, "state")
      fs.mkdirSync(directory, { mode: 0o700 })
      fs.chownSync(directory, 65534, 65534)
      const error = yield* failureOf(stateDirectoryAt(directory))
      expect(error.reason).toBe("NotPrivate")
      expect(error.message).toBe(`the directory ${directory} is owned by uid 65534, not ${process.getuid!()}`)
    }))

  it.scoped("a symbolic link to a private directory is refused", () =>
    Effect.gen(function*() {
      const parent = yield* tempDirectory
      fs.mkdirSync(path.join(parent, "real"), { mode: 0o700 })
      fs.symlinkSync(path.join(parent, "real"), path.join(parent, "state"))
      const error = yield* failureOf(stateDirectoryAt(path.join(parent, "state")))
      expect(error.reason).toBe("NotPrivate")
      expect(error.message).toBe(`the directory ${path.join(parent, "state")} is a symbolic link`)
    }))
})
