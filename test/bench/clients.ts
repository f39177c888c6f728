/**
 * The benchmarked clients by name. Each is loaded only in the child process that measures
 * it (a dynamic import), so no process carries another client's code or memory.
 */
import type { BenchClient } from "./BenchClient.js"

export const clientNames = [
  "urlsession",
  "urlsession (task events)",
  "urlsession (session events)",
  "urlsession (background)",
  "undici.request",
  "undici.stream",
  "undici.fetch",
  "node:http",
  "@effect/platform",
  "floor: Effect",
  "floor: Effect+fork",
  "got",
  "axios",
  "curl"
] as const

export type ClientName = typeof clientNames[number]

export const isClientName = (name: string): name is ClientName => (clientNames as ReadonlyArray<string>).includes(name)

export const loadClient = async (name: ClientName): Promise<BenchClient> => {
  switch (name) {
    case "urlsession":
      return (await import("./clients/urlsession.js")).make("none")
    case "urlsession (task events)":
      return (await import("./clients/urlsession.js")).make("task")
    case "urlsession (session events)":
      return (await import("./clients/urlsession.js")).make("session")
    case "urlsession (background)":
      return (await import("./clients/urlsessionBackground.js")).make()
    case "undici.request":
      return (await import("./clients/undici.js")).makeRequest()
    case "undici.stream":
      return (await import("./clients/undici.js")).makeStream()
    case "undici.fetch":
      return (await import("./clients/undici.js")).makeFetch()
    case "node:http":
      return (await import("./clients/nodeHttp.js")).make()
    case "@effect/platform":
      return (await import("./clients/effectPlatform.js")).make()
    case "floor: Effect":
      return (await import("./clients/effectFloor.js")).make(false)
    case "floor: Effect+fork":
      return (await import("./clients/effectFloor.js")).make(true)
    case "got":
      return (await import("./clients/got.js")).make()
    case "axios":
      return (await import("./clients/axios.js")).make()
    case "curl":
      return (await import("./clients/curl.js")).make()
  }
}
