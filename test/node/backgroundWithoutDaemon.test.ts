/**
 * An app with `@urlsession/node` but without `@urlsession/daemon`: the node package is
 * bundled with esbuild into a directory where no `node_modules` can be found, as in an
 * installation that left the daemon package out, and asked for a background session.
 */
import { expect, it } from "@effect/vitest"
import { Effect } from "effect"
import { execFile } from "node:child_process"
import * as path from "node:path"
import { fileURLToPath } from "node:url"
import { bundleForNode } from "../fixtures/bundle.js"
import { tempDirectory } from "../fixtures/files.js"

const program = `
import { URLSessionConfiguration } from "@urlsession/core"
import { NodeURLSession } from "@urlsession/node"
import { Cause, Effect, Layer } from "effect"
const exit = await Effect.runPromiseExit(Effect.scoped(Layer.build(
  NodeURLSession.layer(URLSessionConfiguration.background("com.example.sync"))
)))
console.log(exit._tag === "Failure" ? Cause.pretty(exit.cause) : "built")
`

it.live(
  "a background layer without @urlsession/daemon installed dies saying what to install",
  () =>
    Effect.gen(function*() {
      const directory = yield* tempDirectory
      const bundle = path.join(directory, "app.mjs")
      yield* bundleForNode(
        { stdin: { contents: program, resolveDir: fileURLToPath(new URL(".", import.meta.url)), loader: "ts" } },
        bundle
      )
      const output = yield* Effect.async<string>((resume) => {
        execFile(
          process.execPath,
          [bundle],
          { cwd: directory },
          (_, stdout, stderr) => resume(Effect.succeed(stdout + stderr))
        )
      })
      expect(output).toContain(
        "Background sessions need the @urlsession/daemon package: npm install @urlsession/daemon"
      )
    }).pipe(Effect.scoped),
  { timeout: 30_000 }
)
