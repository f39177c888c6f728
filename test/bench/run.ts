/**
 * `npm run bench`: the benchmark suite of issue 6.
 *
 * Starts the server (`server.ts`) in a process of its own, then for every case and client a
 * fresh child process (`client.ts`) that warms up, measures its runs and reports one JSON
 * line; prints a table per case with ratios to the reference client and the targets, and
 * writes everything to `results/latest.json`. Every child, the server included, is killed
 * when the runner ends, however it ends. Knobs: see settings.ts and README.md.
 */
import { type ChildProcess, execFileSync, spawn } from "node:child_process"
import * as fs from "node:fs"
import * as os from "node:os"
import * as path from "node:path"
import { fileURLToPath } from "node:url"
import { type Case, cases as allCases, type Context } from "./cases.js"
import type { ClientName } from "./clients.js"
import type { Job } from "./measure.js"
import { type Command, prefix, type Report, type Run } from "./messages.js"
import { type CaseReport, caseReport, renderCase } from "./report.js"
import * as Settings from "./settings.js"
import { type Measurement, summarize, withRatios } from "./summary.js"

const here = path.dirname(fileURLToPath(import.meta.url))
const root = path.resolve(here, "../..")
const resultsFile = path.join(here, "results", "latest.json")
const MiB = 1024 * 1024

// Every process the runner starts, so that none outlives it.
const children = new Set<ChildProcess>()
let directory: string | null = null

const cleanUp = () => {
  for (const child of children) child.kill("SIGKILL")
  children.clear()
  if (directory !== null) fs.rmSync(directory, { recursive: true, force: true })
  directory = null
}
process.on("exit", cleanUp)
for (const signal of ["SIGINT", "SIGTERM", "SIGHUP"] as const) {
  process.on(signal, () => {
    cleanUp()
    process.exit(130)
  })
}

const track = (child: ChildProcess) => {
  children.add(child)
  child.once("exit", () => children.delete(child))
  return child
}

/** Starts the server process; resolves with its base URL once it listens. */
const startServer = () =>
  new Promise<string>((resolve, reject) => {
    const server = track(spawn(process.execPath, ["--import", "tsx", path.join(here, "server.ts")], {
      cwd: root,
      stdio: ["pipe", "pipe", "inherit"]
    }))
    let output = ""
    server.stdout?.setEncoding("utf8").on("data", (text: string) => {
      output += text
      const line = output.split("\n")[0]
      if (output.includes("\n") && line !== undefined) {
        const { port } = JSON.parse(line) as { port: number }
        resolve(`http://127.0.0.1:${port}`)
      }
    })
    server.once("error", reject)
    server.once("exit", (code) => reject(new Error(`the bench server exited (${code}) before listening`)))
  })

/** A measuring child process: its reports in order, and commands on demand. */
interface Child {
  /** The next report; `failed` once the child has died or a step took too long. */
  readonly next: () => Promise<Report>
  readonly send: (command: Command) => void
}

/** Starts one client on one case in a fresh process, which begins with its warm-up. */
const startChild = (client: ClientName, caseId: string, job: Job, timeoutSeconds: number): Child => {
  const child = track(spawn(
    process.execPath,
    ["--expose-gc", "--import", "tsx", path.join(here, "client.ts"), client, caseId, JSON.stringify(job)],
    { cwd: root, stdio: ["pipe", "pipe", "pipe"] }
  ))
  const reports: Array<Report> = []
  const waiting: Array<(report: Report) => void> = []
  let ended: Report | null = null
  let stdout = ""
  let stderr = ""
  const deliver = (report: Report) => {
    const waiter = waiting.shift()
    if (waiter === undefined) reports.push(report)
    else waiter(report)
  }
  child.stdout?.setEncoding("utf8").on("data", (text: string) => {
    stdout += text
    const lines = stdout.split("\n")
    stdout = lines.pop() ?? ""
    for (const line of lines) if (line.startsWith(prefix)) deliver(JSON.parse(line.slice(prefix.length)) as Report)
  })
  child.stderr?.setEncoding("utf8").on("data", (text: string) => void (stderr = (stderr + text).slice(-20_000)))
  child.once("close", (code, signal) => {
    ended = {
      type: "failed",
      error: `exited with ${signal ?? code}\n${stderr.trim().split("\n").slice(-15).join("\n")}`
    }
    for (const waiter of waiting.splice(0)) waiter(ended)
  })
  return {
    next: () => {
      const queued = reports.shift()
      if (queued !== undefined) return Promise.resolve(queued)
      if (ended !== null) return Promise.resolve(ended)
      return new Promise<Report>((resolve) => {
        const timer = setTimeout(() => {
          child.kill("SIGKILL")
          resolve({ type: "failed", error: `a step took over ${timeoutSeconds} s (BENCH_CHILD_TIMEOUT)` })
        }, timeoutSeconds * 1000)
        waiting.push((report) => {
          clearTimeout(timer)
          resolve(report)
        })
      })
    },
    send: (command) => void child.stdin?.write(`${command}\n`)
  }
}

