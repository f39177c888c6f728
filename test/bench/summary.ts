/**
 * One table row: a client's measurement on a case reduced to the figures the table and the
 * targets use (medians over runs, their spread, RSS growth over the baseline).
 */
import type { ClientName } from "./clients.js"
import type { Report, Run } from "./messages.js"
import { max, median, min } from "./stats.js"

/** Everything a child reported on a case: its runs, or why there are none. */
export type Measurement =
  | {
    readonly status: "ok"
    readonly runs: ReadonlyArray<Run>
    readonly baselineRss: number
    readonly peakRssMethod: Extract<Report, { type: "ready" }>["peakRssMethod"]
  }
  | { readonly status: "unavailable"; readonly reason: string }
  | { readonly status: "failed"; readonly error: string }

export type Metric = "req/s" | "MB/s"

export interface Spread {
  readonly median: number
  readonly min: number
  readonly max: number
}

export interface Row {
  readonly client: ClientName
  readonly status: "ok" | "unavailable" | "failed"
  /** Why a row has no figures. */
  readonly note: string | null
  readonly runs: ReadonlyArray<Run>
  /** The case's metric, per run. */
  readonly value: Spread | null
  /** `value.median` over the same figure of the case's reference client. */
  readonly ratio: number | null
  readonly seconds: Spread | null
  readonly p50Ms: number | null
  readonly p99Ms: number | null
  /** The most RSS grew during a run over the RSS just before it (after a full GC), in bytes. */
  readonly rssGrowth: number | null
  /** RSS after the warm-up and a full GC, in bytes. */
  readonly baselineRss: number | null
  /** The highest peak RSS over all runs, in bytes. */
  readonly peakRss: number | null
  readonly peakRssMethod: string | null
  /** The server's CPU time over the runs' wall time. */
  readonly serverCpuShare: number | null
}

const spread = (values: ReadonlyArray<number>): Spread => ({
  median: median(values),
  min: min(values),
  max: max(values)
})

const metricOf = (metric: Metric, run: Run) =>
  metric === "req/s" ? run.operations / run.seconds : run.bytes / 1e6 / run.seconds

const nullable = (value: number) => Number.isNaN(value) ? null : value

const empty = (client: ClientName, status: "unavailable" | "failed", note: string): Row => ({
  client,
  status,
  note,
  runs: [],
  value: null,
  ratio: null,
  seconds: null,
  p50Ms: null,
  p99Ms: null,
  rssGrowth: null,
  baselineRss: null,
  peakRss: null,
  peakRssMethod: null,
  serverCpuShare: null
})

export const summarize = (client: ClientName, metric: Metric, measurement: Measurement): Row => {
  switch (measurement.status) {
    case "unavailable":
      return empty(client, "unavailable", measurement.reason)
    case "failed":
      return empty(client, "failed", measurement.error)
    case "ok": {
      const { runs } = measurement
      const peakRss = max(runs.map((run) => run.peakRss))
      const external = measurement.peakRssMethod === "helper process (/usr/bin/time)"
      return {
        client,
        status: "ok",
        note: null,
        runs,
        value: spread(runs.map((run) => metricOf(metric, run))),
        ratio: null,
        seconds: spread(runs.map((run) => run.seconds)),
        p50Ms: nullable(median(runs.flatMap((run) => run.p50Ms === null ? [] : [run.p50Ms]))),
        p99Ms: nullable(median(runs.flatMap((run) => run.p99Ms === null ? [] : [run.p99Ms]))),
        // curl's figure is its whole process: it has no warm-up baseline to subtract.
        rssGrowth: external ? null : max(runs.map((run) => run.peakRss - run.rssBefore)),
        baselineRss: measurement.baselineRss,
        peakRss,
        peakRssMethod: measurement.peakRssMethod,
        serverCpuShare: runs.reduce((sum, run) => sum + run.serverCpuSeconds, 0) /
          runs.reduce((sum, run) => sum + run.seconds, 0)
      }
    }
  }
}

/** The rows with each `ratio` filled in against `reference`'s median. */
export const withRatios = (rows: ReadonlyArray<Row>, reference: ClientName): ReadonlyArray<Row> => {
  const base = rows.find((row) => row.client === reference)?.value?.median
  return rows.map((row) => ({
    ...row,
    ratio: base === undefined || row.value === null ? null : row.value.median / base
  }))
}
