/**
 * `npm run soak`: background downloads against SIGKILL. A range-serving HTTP server sends
 * `SOAK_DOWNLOADS` (50) files slowly; an app process (`app.ts`) asks a background session
 * for them; `SOAK_KILLS` (100) times, at a random moment, this script kills the app or the
 * daemon with SIGKILL (by PID) and starts the app again (whose layer starts the daemon
 * again). Then it lets the app finish and reports: completed, byte-identical, duplicate
 * deliveries, tasks made twice, orphan files left in the daemon's state directory (each
 * must be 0).
 * Exits 1 if any figure is wrong or the whole run takes longer than `SOAK_MINUTES` (20).
 *
 * Not part of `npm test`: it takes minutes.
 */
import { type ChildProcess, execFileSync, spawn } from "node:child_process"
import { createHash } from "node:crypto"
import * as fs from "node:fs"
import * as http from "node:http"
import type { AddressInfo } from "node:net"
import * as os from "node:os"
import * as path from "node:path"
import { fileURLToPath } from "node:url"

const downloads = Number(process.env.SOAK_DOWNLOADS ?? 50)
const kills = Number(process.env.SOAK_KILLS ?? 100)
const minutes = Number(process.env.SOAK_MINUTES ?? 20)
// Each response is sent at this rate, so that transfers last long enough to be killed.
const bytesPerSecond = Number(process.env.SOAK_RATE ?? 256 * 1024)

const MiB = 1024 * 1024
const started = Date.now()
const work = fs.mkdtempSync(path.join(os.tmpdir(), "urlsession-soak-"))
const stateDirectory = path.join(work, "state")
const out = path.join(work, "out")
fs.mkdirSync(out)
const here = path.dirname(fileURLToPath(import.meta.url))
const daemonEntry = path.join(here, "../../packages/daemon/src/urlsessiond.ts")
const environment = { ...process.env, URLSESSION_STATE_DIRECTORY: stateDirectory }

// Deterministic contents: file n is n's seed repeated.
const random = (seed: number) => () => {
  seed = (seed * 1103515245 + 12345) & 0x7fffffff
  return seed / 0x7fffffff
}
const pick = random(42)
const bodies = Array.from({ length: downloads }, (_, n) => {
  const body = Buffer.alloc(Math.floor((4 + pick() * 8) * MiB))
  const fill = random(n + 1)
  for (let i = 0; i < body.length; i += 4096) body.writeUInt32LE(Math.floor(fill() * 0xffffffff), i)
  return body
})
const digest = (data: Buffer) => createHash("sha256").update(data).digest("hex")

let rangeRequests = 0
const server = http.createServer((request, response) => {
  const n = Number(request.url!.split("/").at(-1))
  const body = bodies[n]
  if (body === undefined) return void response.writeHead(404).end()
  const validators = { ETag: `"file-${n}"`, "Accept-Ranges": "bytes" }
  const range = request.headers.range?.match(/^bytes=(\d+)-$/)
  let start = 0
  if (range && request.headers["if-range"] === validators.ETag) {
    rangeRequests++
    start = Number(range[1])
    response.writeHead(206, {
      ...validators,
      "Content-Range": `bytes ${start}-${body.length - 1}/${body.length}`,
      "Content-Length": String(body.length - start)
    })
  } else {
    response.writeHead(200, { ...validators, "Content-Length": String(body.length) })
  }
  const piece = Math.ceil(bytesPerSecond / 20)
  const timer = setInterval(() => {
    const chunk = body.subarray(start, start + piece)
    start += chunk.length
    if (start >= body.length) {
      clearInterval(timer)
      response.end(chunk)
    } else {
      response.write(chunk)
    }
  }, 50)
  response.on("close", () => clearInterval(timer))
})
await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve))
const baseURL = `http://127.0.0.1:${(server.address() as AddressInfo).port}`

