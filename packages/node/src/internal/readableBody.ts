import * as Effect from "effect/Effect"
import * as Option from "effect/Option"
import * as Stream from "effect/Stream"
import type { Readable } from "node:stream"

/**
 * A readable's chunks as a pulled `Stream`: each pull takes what the readable has buffered
 * and nothing is read ahead of demand, so a consumer that stops pulling backpressures the
 * source. Unlike the readable's async iterator, an interrupted pull returns at once even
 * while no data arrives (an async generator would queue the `return` behind the pending
 * `next`), so the caller can destroy the readable and abort the transfer.
 */
export const fromReadable = <E>(readable: Readable, onError: (error: unknown) => E): Stream.Stream<Uint8Array, E> => {
  // Between pulls nobody listens; an error then must not crash the process. It is kept in
  // `readable.errored` and reported by the next pull.
  readable.on("error", ignore)
  return Stream.repeatEffectOption(Effect.async<Uint8Array, Option.Option<E>>((resume) => {
    const detach = () => {
      readable.off("readable", onReadable)
      readable.off("end", onEnd)
      readable.off("error", onFailure)
      readable.off("close", onClose)
    }
    const pull = (): boolean => {
      const chunk: Uint8Array | null = readable.read()
      if (chunk !== null) {
        resume(Effect.succeed(chunk))
        return true
      }
      if (readable.errored !== null) {
        resume(Effect.fail(Option.some(onError(readable.errored))))
        return true
      }
      if (readable.readableEnded) {
        resume(Effect.fail(Option.none()))
        return true
      }
      return false
    }
    const onReadable = () => {
      if (pull()) detach()
    }
    const onEnd = () => {
      detach()
      resume(Effect.fail(Option.none()))
    }
    const onFailure = (error: unknown) => {
      detach()
      resume(Effect.fail(Option.some(onError(error))))
    }
    const onClose = () => {
      detach()
      resume(
        readable.readableEnded
          ? Effect.fail(Option.none())
          : Effect.fail(Option.some(onError(readable.errored ?? new Error("The body closed before its end"))))
      )
    }
    if (pull()) return
    readable.on("readable", onReadable)
    readable.once("end", onEnd)
    readable.once("error", onFailure)
    readable.once("close", onClose)
    return Effect.sync(detach)
  }))
}

const ignore = () => {}