/**
 * Measures every client on a case: all its children start and warm up together, then take
 * turns, one run each per round (the first to go rotating), so that whatever else the
 * machine is doing falls on every client alike.
 */
const measureCase = async (definition: Case, clients: ReadonlyArray<ClientName>, settings: Settings.Settings) => {
  const states = await Promise.all(clients.map(async (client) => {
    const child = startChild(client, definition.id, definition.job(client), settings.childTimeoutSeconds)
    return { client, child, first: await child.next(), runs: new Array<Run>(), failure: null as string | null }
  }))
  const live = states.filter((state) => state.first.type === "ready")
  for (let round = 0; round < definition.runs; round++) {
    const figures: Array<string> = []
    for (let turn = 0; turn < live.length; turn++) {
      const state = live[(round + turn) % live.length]
      if (state === undefined || state.failure !== null) continue
      state.child.send("run")
      const report = await state.child.next()
      if (report.type === "run") {
        state.runs.push(report.run)
        const value = definition.metric === "req/s"
          ? report.run.operations / report.run.seconds
          : report.run.bytes / 1e6 / report.run.seconds
        figures.push(`${state.client} ${value.toFixed(0)}`)
      } else {
        state.failure = report.type === "failed" ? report.error : `unexpected report ${report.type}`
        figures.push(`${state.client} FAILED`)
      }
    }
    process.stderr.write(
      `  [case ${definition.id}] round ${round + 1}/${definition.runs} (${definition.metric}): ${figures.join(", ")}\n`
    )
  }
  await Promise.all(live.map(async (state) => {
    if (state.failure !== null) return
    state.child.send("end")
    await state.child.next()
  }))
  return states.map(({ failure, first, runs }): Measurement => {
    if (first.type === "unavailable") return { status: "unavailable", reason: first.reason }
    if (first.type !== "ready") return { status: "failed", error: first.type === "failed" ? first.error : first.type }
    if (failure !== null) return { status: "failed", error: failure }
    return { status: "ok", runs, baselineRss: first.baselineRss, peakRssMethod: first.peakRssMethod }
  })
}

/** A file of `bytes` bytes of a repeating pattern. */
const writeFile = (file: string, bytes: number) => {
  const chunk = Buffer.alloc(MiB)
  for (let i = 0; i < chunk.length; i++) chunk[i] = i % 253
  const fd = fs.openSync(file, "w")
  try {
    for (let written = 0; written < bytes; written += chunk.length) {
      fs.writeSync(fd, chunk, 0, Math.min(chunk.length, bytes - written))
    }
  } finally {
    fs.closeSync(fd)
  }
}

/** The commit measured, and whether the packages' sources differed from it (the bench
 * runs the working tree's TypeScript sources). */
const revision = () => {
  try {
    const git = (...args: ReadonlyArray<string>) => execFileSync("git", args, { cwd: root, encoding: "utf8" }).trim()
    return {
      commit: git("rev-parse", "--short", "HEAD"),
      packagesModified: git("status", "--porcelain", "--", "packages") !== ""
    }
  } catch {
    return { commit: "unknown", packagesModified: false }
  }
}

/** Runs effectCosts.ts in a process of its own: µs per Effect operation, or null if it failed. */
const measureEffectCosts = () =>
  new Promise<Record<string, number> | null>((resolve) => {
    const child = track(spawn(process.execPath, ["--import", "tsx", path.join(here, "effectCosts.ts")], {
      cwd: root,
      stdio: ["ignore", "pipe", "inherit"]
    }))
    let output = ""
    child.stdout?.setEncoding("utf8").on("data", (text: string) => void (output += text))
    child.once("close", (code) => {
      try {
        resolve(code === 0 ? JSON.parse(output.trim().split("\n").pop() ?? "") as Record<string, number> : null)
      } catch {
        resolve(null)
      }
    })
  })

