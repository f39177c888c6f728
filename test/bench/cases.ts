/**
 * The five cases of issue 6: what each asks of which clients, the figure its table is
 * ranked by, and the targets urlsession is held to (printed beside the figures, never
 * asserted).
 */
import type { ClientName } from "./clients.js"
import type { Job } from "./measure.js"
import type { Settings } from "./settings.js"
import type { Metric, Row } from "./summary.js"

export interface TargetResult {
  readonly status: "pass" | "fail" | "unmeasured"
  /** The figure the target was judged on, or why there is none. */
  readonly value: string
}

export interface Target {
  readonly text: string
  readonly check: (rows: ReadonlyArray<Row>) => TargetResult
}

export interface Case {
  readonly id: string
  readonly title: string
  /** The parameters, in a line. */
  readonly what: string
  readonly metric: Metric
  /** Extra columns: latency percentiles, RSS, completion time. */
  readonly columns: ReadonlyArray<"latency" | "rss" | "time">
  /** Ratios are taken to this client's median. */
  readonly reference: ClientName
  readonly clients: ReadonlyArray<ClientName>
  /** Timed runs per client; the clients take turns, one run each per round. */
  readonly runs: number
  readonly job: (client: ClientName) => Job
  readonly targets: ReadonlyArray<Target>
}

/** Where the cases find the server and their files. */
export interface Context {
  readonly baseURL: string
  readonly directory: string
  readonly uploadFile: string
  readonly warmupUploadFile: string
  readonly warmupBytes: number
}

const MiB = 1024 * 1024

const sizeText = (bytes: number) =>
  bytes % (1024 * MiB) === 0 ? `${bytes / 1024 / MiB} GiB` : `${+(bytes / MiB).toFixed(1)} MiB`

const rowOf = (rows: ReadonlyArray<Row>, client: ClientName) => rows.find((row) => row.client === client)

const unmeasured = (client: ClientName, row: Row | undefined): TargetResult => ({
  status: "unmeasured",
  value: row === undefined
    ? `${client} not run`
    : `${client} ${row.status === "unavailable" ? row.note ?? "not available" : "failed"}`
})

/** `subject`'s median is at least `factor` times `other`'s. */
const atLeastTimes = (subject: ClientName, factor: number, other: ClientName, metric: Metric): Target => ({
  text: `${subject} ≥ ${factor}× ${other} ${metric}`,
  check: (rows) => {
    const a = rowOf(rows, subject)
    const b = rowOf(rows, other)
    if (a?.value == null) return unmeasured(subject, a)
    if (b?.value == null) return unmeasured(other, b)
    const ratio = a.value.median / b.value.median
    return { status: ratio >= factor ? "pass" : "fail", value: `${ratio.toFixed(2)}×` }
  }
})

/** `subject`'s RSS grew by less than `limit` bytes over its post-warm-up baseline. */
const rssGrowthBelow = (subject: ClientName, limit: number): Target => ({
  text: `${subject} RSS growth < ${sizeText(limit)}`,
  check: (rows) => {
    const row = rowOf(rows, subject)
    if (row?.rssGrowth == null) return unmeasured(subject, row)
    return { status: row.rssGrowth < limit ? "pass" : "fail", value: `${(row.rssGrowth / MiB).toFixed(1)} MiB` }
  }
})

const completes = (subject: ClientName): Target => ({
  text: `${subject} completes`,
  check: (rows) => {
    const row = rowOf(rows, subject)
    if (row === undefined) return unmeasured(subject, row)
    return row.status === "ok"
      ? { status: "pass", value: "yes" }
      : { status: row.status === "failed" ? "fail" : "unmeasured", value: row.note?.split("\n")[0] ?? row.status }
  }
})

const requestClients: ReadonlyArray<ClientName> = [
  "undici.request",
  "urlsession",
  "undici.fetch",
  "node:http",
  "@effect/platform",
  "got",
  "axios"
]

