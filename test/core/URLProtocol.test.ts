import { describe, expect, it } from "@effect/vitest"
import { ScriptedURLProtocol, URLError, URLProtocol, URLResponse, URLSession } from "@urlsession/core"
import { Chunk, Deferred, Effect, Fiber, Stream } from "effect"

const bytes = (text: string) => new TextEncoder().encode(text)
const text = (data: Uint8Array) => new TextDecoder().decode(data)
const head = (url: string) => URLResponse.fromHTTPHead({ url, statusCode: 200, headers: {} })

// A session whose protocol answers every request with `body`, a Stream.
const streaming = (body: Stream.Stream<Uint8Array, URLError.URLError>) =>
  ScriptedURLProtocol.layer((request) =>
    Effect.gen(function*() {
      return { response: head(request.url), pull: yield* URLProtocol.pullFromStream(body) }
    })
  )

describe("URLProtocol", () => {
  it.effect("a body Stream is delivered one element a chunk, in order, whatever its Chunks hold", () =>
    Effect.gen(function*() {
      const task = yield* URLSession.dataTask("https://api.example/")
      const events = yield* task.events.pipe(Stream.runCollect, Effect.fork)
      yield* task.resume
      const { data } = yield* task.await
      expect(text(data)).toBe("abcdef")
      const received = Chunk.toArray(yield* Fiber.join(events)).flatMap((event) =>
        event._tag === "DidReceiveData" ? [text(event.data)] : []
      )
      expect(received).toEqual(["a", "bc", "def"])
    }).pipe(Effect.provide(streaming(
      Stream.fromChunks(Chunk.make(bytes("a"), bytes("bc")), Chunk.empty(), Chunk.make(bytes("def")))
    ))))

  it.effect("a body Stream's failure fails the load with its URLError", () =>
    Effect.gen(function*() {
      const error = yield* Effect.flip(URLSession.data("https://api.example/"))
      expect(error.code).toBe("NetworkConnectionLost")
    }).pipe(Effect.provide(streaming(
      Stream.concat(
        Stream.make(bytes("partial")),
        Stream.fail(URLError.make("NetworkConnectionLost", { failingURL: "https://api.example/" }))
      )
    ))))

  it.effect("a cancelled load stops its body Stream and runs its finalizers", () =>
    Effect.gen(function*() {
      const released = yield* Deferred.make<void>()
      const received = yield* Deferred.make<void>()
      const body = Stream.concat(Stream.make(bytes("first")), Stream.never).pipe(
        Stream.ensuring(Deferred.succeed(released, undefined))
      )
      yield* Effect.gen(function*() {
        const task = yield* URLSession.dataTask("https://api.example/")
        yield* task.events.pipe(
          Stream.filter((event) => event._tag === "DidReceiveData"),
          Stream.take(1),
          Stream.runDrain,
          Effect.zipRight(Deferred.succeed(received, undefined)),
          Effect.fork
        )
        yield* task.resume
        yield* Deferred.await(received)
        yield* task.cancel
        expect((yield* Effect.flip(task.await)).code).toBe("Cancelled")
        yield* Deferred.await(released)
      }).pipe(Effect.provide(streaming(body)))
    }))

  it.scoped("bodyStream gives a Loading's body as a Stream, its failure included", () =>
    Effect.gen(function*() {
      const cut = URLError.make("NetworkConnectionLost", { failingURL: "https://api.example/" })
      const loading: URLProtocol.Loading = {
        response: head("https://api.example/"),
        pull: yield* URLProtocol.pullFromStream(
          Stream.concat(Stream.make(bytes("a"), bytes("b")), Stream.fail(cut))
        )
      }
      const received: Array<string> = []
      const error = yield* URLProtocol.bodyStream(loading).pipe(
        Stream.runForEach((chunk) => Effect.sync(() => received.push(text(chunk)))),
        Effect.flip
      )
      expect(received).toEqual(["a", "b"])
      expect(error).toBe(cut)
    }))
})
