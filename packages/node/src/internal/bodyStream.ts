import type { Client } from "@urlsession/core/URLProtocol"
import * as Cause from "effect/Cause"
import type * as Chunk from "effect/Chunk"
import * as Effect from "effect/Effect"
import * as Exit from "effect/Exit"
import type * as Fiber from "effect/Fiber"
import * as Option from "effect/Option"
import * as Runtime from "effect/Runtime"
import type * as Scope from "effect/Scope"
import * as Stream from "effect/Stream"
import { Readable } from "node:stream"

/** Why a body stream could not be sent whole. */
export class BodyStreamExhausted extends Error {
  readonly code = exhaustedCode
}

/** The `code` of {@link BodyStreamExhausted}, which the error mapping knows. */
export const exhaustedCode = "ERR_URLSESSION_BODY_STREAM_EXHAUSTED"

/**
 * A request body stream as a readable for undici, pulled only as undici reads (so a server
 * that stops reading stops the stream) and only while the task is not suspended
 * (`client.whenResumed`). `client.didSendBodyData` hears of every chunk handed over. A
 * stream that fails, gives more or fewer bytes than `declaredLength`, is destroyed with
 * {@link BodyStreamExhausted}. Closing the scope stops the stream.
 */
export const toReadable = (
  stream: Stream.Stream<Uint8Array, unknown>,
  declaredLength: number | undefined,
  client: Client
): Effect.Effect<Readable, never, Scope.Scope> =>
  Effect.gen(function*() {
    const pull = client.whenResumed(yield* Stream.toPull(stream))
    const runtime = yield* Effect.runtime<never>()
    let pending: Fiber.RuntimeFiber<Chunk.Chunk<Uint8Array>, Option.Option<unknown>> | undefined
    let total = 0

    // Chunks pulled but not yet taken: a pull may give many at once, and the readable takes
    // them only as fast as undici reads.
    let waiting: Array<Uint8Array> = []

    // Hands waiting chunks over until the readable is full; true when one was handed over.
    const handOver = (readable: Readable): boolean => {
      let pushed = false
      while (waiting.length > 0) {
        const chunk = waiting.shift()!
        total += chunk.byteLength
        if (declaredLength !== undefined && total > declaredLength) {
          readable.destroy(
            new BodyStreamExhausted(`The body stream gave more than its declared ${declaredLength} bytes`)
          )
          return true
        }
        client.didSendBodyData(chunk.byteLength)
        pushed = true
        if (!readable.push(chunk)) break
      }
      return pushed
    }

    const delivered = (readable: Readable, chunks: Chunk.Chunk<Uint8Array>) => {
      // Pulled as the load ended: nothing goes out any more, nothing is counted.
      if (readable.destroyed) return
      for (const chunk of chunks) {
        if (chunk.byteLength > 0) waiting.push(chunk)
      }
      // Nothing handed over: the readable will not ask again by itself.
      if (!handOver(readable)) readFrom(readable)
    }

    const ended = (readable: Readable, exit: Exit.Exit<Chunk.Chunk<Uint8Array>, Option.Option<unknown>>) => {
      if (Exit.isSuccess(exit)) return delivered(readable, exit.value)
      const failure = Cause.failureOption(exit.cause)
      if (Option.isSome(failure) && Option.isNone(failure.value)) {
        if (declaredLength !== undefined && total < declaredLength) {
          return void readable.destroy(
            new BodyStreamExhausted(
              `The body stream ended after ${total} of its declared ${declaredLength} bytes`
            )
          )
        }
        return void readable.push(null)
      }
      if (readable.destroyed) return
      readable.destroy(
        new BodyStreamExhausted("The body stream failed", {
          cause: Option.isSome(failure) ? Option.getOrUndefined(failure.value) : Cause.squash(exit.cause)
        })
      )
    }

    const readFrom = (readable: Readable) => {
      if (pending !== undefined || readable.destroyed) return
      const fiber = Runtime.runFork(runtime)(pull)
      pending = fiber
      fiber.addObserver((exit) => {
        pending = undefined
        ended(readable, exit)
      })
    }

    const readable = new Readable({
      read() {
        if (waiting.length === 0 || !handOver(this)) readFrom(this)
      }
    })
    yield* Effect.addFinalizer(() =>
      Effect.suspend(() => {
        readable.destroy()
        waiting = []
        const running = pending
        return running === undefined ? Effect.void : Effect.asVoid(running.interruptAsFork(running.id()))
      })
    )
    return readable
  })