export const cases = (settings: Settings, context: Context): ReadonlyArray<Case> => {
  const count = (n: number) => Math.max(1, Math.round(n * settings.scale))
  const runs = (n: number) => settings.runs ?? n
  const small = `${context.baseURL}/small`
  const statsURL = `${context.baseURL}/stats`

  const smallGets = (id: string, concurrency: number): Case => {
    const job: Job = {
      kind: "get",
      url: small,
      statsURL,
      warmup: count(2000),
      count: count(5000),
      concurrency,
      collectBeforeRuns: false
    }
    const caseRuns = runs(5)
    return {
      id,
      title: `Small GETs, concurrency ${concurrency}`,
      what: `1 KiB bodies read into memory; ${caseRuns} runs × ${job.count} requests after ${job.warmup} warm-up`,
      metric: "req/s",
      columns: ["latency"],
      reference: "undici.request",
      // The floors show what Effect's runtime alone costs (see clients/effectFloor.ts).
      clients: [...requestClients, "floor: Effect", "floor: Effect+fork"],
      runs: caseRuns,
      job: () => job,
      targets: [
        atLeastTimes("urlsession", 0.9, "undici.request", "req/s"),
        atLeastTimes("urlsession", 1.5, "@effect/platform", "req/s"),
        atLeastTimes("urlsession", 2, "got", "req/s"),
        atLeastTimes("urlsession", 2, "axios", "req/s")
      ]
    }
  }

  // The clients the RSS target is about download the full size; the rest a smaller body.
  const fullSizeDownloads: ReadonlyArray<ClientName> = [
    "urlsession",
    "urlsession (background)",
    "undici.request",
    "undici.stream",
    "curl"
  ]
  const downloadSize = (client: ClientName) =>
    fullSizeDownloads.includes(client) ? settings.downloadBytes : settings.downloadOthersBytes
  const downloadRuns = runs(3)
  const download: Case = {
    id: "2",
    title: "Large download to disk",
    what: `${
      settings.downloadOthersBytes === settings.downloadBytes
        ? `${sizeText(settings.downloadBytes)} for every client`
        : `${sizeText(settings.downloadBytes)} for ${fullSizeDownloads.join(", ")}; ${
          sizeText(settings.downloadOthersBytes)
        } for the others`
    }; ${downloadRuns} runs after a ${sizeText(context.warmupBytes)} warm-up`,
    metric: "MB/s",
    columns: ["rss"],
    reference: "undici.request",
    clients: [
      "undici.request",
      "urlsession",
      "urlsession (background)",
      "undici.stream",
      "undici.fetch",
      "node:http",
      "@effect/platform",
      "got",
      "axios",
      "curl"
    ],
    runs: downloadRuns,
    job: (client) => ({
      kind: "download",
      url: `${context.baseURL}/bytes/${downloadSize(client)}`,
      warmupURL: `${context.baseURL}/bytes/${context.warmupBytes}`,
      warmupBytes: context.warmupBytes,
      statsURL,
      bytes: downloadSize(client),
      directory: context.directory
    }),
    targets: [
      atLeastTimes("urlsession", 0.95, "undici.stream", "MB/s"),
      rssGrowthBelow("urlsession", 64 * MiB),
      atLeastTimes("urlsession (background)", 0.8, "urlsession", "MB/s")
    ]
  }

  const uploadRuns = runs(3)
  const upload: Case = {
    id: "3",
    title: "Large upload from a file",
    what: `a ${sizeText(settings.uploadBytes)} file POSTed as a stream; ${uploadRuns} runs after a ${
      sizeText(context.warmupBytes)
    } warm-up`,
    metric: "MB/s",
    columns: ["rss"],
    reference: "undici.request",
    clients: ["undici.request", "urlsession", "undici.fetch", "node:http", "@effect/platform", "got", "axios", "curl"],
    runs: uploadRuns,
    job: () => ({
      kind: "upload",
      url: `${context.baseURL}/upload`,
      statsURL,
      from: context.uploadFile,
      warmupFrom: context.warmupUploadFile,
      bytes: settings.uploadBytes
    }),
    targets: [
      atLeastTimes("urlsession", 0.95, "undici.request", "MB/s"),
      rssGrowthBelow("urlsession", 64 * MiB)
    ]
  }

  const manyJob: Job = {
    kind: "get",
    url: small,
    statsURL,
    warmup: count(500),
    count: settings.manyTasks,
    concurrency: settings.manyTasks,
    collectBeforeRuns: true
  }
  const manyRuns = runs(2)
  const manyTasks: Case = {
    id: "4",
    title: "Many tasks at once",
    what:
      `${manyJob.count} requests started together on one session (6 connections); ${manyRuns} runs after ${manyJob.warmup} warm-up requests`,
    metric: "req/s",
    columns: ["time", "rss"],
    reference: "undici.request",
    clients: requestClients,
    runs: manyRuns,
    job: () => manyJob,
    targets: [completes("urlsession"), rssGrowthBelow("urlsession", 300 * MiB)]
  }

  const eventsJob: Job = {
    kind: "get",
    url: small,
    statsURL,
    warmup: count(1000),
    count: count(2000),
    concurrency: 64,
    collectBeforeRuns: false
  }
  const eventsRuns = runs(5)
  const events: Case = {
    id: "5",
    title: "Event overhead (small GETs, concurrency 64)",
    what:
      `urlsession with no subscriber, one per task, one per session; ${eventsRuns} runs × ${eventsJob.count} requests after ${eventsJob.warmup} warm-up`,
    metric: "req/s",
    columns: ["latency"],
    reference: "urlsession",
    clients: ["urlsession", "urlsession (task events)", "urlsession (session events)"],
    runs: eventsRuns,
    job: () => eventsJob,
    targets: [
      atLeastTimes("urlsession (task events)", 0.9, "urlsession", "req/s"),
      atLeastTimes("urlsession (session events)", 0.9, "urlsession", "req/s")
    ]
  }

  return [smallGets("1a", 1), smallGets("1b", 64), download, upload, manyTasks, events]
}