let app: ChildProcess | undefined
let appOutput = ""
const startApp = () => {
  appOutput = ""
  app = spawn(process.execPath, [
    "--conditions=source",
    "--import",
    "tsx",
    path.join(here, "app.ts"),
    JSON.stringify({ baseURL, out, count: downloads })
  ], { env: environment, stdio: ["ignore", "pipe", "pipe"] })
  app.stdout!.on("data", (chunk) => appOutput += chunk)
  app.stderr!.on("data", (chunk) => appOutput += chunk)
}
const appExited = () => app === undefined || app.exitCode !== null || app.signalCode !== null

// The daemon's PID, from its own status answer (never by name).
const daemonPid = (): number | undefined => {
  try {
    const status = execFileSync(process.execPath, ["--conditions=source", "--import", "tsx", daemonEntry, "status"], {
      env: environment,
      encoding: "utf8",
      timeout: 20_000
    })
    const pid = status.match(/urlsessiond (\d+) is running/)
    return pid ? Number(pid[1]) : undefined
  } catch {
    return undefined
  }
}

const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms))
let appKills = 0
let daemonKills = 0

startApp()
for (let round = 0; round < kills; round++) {
  await sleep(1000 + pick() * 4000)
  if (appExited()) startApp()
  if (pick() < 0.5) {
    if (!appExited()) process.kill(app!.pid!, "SIGKILL")
    appKills++
    await sleep(100)
    startApp()
  } else {
    const pid = daemonPid()
    if (pid !== undefined) {
      process.kill(pid, "SIGKILL")
      daemonKills++
    }
  }
  const done = fs.readdirSync(out).filter((name) => name.endsWith(".bin")).length
  console.log(
    `kill ${round + 1}/${kills}: ${done}/${downloads} delivered (${appKills} app, ${daemonKills} daemon kills)`
  )
}

// Let the app finish undisturbed.
if (appExited()) startApp()
const deadline = started + minutes * 60_000
while (!appOutput.includes("all delivered") && Date.now() < deadline) {
  if (appExited()) startApp()
  await sleep(500)
}
if (!appExited()) process.kill(app!.pid!, "SIGKILL")

const files = fs.readdirSync(out).filter((name) => name.endsWith(".bin"))
const identical = files.filter((name) =>
  digest(fs.readFileSync(path.join(out, name))) === digest(bodies[Number(name.split(".")[0])]!)
)
const extraTasks = Number(appOutput.match(/all delivered; (\d+) extra tasks/)?.[1] ?? NaN)
const duplicates = fs.existsSync(path.join(out, "duplicates.log"))
  ? fs.readFileSync(path.join(out, "duplicates.log"), "utf8").split("\n").filter(Boolean).length
  : 0
// Every hand-off acknowledged: the daemon keeps no file of this session.
const sessionFiles = (directory: string): Array<string> =>
  fs.existsSync(directory)
    ? fs.readdirSync(directory, { withFileTypes: true }).flatMap((entry) =>
      entry.isDirectory() ? sessionFiles(path.join(directory, entry.name)) : [path.join(directory, entry.name)]
    )
    : []
await sleep(1000)
const orphans = sessionFiles(path.join(stateDirectory, "sessions"))
const pid = daemonPid()
if (pid !== undefined) process.kill(pid, "SIGKILL")
server.close()
server.closeAllConnections()

const seconds = Math.round((Date.now() - started) / 1000)
console.log(`
soak: ${downloads} downloads, ${kills} kills (${appKills} app, ${daemonKills} daemon) in ${seconds} s
  completed:           ${files.length}/${downloads}
  byte-identical:      ${identical.length}/${downloads}
  duplicate deliveries: ${duplicates}
  tasks made twice:    ${extraTasks}
  orphan files:        ${orphans.length}${orphans.length > 0 ? ` (${orphans.join(", ")})` : ""}
  range requests seen: ${rangeRequests}`)
const ok = files.length === downloads && identical.length === downloads && duplicates === 0 && orphans.length === 0 &&
  extraTasks === 0 &&
  seconds <= minutes * 60
if (ok) fs.rmSync(work, { recursive: true, force: true })
else console.log(`kept for inspection: ${work}`)
process.exit(ok ? 0 : 1)
