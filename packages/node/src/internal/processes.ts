import type { Processes } from "@urlsession/core/DownloadStorage"

// Signal 0 checks that a process exists without touching it; EPERM says it exists as another
// user's.
const isRunning = (pid: number): boolean => {
  try {
    process.kill(pid, 0)
    return true
  } catch (error) {
    return (error as NodeJS.ErrnoException).code === "EPERM"
  }
}

export const processes: Processes = { current: process.pid, isRunning }
