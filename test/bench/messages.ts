/**
 * What a measuring child (`client.ts`) and the runner say to each other, one line each.
 *
 * The runner writes commands on the child's stdin: `run` (one timed run) and `end`. The
 * child answers each step on stdout with `BENCH <Report JSON>`: `ready` once warmed up (or
 * `unavailable` / `failed` instead, and exits), `run` after each run, `done` before exiting.
 * Children of one case wait between their runs, so the runner can take turns among them.
 */
import type { PeakRssMethod } from "./peakRss.js"

export interface Run {
  readonly seconds: number
  /** Requests completed (1 for a transfer). */
  readonly operations: number
  /** Body bytes moved (transfers only). */
  readonly bytes: number
  readonly p50Ms: number | null
  readonly p99Ms: number | null
  /** The process's RSS just before the run, after a full GC, in bytes. */
  readonly rssBefore: number
  /** The process's peak RSS during the run, in bytes (curl's own, for curl). */
  readonly peakRss: number
  /** CPU time the server process spent during the run. */
  readonly serverCpuSeconds: number
}

export type Report =
  | {
    readonly type: "ready"
    /** RSS after the warm-up and a full GC, before the first run. */
    readonly baselineRss: number
    readonly peakRssMethod: PeakRssMethod | "helper process (/usr/bin/time)"
  }
  | { readonly type: "run"; readonly run: Run }
  | { readonly type: "done" }
  | { readonly type: "unavailable"; readonly reason: string }
  | { readonly type: "failed"; readonly error: string }

export type Command = "run" | "end"

export const prefix = "BENCH "
