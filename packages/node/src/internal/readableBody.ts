import type { URLError } from "@urlsession/core/URLError"
import type { Loading } from "@urlsession/core/URLProtocol"
import type { URLResponse } from "@urlsession/core/URLResponse"
import * as Effect from "effect/Effect"
import * as Option from "effect/Option"
import type { Readable } from "node:stream"

/** A response whose body is a readable, pulled. */
export const loading = (
  response: URLResponse,
  readable: Readable,
  onError: (error: unknown) => URLError
): Loading => ({ response, pull: fromReadable(readable, onError) })

/**
 * A response that has no body whatever its fields say (RFC 9112 §6.3). undici's readable is
 * still let run to its end, unread: a 204 or 304 whose Content-Length announces bytes makes
 * undici fail it with a length mismatch, which belongs to no one.
 */
export const empty = (response: URLResponse, readable: Readable): Loading => {
  readable.on("error", ignore)
  readable.resume()
  return { response, pull: end }
}

const end = Effect.succeed(Option.none<Uint8Array>())

/**
 * A readable's chunks, pulled: each pull takes what the readable has buffered (at once when
 * there is some) and nothing is read ahead of demand, so a consumer that stops pulling
 * backpressures the source. Unlike the readable's async iterator, an interrupted pull
 * returns at once even while no data arrives (an async generator would queue the `return`
 * behind the pending `next`), so the caller can destroy the readable and abort the transfer.
 */
const fromReadable = <E>(
  readable: Readable,
  onError: (error: unknown) => E
): Effect.Effect<Option.Option<Uint8Array>, E> => {
  // Between pulls nobody listens; an error then must not crash the process. It is kept in
  // `readable.errored` and reported by the next pull.
  readable.on("error", ignore)
  // What a pull gives now, without waiting; `undefined` when it must wait.
  const now = (): Effect.Effect<Option.Option<Uint8Array>, E> | undefined => {
    const chunk: Uint8Array | null = readable.read()
    if (chunk !== null) return Effect.succeed(Option.some(chunk))
    if (readable.errored !== null) return Effect.fail(onError(readable.errored))
    if (readable.readableEnded) return end
    // Destroyed before its end without an error: no event will come any more.
    if (readable.destroyed) return Effect.fail(onError(new Error("The body closed before its end")))
    return undefined
  }
  const waitForChunk = Effect.async<Option.Option<Uint8Array>, E>((resume) => {
    const detach = () => {
      readable.off("readable", onReadable)
      readable.off("end", onEnd)
      readable.off("error", onFailure)
      readable.off("close", onClose)
    }
    const onReadable = () => {
      const ready = now()
      if (ready === undefined) return
      detach()
      resume(ready)
    }
    const onEnd = () => {
      detach()
      resume(end)
    }
    const onFailure = (error: unknown) => {
      detach()
      resume(Effect.fail(onError(error)))
    }
    const onClose = () => {
      detach()
      resume(
        readable.readableEnded
          ? end
          : Effect.fail(onError(readable.errored ?? new Error("The body closed before its end")))
      )
    }
    const ready = now()
    if (ready !== undefined) return resume(ready)
    readable.on("readable", onReadable)
    readable.once("end", onEnd)
    readable.once("error", onFailure)
    readable.once("close", onClose)
    return Effect.sync(detach)
  })
  return Effect.suspend(() => now() ?? waitForChunk)
}

const ignore = () => {}