const renderEffectCosts = (costs: Record<string, number> | null) =>
  costs === null
    ? "What Effect itself costs here: not measured (effectCosts.ts failed)"
    : [
      "What Effect itself costs here (effectCosts.ts: µs per operation, 64 at a time; a whole",
      "undici.request GET is about 1e6 / its case 1b req/s µs):",
      ...Object.entries(costs).map(([name, micros]) => `  ${name.padEnd(36)} ${String(micros).padStart(5)} µs`)
    ].join("\n")

const selected = (settings: Settings.Settings, definition: Case) =>
  settings.cases === null ||
  settings.cases.some((id) => id === definition.id || id === definition.id.replace(/[a-z]$/, ""))

const main = async () => {
  const started = performance.now()
  const settings = Settings.fromEnvironment()
  directory = fs.mkdtempSync(path.join(os.tmpdir(), "urlsession-bench-"))
  const warmupBytes = 128 * MiB
  const uploadFile = path.join(directory, "upload.bin")
  const warmupUploadFile = path.join(directory, "upload-warmup.bin")

  const baseURL = await startServer()
  const context: Context = { baseURL, directory, uploadFile, warmupUploadFile, warmupBytes }
  const definitions = allCases(settings, context).filter((definition) => selected(settings, definition))
  if (definitions.some((definition) => definition.id === "3")) {
    writeFile(uploadFile, settings.uploadBytes)
    writeFile(warmupUploadFile, warmupBytes)
  }

  const cpus = os.cpus()
  const machine = {
    cpus: cpus.length,
    cpuModel: cpus[0]?.model ?? "unknown",
    memoryGiB: +(os.totalmem() / 1024 / MiB).toFixed(1),
    platform: `${os.platform()} ${os.release()}`,
    node: process.version
  }
  const source = revision()
  console.log(`urlsession bench: ${machine.cpus} × ${machine.cpuModel}, Node ${machine.node}, server at ${baseURL}`)
  console.log(`packages at ${source.commit}${source.packagesModified ? " with uncommitted changes in packages/" : ""}`)
  console.log(`settings: ${JSON.stringify(settings)}`)
  const [loadAtStart = 0] = os.loadavg()
  console.log(
    `load average at start: ${loadAtStart.toFixed(1)}${
      loadAtStart > 1
        ? " (something else is running: figures will be noisier; the clients take turns, so it falls on each alike)"
        : ""
    }\n`
  )

  const reports: Array<CaseReport> = []
  for (const definition of definitions) {
    const clients = definition.clients.filter((client) => settings.clients?.includes(client) ?? true)
    const caseStarted = performance.now()
    const loadBefore = os.loadavg()[0] ?? 0
    const measurements = await measureCase(definition, clients, settings)
    const rows = clients.map((client, index) => {
      const measurement = measurements[index]
      return summarize(client, definition.metric, measurement ?? { status: "failed", error: "no measurement" })
    })
    const report = caseReport(definition, withRatios(rows, definition.reference), {
      seconds: (performance.now() - caseStarted) / 1000,
      loadAverage: [loadBefore, os.loadavg()[0] ?? 0]
    })
    reports.push(report)
    console.log(`${renderCase(definition, report)}\n`)
  }

  const effectCosts = await measureEffectCosts()
  console.log(`${renderEffectCosts(effectCosts)}\n`)

  const wallSeconds = (performance.now() - started) / 1000
  const targets = reports.flatMap((report) => report.targets.map((target) => ({ case: report.id, ...target })))
  const count = (status: string) => targets.filter((target) => target.status === status).length
  console.log(
    `targets: ${count("pass")} met, ${count("fail")} missed, ${count("unmeasured")} not measurable yet`
  )
  console.log(`wall time: ${wallSeconds.toFixed(0)} s`)

  fs.mkdirSync(path.dirname(resultsFile), { recursive: true })
  fs.writeFileSync(
    resultsFile,
    `${
      JSON.stringify(
        {
          generatedAt: new Date().toISOString(),
          wallSeconds: Math.round(wallSeconds),
          source,
          machine,
          loadAverageAtStart: loadAtStart,
          settings,
          cases: reports,
          effectCosts
        },
        null,
        2
      )
    }\n`
  )
  console.log(`results: ${path.relative(root, resultsFile)}`)
}

main().then(
  () => {
    cleanUp()
    process.exit(0)
  },
  (error: unknown) => {
    console.error(error)
    cleanUp()
    process.exit(1)
  }
)
