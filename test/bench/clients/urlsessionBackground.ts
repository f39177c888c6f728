/**
 * urlsession through a background session: the download is carried out by `urlsessiond`
 * (started by the layer, from the package's build, in a state directory of this process's
 * own) and moved to `to` when it finishes. The row's peak RSS is the daemon's (the process
 * the transfer ran in); `close` kills the daemon, by its PID.
 */
import { URLSession, URLSessionConfiguration } from "@urlsession/core"
import { NodeURLSession } from "@urlsession/node"
import { Effect, ManagedRuntime } from "effect"
import * as fs from "node:fs"
import * as os from "node:os"
import * as path from "node:path"
import type { BenchClient } from "../BenchClient.js"

/** The daemon's PID, from the line it logs once ready. */
const daemonPid = (stateDirectory: string): number | undefined => {
  const log = fs.readFileSync(path.join(stateDirectory, "daemon.log"), "utf8")
  const ready = Array.from(log.matchAll(/urlsessiond (\d+) ready in/g)).at(-1)
  return ready === undefined ? undefined : Number(ready[1])
}

/** A field of `/proc/<pid>/status` in bytes (Linux), or null. */
const procStatusBytes = (pid: number | undefined, field: "VmHWM"): number | null => {
  if (pid === undefined) return null
  try {
    const kilobytes = new RegExp(`^${field}:\\s+(\\d+) kB`, "m").exec(fs.readFileSync(`/proc/${pid}/status`, "utf8"))
      ?.[1]
    return kilobytes === undefined ? null : Number(kilobytes) * 1024
  } catch {
    return null
  }
}

export const make = async (): Promise<BenchClient> => {
  const stateDirectory = fs.mkdtempSync(path.join(os.tmpdir(), "urlsession-bench-state-"))
  process.env["URLSESSION_STATE_DIRECTORY"] = stateDirectory
  const runtime = ManagedRuntime.make(NodeURLSession.layer(URLSessionConfiguration.background("bench")))
  await runtime.runPromise(URLSession.allTasks)
  const pid = daemonPid(stateDirectory)

  return {
    download: (url, to) => runtime.runPromise(Effect.asVoid(Effect.scoped(URLSession.download(url, { to })))),

    helperPeakRss: () => procStatusBytes(pid, "VmHWM"),

    close: async () => {
      await runtime.dispose()
      if (pid !== undefined) process.kill(pid, "SIGKILL")
      fs.rmSync(stateDirectory, { recursive: true, force: true })
    }
  }
}
