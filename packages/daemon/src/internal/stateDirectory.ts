import type { PlatformError } from "@effect/platform/Error"
import * as PrivateDirectory from "@urlsession/node/PrivateDirectory"
import * as Config from "effect/Config"
import * as Context from "effect/Context"
import * as Data from "effect/Data"
import * as Effect from "effect/Effect"
import * as Layer from "effect/Layer"
import * as os from "node:os"
import * as path from "node:path"
import type { StateDirectory } from "../StateDirectory.js"

export const tag = Context.GenericTag<StateDirectory>("@urlsession/daemon/StateDirectory")

export class StateDirectoryError extends Data.TaggedError("StateDirectoryError")<{
  readonly reason: "NotAbsolute" | "NotPrivate"
  readonly message: string
  readonly cause?: PlatformError
}> {}

export const variable = "URLSESSION_STATE_DIRECTORY"

export const defaultPath = (
  environment: Readonly<Record<string, string | undefined>>,
  platform: NodeJS.Platform = process.platform,
  home: string = os.homedir()
): string => {
  const xdg = environment["XDG_STATE_HOME"]
  if (xdg !== undefined && path.isAbsolute(xdg)) return path.join(xdg, "urlsession")
  if (platform === "darwin") return path.join(home, "Library", "Application Support", "urlsession")
  const local = environment["LOCALAPPDATA"]
  if (platform === "win32" && local !== undefined && path.isAbsolute(local)) return path.join(local, "urlsession")
  return path.join(home, ".local", "state", "urlsession")
}

export const resolve: Effect.Effect<string, StateDirectoryError> = Effect.gen(function*() {
  const moved = yield* Effect.orDie(Config.withDefault(Config.string(variable), ""))
  if (moved === "") return defaultPath(process.env)
  if (!path.isAbsolute(moved)) {
    return yield* new StateDirectoryError({
      reason: "NotAbsolute",
      message: `${variable} must be an absolute path, not ${JSON.stringify(moved)}`
    })
  }
  return path.resolve(moved)
})

const make = (directory: string): Effect.Effect<StateDirectory, StateDirectoryError> =>
  PrivateDirectory.ensure(directory).pipe(
    Effect.mapError((cause) =>
      new StateDirectoryError({
        reason: "NotPrivate",
        message: cause._tag === "SystemError" ? cause.description ?? cause.message : cause.message,
        cause
      })
    ),
    Effect.as({ path: directory })
  )

export const layerPath = (directory: string): Layer.Layer<StateDirectory, StateDirectoryError> =>
  Layer.effect(tag, make(directory))

export const layer: Layer.Layer<StateDirectory, StateDirectoryError> = Layer.effect(tag, Effect.flatMap(resolve, make))
