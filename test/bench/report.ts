/**
 * The printed tables (one per case, its targets under it) and the JSON file of a run.
 */
import type { Case, TargetResult } from "./cases.js"
import type { Row } from "./summary.js"

const MiB = 1024 * 1024

export interface CaseReport {
  readonly id: string
  readonly title: string
  readonly what: string
  readonly metric: string
  readonly reference: string
  /** Wall time of the whole case, children's start-up and warm-ups included. */
  readonly seconds: number
  /** The 1-minute load average when the case began and ended (the case's own processes
   * count too: about 1.5 while a client runs against the server). */
  readonly loadAverage: readonly [number, number]
  readonly rows: ReadonlyArray<Row>
  readonly targets: ReadonlyArray<{ readonly text: string } & TargetResult>
}

export const caseReport = (
  definition: Case,
  rows: ReadonlyArray<Row>,
  timing: { readonly seconds: number; readonly loadAverage: readonly [number, number] }
): CaseReport => ({
  id: definition.id,
  title: definition.title,
  what: definition.what,
  metric: definition.metric,
  reference: definition.reference,
  seconds: timing.seconds,
  loadAverage: timing.loadAverage,
  rows,
  targets: definition.targets.map((target) => ({ text: target.text, ...target.check(rows) }))
})

const figure = (value: number) => value >= 100 ? value.toFixed(0) : value >= 10 ? value.toFixed(1) : value.toFixed(2)

const mib = (bytes: number | null) => bytes === null ? "–" : (bytes / MiB).toFixed(1)

const mark = (status: TargetResult["status"]) => status === "pass" ? "✓" : status === "fail" ? "✗" : "–"

/** Columns padded to their widest cell; numbers right-aligned. */
const layout = (header: ReadonlyArray<string>, lines: ReadonlyArray<ReadonlyArray<string>>): string => {
  const widths = header.map((title, column) =>
    Math.max(title.length, ...lines.map((line) => (line[column] ?? "").length))
  )
  const render = (cells: ReadonlyArray<string>) =>
    cells.map((cell, column) => column === 0 ? cell.padEnd(widths[column] ?? 0) : cell.padStart(widths[column] ?? 0))
      .join("  ").trimEnd()
  return [render(header), widths.map((width) => "-".repeat(width)).join("  "), ...lines.map(render)].join("\n")
}

export const renderCase = (definition: Case, report: CaseReport): string => {
  const header = [
    "client",
    `${report.metric} median`,
    "min–max",
    `× ${report.reference}`,
    ...(definition.columns.includes("time") ? ["time s", "time min–max"] : []),
    ...(definition.columns.includes("latency") ? ["p50 ms", "p99 ms"] : []),
    ...(definition.columns.includes("rss") || definition.columns.includes("time")
      ? ["RSS growth MiB", "peak RSS MiB"]
      : []),
    "server CPU"
  ]
  const lines = report.rows.map((row) => {
    if (row.value === null || row.seconds === null) {
      const note = row.status === "unavailable"
        ? row.note ?? "not available"
        : `FAILED: ${row.note?.split("\n")[0] ?? ""}`
      return [row.client, note]
    }
    return [
      row.client,
      figure(row.value.median),
      `${figure(row.value.min)}–${figure(row.value.max)}`,
      row.ratio === null ? "–" : `${row.ratio.toFixed(2)}×`,
      ...(definition.columns.includes("time")
        ? [figure(row.seconds.median), `${figure(row.seconds.min)}–${figure(row.seconds.max)}`]
        : []),
      ...(definition.columns.includes("latency")
        ? [row.p50Ms === null ? "–" : figure(row.p50Ms), row.p99Ms === null ? "–" : figure(row.p99Ms)]
        : []),
      ...(definition.columns.includes("rss") || definition.columns.includes("time")
        ? [row.rssGrowth === null ? "–" : mib(row.rssGrowth), `${mib(row.peakRss)}${row.client === "curl" ? "*" : ""}`]
        : []),
      row.serverCpuShare === null ? "–" : `${Math.round(row.serverCpuShare * 100)}%`
    ]
  })
  // A row without figures is one note across the table: keep it out of the column widths.
  const measured = lines.filter((line) => line.length > 2)
  const table = layout(header, measured).split("\n")
  const widthOfFirst = Math.max(header[0]?.length ?? 0, ...measured.map((line) => line[0]?.length ?? 0))
  const body = lines.map((line) =>
    line.length > 2
      ? table[2 + measured.indexOf(line)] ?? ""
      : `${(line[0] ?? "").padEnd(widthOfFirst)}  ${line[1] ?? ""}`
  )
  const targets = report.targets.map((target) => `  ${mark(target.status)} ${target.text}: ${target.value}`)
  return [
    `Case ${report.id}: ${report.title}`,
    `  ${report.what}`,
    `  ${report.seconds.toFixed(0)} s; load average ${report.loadAverage[0].toFixed(1)} → ${
      report.loadAverage[1].toFixed(1)
    }`,
    "",
    table[0] ?? "",
    table[1] ?? "",
    ...body,
    ...(definition.columns.includes("rss") && report.rows.some((row) => row.client === "curl" && row.status === "ok")
      ? ["* curl: the whole curl process's peak RSS (no warm-up baseline)"]
      : []),
    ...(targets.length > 0 ? ["", "targets:", ...targets] : [])
  ].join("\n")
}
