/**
 * undici's three APIs, each over its own `Agent` capped at 6 connections per origin (what a
 * urlsession session allows by default):
 *
 * - `undici.request`: the baseline every ratio is taken to; downloads pipe the body to disk,
 *   uploads send a file read stream as the body.
 * - `undici.stream`: downloads only, the body written straight into a file stream (undici's
 *   fastest path to disk; the throughput target of case 2).
 * - `undici.fetch`: the WHATWG API, bodies as web streams (uploads use `duplex: "half"`).
 */
import * as fs from "node:fs"
import { pipeline } from "node:stream/promises"
import { Agent, fetch, request, stream } from "undici"
import { type BenchClient, timedPool, uploadedBytes } from "../BenchClient.js"

const agent = () => new Agent({ connections: 6 })

export const makeRequest = async (): Promise<BenchClient> => {
  const dispatcher = agent()
  return {
    get: (url, count, concurrency) =>
      timedPool(count, concurrency, async () => {
        const { body } = await request(url, { dispatcher })
        await body.arrayBuffer()
      }),
    download: async (url, to) => {
      const { body } = await request(url, { dispatcher })
      await pipeline(body, fs.createWriteStream(to))
    },
    upload: async (url, from, size) => {
      const { body } = await request(url, {
        dispatcher,
        method: "POST",
        headers: { "content-type": "application/octet-stream", "content-length": String(size) },
        body: fs.createReadStream(from)
      })
      return uploadedBytes(await body.json())
    },
    close: () => dispatcher.close()
  }
}

export const makeStream = async (): Promise<BenchClient> => {
  const dispatcher = agent()
  return {
    download: async (url, to) => {
      const file = fs.createWriteStream(to)
      await stream(url, { dispatcher, method: "GET" }, () => file)
    },
    close: () => dispatcher.close()
  }
}

export const makeFetch = async (): Promise<BenchClient> => {
  const dispatcher = agent()
  return {
    get: (url, count, concurrency) =>
      timedPool(count, concurrency, async () => {
        const response = await fetch(url, { dispatcher })
        await response.arrayBuffer()
      }),
    download: async (url, to) => {
      const response = await fetch(url, { dispatcher })
      if (response.body === null) throw new Error("fetch: a response without a body")
      await pipeline(response.body, fs.createWriteStream(to))
    },
    upload: async (url, from, size) => {
      const response = await fetch(url, {
        dispatcher,
        method: "POST",
        headers: { "content-type": "application/octet-stream", "content-length": String(size) },
        body: fs.createReadStream(from),
        duplex: "half"
      })
      return uploadedBytes(await response.json())
    },
    close: () => dispatcher.close()
  }
}
