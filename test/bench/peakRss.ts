/**
 * The peak resident set size of this process over a stretch of time. On Linux the kernel
 * keeps the exact peak (`VmHWM` in /proc/self/status) and lets a process reset it (writing
 * `5` to /proc/self/clear_refs), so nothing is missed between samples; elsewhere RSS is
 * sampled every 5 ms.
 */
import * as fs from "node:fs"

export type PeakRssMethod = "VmHWM" | "sampled"

export interface PeakRssTracker {
  /** Stops tracking; the highest RSS seen since the tracker started, in bytes. */
  readonly stop: () => number
}

const readHighWaterMark = (): number | null => {
  const kilobytes = /^VmHWM:\s+(\d+) kB/m.exec(fs.readFileSync("/proc/self/status", "utf8"))?.[1]
  return kilobytes === undefined ? null : Number(kilobytes) * 1024
}

const resetHighWaterMark = (): boolean => {
  try {
    fs.writeFileSync("/proc/self/clear_refs", "5")
    return readHighWaterMark() !== null
  } catch {
    return false
  }
}

export const method: PeakRssMethod = resetHighWaterMark() ? "VmHWM" : "sampled"

export const track = (): PeakRssTracker => {
  if (method === "VmHWM") {
    resetHighWaterMark()
    return { stop: () => Math.max(readHighWaterMark() ?? 0, process.memoryUsage.rss()) }
  }
  let peak = process.memoryUsage.rss()
  const timer = setInterval(() => void (peak = Math.max(peak, process.memoryUsage.rss())), 5)
  return {
    stop: () => {
      clearInterval(timer)
      return Math.max(peak, process.memoryUsage.rss())
    }
  }
}
