/**
 * curl, the native reference for the transfer cases: each operation is one `curl` process
 * (`-o` for downloads, `-T` with `-X POST` for uploads), timed from spawn to exit, run under
 * `/usr/bin/time` when it exists so its peak RSS can be reported beside the Node clients'.
 */
import { spawn } from "node:child_process"
import * as fs from "node:fs"
import { type BenchClient, uploadedBytes } from "../BenchClient.js"

const timeBinary = "/usr/bin/time"
const curlBinary = "curl"

/** Runs curl with `args`; its stdout, and its peak RSS in bytes when /usr/bin/time told. */
const runCurl = (args: ReadonlyArray<string>) =>
  new Promise<{ readonly stdout: string; readonly peakRss: number | null }>((resolve, reject) => {
    const timed = fs.existsSync(timeBinary)
    const [command, commandArgs] = timed
      ? [timeBinary, ["-f", "BENCH_MAXRSS_KB=%M", curlBinary, ...args]]
      : [curlBinary, [...args]]
    const child = spawn(command, commandArgs, { stdio: ["ignore", "pipe", "pipe"] })
    let stdout = ""
    let stderr = ""
    child.stdout.setEncoding("utf8").on("data", (text: string) => void (stdout += text))
    child.stderr.setEncoding("utf8").on("data", (text: string) => void (stderr += text))
    child.once("error", reject)
    child.once("close", (code) => {
      if (code !== 0) return reject(new Error(`curl exited with ${code}: ${stderr.trim()}`))
      const kilobytes = /BENCH_MAXRSS_KB=(\d+)/.exec(stderr)?.[1]
      resolve({ stdout, peakRss: kilobytes === undefined ? null : Number(kilobytes) * 1024 })
    })
  })

export const make = async (): Promise<BenchClient> => {
  let lastPeakRss: number | null = null
  return {
    download: async (url, to) => {
      lastPeakRss = (await runCurl(["--silent", "--show-error", "--fail", "-o", to, url])).peakRss
    },
    upload: async (url, from) => {
      const { peakRss, stdout } = await runCurl([
        "--silent",
        "--show-error",
        "--fail",
        "-X",
        "POST",
        "-H",
        "content-type: application/octet-stream",
        "-T",
        from,
        url
      ])
      lastPeakRss = peakRss
      return uploadedBytes(JSON.parse(stdout))
    },
    helperPeakRss: () => lastPeakRss,
    close: async () => {}
  }
}
