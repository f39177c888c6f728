/**
 * A dispatcher of the user's own (`UndiciDispatcher`): the session sends through it instead
 * of its own pool, never closes it, and refuses what only its own pool could honour.
 */
import { describe, expect, it } from "@effect/vitest"
import type { URLResponse } from "@urlsession/core"
import { URLError, URLSession, URLSessionConfiguration } from "@urlsession/core"
import { NodeURLSession, UndiciDispatcher } from "@urlsession/node"
import { Effect, Layer } from "effect"
import { Agent, MockAgent } from "undici"
import { beforeAll } from "vitest"
import { makeTestCertificates, type TestCertificates } from "../fixtures/certificates.js"
import { httpServer, httpsServer } from "../fixtures/servers.js"

let certificates: TestCertificates
beforeAll(async () => {
  certificates = await makeTestCertificates()
})

const text = (data: Uint8Array) => new TextDecoder().decode(data)

const userAgent = (make: () => Agent) =>
  Effect.acquireRelease(Effect.sync(make), (agent) => Effect.promise(() => agent.destroy()))

const through = (dispatcher: UndiciDispatcher.UndiciDispatcher["Type"]) =>
  NodeURLSession.layer().pipe(Layer.provide(UndiciDispatcher.layer(dispatcher)))

describe("UndiciDispatcher", () => {
  it.scoped("a user's Agent carries the session's requests: its one connection serves them all", () =>
    Effect.gen(function*() {
      const server = yield* httpServer((request, response) => response.end(`answer to ${request.url}`))
      const agent = yield* userAgent(() => new Agent({ connections: 1 }))
      const results = yield* Effect.forEach(
        ["/a", "/b", "/c", "/d"],
        (path) => URLSession.data(`${server.url}${path}`),
        { concurrency: "unbounded" }
      ).pipe(Effect.provide(through(agent)))
      expect(results.map(({ data }) => text(data))).toEqual([
        "answer to /a",
        "answer to /b",
        "answer to /c",
        "answer to /d"
      ])
      expect(server.connections.accepted()).toBe(1)
    }))

  it.scoped("an undici MockAgent answers a request without any server", () =>
    Effect.gen(function*() {
      const mock = new MockAgent()
      mock.disableNetConnect()
      yield* Effect.addFinalizer(() => Effect.promise(() => mock.close()))
      mock.get("http://api.example").intercept({ path: "/users/1", method: "GET" }).reply(200, "{\"id\":1}", {
        headers: { "content-type": "application/json" }
      })
      const { data, response } = yield* URLSession.data("http://api.example/users/1").pipe(
        Effect.provide(through(mock))
      )
      expect(text(data)).toBe("{\"id\":1}")
      expect((response as URLResponse.HTTPURLResponse).statusCode).toBe(200)
      expect(response.mimeType).toEqual(expect.objectContaining({ _tag: "Some", value: "application/json" }))
      mock.assertNoPendingInterceptors()
    }))

  it.scoped("trustedCertificates and lookup with a user's dispatcher fail the layer with InvalidConfiguration", () =>
    Effect.gen(function*() {
      const agent = yield* userAgent(() => new Agent())
      const session = NodeURLSession.layer(
        { trustedCertificates: [certificates.valid.cert] },
        { lookup: (_hostname, _options, callback) => callback(null, "127.0.0.1", 4) }
      ).pipe(Layer.provide(UndiciDispatcher.layer(agent)))
      const error = yield* Effect.flip(Effect.scoped(Layer.build(session)))
      expect(error).toBeInstanceOf(URLSessionConfiguration.InvalidConfiguration)
      if (!(error instanceof URLSessionConfiguration.InvalidConfiguration)) return
      expect(error.problems.map((problem) => problem.field)).toEqual(["trustedCertificates", "lookup"])
      expect(error.message).toContain("give it connect: { ca } instead")
      expect(error.message).toContain("give it connect: { lookup } instead")
    }))

  it.scoped("closing the session layer leaves the user's dispatcher open", () =>
    Effect.gen(function*() {
      const server = yield* httpServer((_, response) => response.end("again"))
      const agent = yield* userAgent(() => new Agent())
      yield* Effect.scoped(URLSession.data(`${server.url}/`).pipe(Effect.provide(through(agent))))
      expect(agent.closed).toBe(false)
      expect(agent.destroyed).toBe(false)
      const { data } = yield* URLSession.data(`${server.url}/`).pipe(Effect.provide(through(agent)))
      expect(text(data)).toBe("again")
      expect(server.connections.accepted()).toBe(1)
    }))

  it.scoped("layerScoped makes the dispatcher with the layer and closes it with the layer", () =>
    Effect.gen(function*() {
      const server = yield* httpServer((_, response) => response.end("scoped"))
      let made: Agent | undefined
      const session = NodeURLSession.layer().pipe(
        Layer.provide(UndiciDispatcher.layerScoped(() => (made = new Agent())))
      )
      const { data } = yield* Effect.scoped(URLSession.data(`${server.url}/`).pipe(Effect.provide(session)))
      expect(text(data)).toBe("scoped")
      expect(made?.closed).toBe(true)
    }))

  it.scoped("a certificate failure through a user's Agent is still a URLError code", () =>
    Effect.gen(function*() {
      const server = yield* httpsServer(
        { cert: certificates.valid.cert, key: certificates.valid.key },
        (_, response) => response.end("secure")
      )
      const agent = yield* userAgent(() => new Agent())
      const error = yield* Effect.flip(URLSession.data(`${server.url}/`).pipe(Effect.provide(through(agent))))
      expect(error).toBeInstanceOf(URLError.URLError)
      expect(error).toMatchObject({ code: "ServerCertificateUntrusted", failingURL: `${server.url}/` })
    }))

  it.scoped("a user's Agent trusting a private CA itself loads over https", () =>
    Effect.gen(function*() {
      const server = yield* httpsServer(
        { cert: certificates.valid.cert, key: certificates.valid.key },
        (_, response) => response.end("secure")
      )
      const agent = yield* userAgent(() => new Agent({ connect: { ca: certificates.valid.cert } }))
      const { data } = yield* URLSession.data(`${server.url}/`).pipe(Effect.provide(through(agent)))
      expect(text(data)).toBe("secure")
    }))
})
