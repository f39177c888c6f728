/**
 * axios (its Node http adapter), over a keep-alive `http.Agent` holding at most 6 sockets.
 *
 * Uploads set `maxRedirects: 0`: with redirects on, axios hands the request to
 * follow-redirects, which keeps every byte written in memory (up to `maxBodyLength`) to send
 * it again after a redirect, which is not streaming.
 */
import axios from "axios"
import * as fs from "node:fs"
import * as http from "node:http"
import type { Readable } from "node:stream"
import { pipeline } from "node:stream/promises"
import { type BenchClient, timedPool, uploadedBytes } from "../BenchClient.js"

export const make = async (): Promise<BenchClient> => {
  const agent = new http.Agent({ keepAlive: true, maxSockets: 6 })
  const client = axios.create({ httpAgent: agent, maxContentLength: Infinity, maxBodyLength: Infinity })
  return {
    get: (url, count, concurrency) =>
      timedPool(count, concurrency, () => client.get<ArrayBuffer>(url, { responseType: "arraybuffer" })),
    download: async (url, to) => {
      const response = await client.get<Readable>(url, { responseType: "stream" })
      await pipeline(response.data, fs.createWriteStream(to))
    },
    upload: async (url, from, size) => {
      const response = await client.post<unknown>(url, fs.createReadStream(from), {
        headers: { "content-type": "application/octet-stream", "content-length": size },
        maxRedirects: 0
      })
      return uploadedBytes(response.data)
    },
    close: async () => agent.destroy()
  }
}
