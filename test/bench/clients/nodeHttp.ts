/**
 * `node:http` with a keep-alive `http.Agent` holding at most 6 sockets: the standard library
 * as most Node code uses it.
 */
import * as fs from "node:fs"
import * as http from "node:http"
import { pipeline } from "node:stream/promises"
import { type BenchClient, timedPool, uploadedBytes } from "../BenchClient.js"

const responseTo = (request: http.ClientRequest) =>
  new Promise<http.IncomingMessage>((resolve, reject) => {
    request.once("response", resolve)
    request.once("error", reject)
  })

const readAll = async (response: http.IncomingMessage): Promise<Buffer> => {
  const chunks: Array<Buffer> = []
  for await (const chunk of response) chunks.push(chunk as Buffer)
  return Buffer.concat(chunks)
}

export const make = async (): Promise<BenchClient> => {
  const agent = new http.Agent({ keepAlive: true, maxSockets: 6 })
  return {
    get: (url, count, concurrency) =>
      timedPool(count, concurrency, async () => {
        await readAll(await responseTo(http.get(url, { agent })))
      }),
    download: async (url, to) => {
      await pipeline(await responseTo(http.get(url, { agent })), fs.createWriteStream(to))
    },
    upload: async (url, from, size) => {
      const request = http.request(url, {
        agent,
        method: "POST",
        headers: { "content-type": "application/octet-stream", "content-length": size }
      })
      const response = responseTo(request)
      await pipeline(fs.createReadStream(from), request)
      return uploadedBytes(JSON.parse((await readAll(await response)).toString("utf8")))
    },
    close: async () => agent.destroy()
  }
}
