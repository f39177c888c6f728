/**
 * One client on one case, inside the child process `client.ts` starts: the warm-up, then
 * each timed run on demand, checked (every byte arrived, every request answered) and
 * tracked for peak RSS and for the server's CPU time.
 */
import * as fs from "node:fs"
import * as http from "node:http"
import * as path from "node:path"
import type { BenchClient } from "./BenchClient.js"
import type { Report, Run } from "./messages.js"
import * as PeakRss from "./peakRss.js"
import { percentile } from "./stats.js"

/** What the runner asks a child to measure. */
export type Job =
  | {
    readonly kind: "get"
    readonly url: string
    readonly statsURL: string
    readonly warmup: number
    readonly count: number
    readonly concurrency: number
    /** Each run starts from a collected heap: where RSS growth is a target (see `prepare`). */
    readonly collectBeforeRuns: boolean
  }
  | {
    readonly kind: "download"
    readonly url: string
    readonly warmupURL: string
    readonly warmupBytes: number
    readonly statsURL: string
    readonly bytes: number
    readonly directory: string
  }
  | {
    readonly kind: "upload"
    readonly url: string
    readonly statsURL: string
    readonly from: string
    readonly warmupFrom: string
    readonly bytes: number
  }

export interface Prepared {
  readonly ready: Extract<Report, { type: "ready" }>
  readonly run: (index: number) => Promise<Run>
}

type Figures = Pick<Run, "operations" | "bytes" | "p50Ms" | "p99Ms">

const collectGarbage = () => (globalThis as { gc?: () => void }).gc?.()

/** The server process's CPU time so far, in seconds (a request of its own, off the clock). */
const serverCpuSeconds = (statsURL: string) =>
  new Promise<number>((resolve, reject) => {
    http.get(statsURL, { agent: false }, (response) => {
      let text = ""
      response.setEncoding("utf8").on("data", (chunk: string) => void (text += chunk)).on("end", () => {
        const { system, user } = JSON.parse(text) as { system: number; user: number }
        resolve((system + user) / 1e6)
      })
    }).once("error", reject)
  })

/** The client's operation for the job: (run index, warm-up?) → figures; or why it has none. */
const operation = (client: BenchClient, job: Job): ((index: number, warmup: boolean) => Promise<Figures>) | string => {
  switch (job.kind) {
    case "get": {
      const { get } = client
      if (get === undefined) return "not available"
      return async (_, warmup) => {
        const count = warmup ? job.warmup : job.count
        const latencies = await get(job.url, count, job.concurrency)
        if (latencies.length !== count) throw new Error(`${latencies.length} of ${count} requests answered`)
        return { operations: count, bytes: 0, p50Ms: percentile(latencies, 50), p99Ms: percentile(latencies, 99) }
      }
    }
    case "download": {
      const { download } = client
      if (download === undefined) return "not available"
      return async (index, warmup) => {
        const to = path.join(job.directory, `download-${process.pid}-${warmup ? "warmup" : index}.bin`)
        try {
          await download(warmup ? job.warmupURL : job.url, to)
          const written = fs.statSync(to).size
          const expected = warmup ? job.warmupBytes : job.bytes
          if (written !== expected) throw new Error(`downloaded ${written} bytes, expected ${expected}`)
          return { operations: 1, bytes: written, p50Ms: null, p99Ms: null }
        } finally {
          fs.rmSync(to, { force: true })
        }
      }
    }
    case "upload": {
      const { upload } = client
      if (upload === undefined) return "not available yet"
      return async (_, warmup) => {
        const from = warmup ? job.warmupFrom : job.from
        const size = fs.statSync(from).size
        const received = await upload(job.url, from, size)
        if (received !== size) throw new Error(`the server received ${received} bytes, expected ${size}`)
        return { operations: 1, bytes: received, p50Ms: null, p99Ms: null }
      }
    }
  }
}

/** Warms the client up and takes the RSS baseline; then runs are made one at a time. */
export const prepare = async (client: BenchClient, job: Job): Promise<Prepared | string> => {
  const perform = operation(client, job)
  if (typeof perform === "string") return perform
  await perform(0, true)
  collectGarbage()
  return {
    ready: {
      type: "ready",
      baselineRss: process.memoryUsage.rss(),
      peakRssMethod: client.helperPeakRss === undefined ? PeakRss.method : "helper process (/usr/bin/time)"
    },
    run: async (index) => {
      const serverBefore = await serverCpuSeconds(job.statsURL)
      // Where RSS growth is a target (transfers, many tasks), each run starts from a
      // collected heap: an idle child gives memory back while the others take their turns,
      // so growth is taken from just before the run. The request-rate cases skip it: a
      // forced full collection throws away optimised code that refers to the objects it
      // frees (V8's "weak objects" deoptimisations, `--trace-deopt`), and every client then
      // runs partly cold for thousands of requests; they measure a warm process, as a
      // server is.
      if (job.kind !== "get" || job.collectBeforeRuns) collectGarbage()
      const rssBefore = process.memoryUsage.rss()
      const tracker = PeakRss.track()
      const start = performance.now()
      const figures = await perform(index, false)
      const seconds = (performance.now() - start) / 1000
      const ownPeakRss = tracker.stop()
      const serverAfter = await serverCpuSeconds(job.statsURL)
      return {
        ...figures,
        seconds,
        rssBefore,
        peakRss: client.helperPeakRss?.() ?? ownPeakRss,
        serverCpuSeconds: serverAfter - serverBefore
      }
    }
  }
}
