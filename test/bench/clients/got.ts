/**
 * got, over a keep-alive `http.Agent` holding at most 6 sockets, with its defaults otherwise
 * (retries, hooks and all: what its users get).
 */
import got from "got"
import * as fs from "node:fs"
import * as http from "node:http"
import { pipeline } from "node:stream/promises"
import { type BenchClient, timedPool, uploadedBytes } from "../BenchClient.js"

export const make = async (): Promise<BenchClient> => {
  const agent = new http.Agent({ keepAlive: true, maxSockets: 6 })
  const client = got.extend({ agent: { http: agent } })
  return {
    get: (url, count, concurrency) => timedPool(count, concurrency, () => client(url).buffer()),
    download: (url, to) => pipeline(client.stream(url), fs.createWriteStream(to)),
    upload: async (url, from, size) =>
      uploadedBytes(
        await client.post(url, {
          headers: { "content-type": "application/octet-stream", "content-length": String(size) },
          body: fs.createReadStream(from)
        }).json()
      ),
    close: async () => agent.destroy()
  }
}
