import { describe, expect, it } from "@effect/vitest"
import { ScriptedURLProtocol, URLRequest, URLResponse, URLSession, URLSessionConfiguration } from "@urlsession/core"
import { Cause, Chunk, Effect, Exit, Fiber, Option, Stream, TestClock } from "effect"
import { readFileSync } from "node:fs"
import { greeting, scenarios } from "../../examples/testing-without-network.js"

describe("ScriptedURLProtocol", () => {
  it.effect("the example program, against each scripted scenario, under TestClock", () =>
    Effect.gen(function*() {
      expect(yield* Effect.provide(greeting, scenarios.answers)).toBe("hello from the script")
      expect(yield* Effect.provide(greeting, scenarios.isDown)).toBe("(the greeter is down)")
      expect(yield* Effect.provide(greeting, scenarios.cutsOff)).toBe("(the greeting was cut off)")
      const slow = yield* Effect.fork(Effect.provide(greeting, scenarios.isSlow))
      yield* TestClock.adjust("1 second")
      expect(Option.isNone(yield* Fiber.poll(slow))).toBe(true)
      yield* TestClock.adjust("1 second")
      expect(yield* Fiber.join(slow)).toBe("(the greeter is too slow)")
    }))

  it.effect("the layer takes configuration overrides, and a configuration it refuses is a defect naming the field", () =>
    Effect.gen(function*() {
      const based = ScriptedURLProtocol.layer(ScriptedURLProtocol.respond({ body: "ok" }), {
        baseURL: "https://api.example/v1/"
      })
      const { response } = yield* URLSession.data("users").pipe(Effect.provide(based))
      expect(response.url).toBe("https://api.example/v1/users")
      const refused = ScriptedURLProtocol.layer(ScriptedURLProtocol.respond({ body: "ok" }), {
        httpMaximumConnectionsPerHost: 0
      })
      const exit = yield* Effect.exit(URLSession.data("https://api.example/").pipe(Effect.provide(refused)))
      expect(Exit.isFailure(exit) && Cause.isDie(exit.cause)).toBe(true)
      expect(Exit.isFailure(exit) && Cause.pretty(exit.cause)).toContain("httpMaximumConnectionsPerHost")
    }))

  it.effect("a delayed response arrives when TestClock reaches it", () =>
    Effect.gen(function*() {
      const loading = yield* Effect.fork(
        URLSession.data("https://api.example/slow").pipe(
          Effect.provide(ScriptedURLProtocol.layer(ScriptedURLProtocol.respond({ body: "late", delay: "30 seconds" })))
        )
      )
      yield* TestClock.adjust("29 seconds")
      expect(Option.isNone(yield* Fiber.poll(loading))).toBe(true)
      yield* TestClock.adjust("1 second")
      const { data, response } = yield* Fiber.join(loading)
      expect(new TextDecoder().decode(data)).toBe("late")
      expect(response.url).toBe("https://api.example/slow")
    }))

  it.effect.each(["TimedOut", "CannotFindHost", "SecureConnectionFailed", "BadServerResponse"] as const)(
    "fails with %s when scripted to",
    (code) =>
      Effect.gen(function*() {
        const error = yield* Effect.flip(
          URLSession.data("https://api.example/").pipe(
            Effect.provide(ScriptedURLProtocol.layer(ScriptedURLProtocol.fail(code)))
          )
        )
        expect(error.code).toBe(code)
        expect(error.failingURL).toBe("https://api.example/")
      })
  )

  it.scoped("cutAfter delivers exactly N bytes, then NetworkConnectionLost", () =>
    Effect.gen(function*() {
      const { body } = yield* URLSession.bytes("https://api.example/file")
      const received: Array<number> = []
      const error = yield* body.pipe(
        Stream.runForEach((chunk) => Effect.sync(() => received.push(chunk.byteLength))),
        Effect.flip
      )
      expect(received.reduce((a, b) => a + b, 0)).toBe(25)
      expect(error.code).toBe("NetworkConnectionLost")
    }).pipe(Effect.provide(ScriptedURLProtocol.layer(
      ScriptedURLProtocol.respond({ body: ["0123456789", "0123456789", "0123456789"], cutAfter: 25 })
    ))))

  it.effect("status, header fields and chunks reach the task as from a server", () =>
    Effect.gen(function*() {
      const task = yield* URLSession.dataTask("https://api.example/items")
      const events = yield* task.events.pipe(Stream.runCollect, Effect.fork)
      yield* task.resume
      const { data, response } = yield* task.await
      expect(new TextDecoder().decode(data)).toBe("[1,2]")
      expect(response.mimeType).toEqual(Option.some("application/json"))
      expect(response.expectedContentLength).toBe(5)
      const tags = Chunk.toArray(yield* Fiber.join(events)).map((event) => event._tag)
      expect(tags).toEqual(["DidReceiveResponse", "DidReceiveData", "DidReceiveData", "DidCompleteWithError"])
    }).pipe(Effect.provide(ScriptedURLProtocol.layer(
      ScriptedURLProtocol.respond({
        statusCode: 201,
        headers: { "Content-Type": "application/json" },
        body: ["[1,", "2]"]
      })
    ))))

  describe("router", () => {
    const text = (data: Uint8Array) => new TextDecoder().decode(data)
    const statusOf = ({ response }: { readonly response: URLResponse.URLResponse }) =>
      URLResponse.isHTTPURLResponse(response) ? response.statusCode : undefined
    const post = (url: string, body: string) =>
      URLRequest.make(url).pipe(URLRequest.setMethod("POST"), URLRequest.setBody(body))
    const users = ScriptedURLProtocol.router({
      "GET /users/:id": (_, { params }) => ({ json: { id: params.id } }),
      "GET /users/me": { body: "me" },
      "POST /users": { statusCode: 201, body: "created" },
      "DELETE /users/:id/sessions/:session": (_, { params }) => ({ body: `${params.id}:${params.session}` })
    })

    it.effect("a route answers its method and path; the same path by another method is another route", () =>
      Effect.gen(function*() {
        const got = yield* URLSession.data("https://api.example/users/me")
        const created = yield* URLSession.data(post("https://api.example/users", "{}"))
        expect([statusOf(got), text(got.data)]).toEqual([200, "me"])
        expect([statusOf(created), text(created.data)]).toEqual([201, "created"])
      }).pipe(Effect.provide(ScriptedURLProtocol.layer(users))))

    it.effect("a :name segment matches one segment, decoded, and reaches the handler as params.name", () =>
      Effect.gen(function*() {
        const one = yield* URLSession.data("https://api.example/users/ada%20lovelace?fields=all")
        expect(one.response.mimeType).toEqual(Option.some("application/json"))
        expect(JSON.parse(text(one.data))).toEqual({ id: "ada lovelace" })
        const both = yield* URLSession.data(
          URLRequest.make("https://api.example/users/7/sessions/s1").pipe(URLRequest.setMethod("DELETE"))
        )
        expect(text(both.data)).toBe("7:s1")
      }).pipe(Effect.provide(ScriptedURLProtocol.layer(users))))

    it.effect("a route without parameters wins over one with, whatever the order written", () =>
      Effect.gen(function*() {
        expect(text((yield* URLSession.data("https://api.example/users/me")).data)).toBe("me")
      }).pipe(Effect.provide(ScriptedURLProtocol.layer(users))))

    it.effect("a request no route matches fails with UnsupportedURL naming it and the routes, and is recorded", () =>
      Effect.gen(function*() {
        const error = yield* Effect.flip(URLSession.data(post("https://api.example/users/7", "x")))
        expect(error.code).toBe("UnsupportedURL")
        expect(error.failingURL).toBe("https://api.example/users/7")
        expect(error.message).toContain(
          "ScriptedURLProtocol.router has no route for POST /users/7 (its routes: GET /users/me, POST /users, " +
            "GET /users/:id, DELETE /users/:id/sessions/:session)"
        )
        const sent = yield* ScriptedURLProtocol.requests
        expect(sent.map((request) => `${request.method} ${request.url}`)).toEqual(["POST https://api.example/users/7"])
      }).pipe(Effect.provide(ScriptedURLProtocol.layer(users))))

    it.effect("orElse answers what no route matches", () =>
      Effect.gen(function*() {
        const result = yield* URLSession.data("https://api.example/nowhere")
        expect(statusOf(result)).toBe(404)
      }).pipe(Effect.provide(ScriptedURLProtocol.layer(
        ScriptedURLProtocol.router({ "GET /": { body: "home" } }, { orElse: { statusCode: 404 } })
      ))))

    it.effect("a route may be any script: fail, never, a delayed respond", () =>
      Effect.gen(function*() {
        const down = yield* Effect.flip(URLSession.data("https://api.example/down"))
        expect(down.code).toBe("CannotConnectToHost")
        const slow = yield* Effect.fork(URLSession.data("https://api.example/slow"))
        yield* TestClock.adjust("3 seconds")
        expect(text((yield* Fiber.join(slow)).data)).toBe("at last")
      }).pipe(Effect.provide(ScriptedURLProtocol.layer(ScriptedURLProtocol.router({
        "GET /down": ScriptedURLProtocol.fail("CannotConnectToHost"),
        "GET /slow": ScriptedURLProtocol.respond({ body: "at last", delay: "3 seconds" })
      })))))
  })

  describe("the record of requests", () => {
    it.effect("holds each request's method, URL, header fields (names lower-cased) and body, oldest first", () =>
      Effect.gen(function*() {
        yield* URLSession.data("https://api.example/users/1")
        yield* URLSession.data(
          URLRequest.make("https://api.example/users").pipe(
            URLRequest.setMethod("POST"),
            URLRequest.setHeader("Content-Type", "application/json"),
            URLRequest.setBody(JSON.stringify({ name: "Ada" }))
          )
        )
        const [get, post, ...rest] = yield* ScriptedURLProtocol.requests
        expect(rest).toEqual([])
        expect(get).toEqual({
          method: "GET",
          url: "https://api.example/users/1",
          headers: { "x-client": "tests", "user-agent": expect.stringMatching(/^urlsession\//) },
          body: new Uint8Array(0)
        })
        expect(post?.method).toBe("POST")
        expect(post?.url).toBe("https://api.example/users")
        expect(post?.headers).toEqual({
          "x-client": "tests",
          "user-agent": expect.stringMatching(/^urlsession\//),
          "content-type": "application/json",
          "content-length": "14"
        })
        expect(ScriptedURLProtocol.bodyText(post!)).toBe(`{"name":"Ada"}`)
      }).pipe(Effect.provide(ScriptedURLProtocol.layer(
        ScriptedURLProtocol.respond({ body: "ok" }),
        URLSessionConfiguration.with(URLSessionConfiguration.default, {
          httpAdditionalHeaders: { "X-Client": "tests" }
        })
      ))))

    it.effect("a stream body is read whole: recorded, given to the handler as bytes, reported as sent", () =>
      Effect.gen(function*() {
        const task = yield* URLSession.uploadTask(
          URLRequest.make("https://api.example/echo").pipe(URLRequest.setMethod("PUT")),
          Stream.make("abc", "def").pipe(Stream.encodeText)
        )
        const events = yield* task.events.pipe(Stream.runCollect, Effect.fork)
        yield* task.resume
        const { data } = yield* task.await
        expect(new TextDecoder().decode(data)).toBe("echo: abcdef")
        const [sent] = yield* ScriptedURLProtocol.requests
        expect(ScriptedURLProtocol.bodyText(sent!)).toBe("abcdef")
        expect(yield* task.countOfBytesSent).toBe(6)
        const tags = Chunk.toArray(yield* Fiber.join(events)).map((event) => event._tag)
        expect(tags).toContain("DidSendBodyData")
      }).pipe(Effect.provide(ScriptedURLProtocol.layer(ScriptedURLProtocol.router({
        "PUT /echo": (request) => ({
          body: `echo: ${new TextDecoder().decode(Option.getOrElse(request.body, () => new Uint8Array()))}`
        })
      })))))

    it.effect("a stream body that fails fails the load with RequestBodyStreamExhausted", () =>
      Effect.gen(function*() {
        const error = yield* Effect.flip(URLSession.upload(
          URLRequest.make("https://api.example/up").pipe(URLRequest.setMethod("POST")),
          Stream.concat(Stream.make(new Uint8Array([1])), Stream.fail("disk gone"))
        ))
        expect(error.code).toBe("RequestBodyStreamExhausted")
        expect(yield* ScriptedURLProtocol.requests).toEqual([])
      }).pipe(Effect.provide(ScriptedURLProtocol.layer(ScriptedURLProtocol.respond({})))))

    it.effect("each build of the layer starts with an empty record", () =>
      Effect.gen(function*() {
        const session = ScriptedURLProtocol.layer(ScriptedURLProtocol.respond({}))
        const firstRun = URLSession.data("https://api.example/a").pipe(
          Effect.zipRight(ScriptedURLProtocol.requests),
          Effect.provide(session)
        )
        expect((yield* firstRun).length).toBe(1)
        expect((yield* firstRun).length).toBe(1)
      }))

    it.effect("a protocol from make records too, in a configuration's protocolClasses beside others", () =>
      Effect.gen(function*() {
        const scripted = ScriptedURLProtocol.make(ScriptedURLProtocol.respond({ body: "scripted" }), {
          canInit: (url) => url.hostname === "api.example"
        })
        const configuration = URLSessionConfiguration.with(URLSessionConfiguration.default, {
          protocolClasses: [scripted]
        })
        const session = yield* URLSession.make(configuration, { protocols: [] })
        const data = (url: string) => Effect.provideService(URLSession.data(url), URLSession.URLSession, session)
        expect(new TextDecoder().decode((yield* data("https://api.example/x")).data)).toBe("scripted")
        expect((yield* Effect.flip(data("https://elsewhere.example/"))).code).toBe("UnsupportedURL")
        expect((yield* scripted.requests).map((request) => request.url)).toEqual(["https://api.example/x"])
      }).pipe(Effect.scoped))
  })

  describe("under TestClock", () => {
    const configuration = URLSessionConfiguration.with(URLSessionConfiguration.default, {
      timeoutIntervalForRequest: "10 seconds"
    })

    it.effect("a response that never arrives fails with TimedOut once TestClock passes timeoutIntervalForRequest", () =>
      Effect.gen(function*() {
        const loading = yield* Effect.fork(Effect.flip(URLSession.data("https://api.example/users/1")))
        yield* TestClock.adjust("9 seconds")
        expect(Option.isNone(yield* Fiber.poll(loading))).toBe(true)
        yield* TestClock.adjust("1 second")
        const error = yield* Fiber.join(loading)
        expect(error.code).toBe("TimedOut")
        expect(error.failingURL).toBe("https://api.example/users/1")
        expect((yield* ScriptedURLProtocol.requests).length).toBe(1)
      }).pipe(Effect.provide(ScriptedURLProtocol.layer(
        ScriptedURLProtocol.router({ "GET /users/:id": ScriptedURLProtocol.never }),
        configuration
      ))))

    it.effect("a request's own timeoutInterval wins over the session's", () =>
      Effect.gen(function*() {
        const loading = yield* Effect.fork(Effect.flip(URLSession.data(
          URLRequest.make("https://api.example/").pipe(URLRequest.setTimeoutInterval("2 seconds"))
        )))
        yield* TestClock.adjust("2 seconds")
        expect((yield* Fiber.join(loading)).code).toBe("TimedOut")
      }).pipe(Effect.provide(ScriptedURLProtocol.layer(ScriptedURLProtocol.never, configuration))))

    it.effect("a delay shorter than the timeout is a response, one longer is TimedOut", () =>
      Effect.gen(function*() {
        const fast = yield* Effect.fork(URLSession.data("https://api.example/fast"))
        const slow = yield* Effect.fork(Effect.flip(URLSession.data("https://api.example/slow")))
        yield* TestClock.adjust("10 seconds")
        expect(new TextDecoder().decode((yield* Fiber.join(fast)).data)).toBe("in time")
        expect((yield* Fiber.join(slow)).code).toBe("TimedOut")
      }).pipe(Effect.provide(ScriptedURLProtocol.layer(
        ScriptedURLProtocol.router({
          "GET /fast": { body: "in time", delay: "9 seconds" },
          "GET /slow": { body: "too late", delay: "11 seconds" }
        }),
        configuration
      ))))
  })

  it("the README's testing example is test/core/testingKit.test.ts, word for word", () => {
    const read = (path: string) => readFileSync(new URL(path, import.meta.url), "utf8")
    const example = read("./testingKit.test.ts")
    expect(read("../../README.md")).toContain("```ts\n" + example.slice(example.indexOf("import {")) + "```\n")
  })
})
