import * as Chunk from "effect/Chunk"
import * as Effect from "effect/Effect"
import * as Option from "effect/Option"
import type * as Scope from "effect/Scope"
import * as Stream from "effect/Stream"
import type { URLError } from "../URLError.js"
import type { Loading } from "../URLProtocol.js"

type Pull = Loading["pull"]

/**
 * A body held in memory as a pull: each run gives the next chunk, then `failure` (a cut
 * connection) if given, else `None`. A fresh pull per load: it keeps its place.
 */
export const chunkPull = (chunks: ReadonlyArray<Uint8Array>, failure?: URLError): Pull => {
  let next = 0
  return Effect.suspend(() => {
    if (next < chunks.length) {
      const chunk = chunks[next++]!
      return Effect.succeed(Option.some(chunk))
    }
    return failure === undefined ? Effect.succeedNone : Effect.fail(failure)
  })
}

/** A stream's chunks as a pull. The stream runs in the scope, so closing it stops the stream. */
export const pullFromStream = (body: Stream.Stream<Uint8Array, URLError>): Effect.Effect<Pull, never, Scope.Scope> =>
  Effect.map(Stream.toPull(body), (pullChunk) => {
    // `Stream.toPull` gives a stream's chunks whole (a `Chunk` of any number of elements,
    // none included): they are handed out one element a run.
    let held: ReadonlyArray<Uint8Array> = []
    let index = 0
    let ended = false
    const next: Pull = Effect.suspend(() => {
      if (index < held.length) return Effect.succeed(Option.some(held[index++]!))
      if (ended) return Effect.succeedNone
      return Effect.matchEffect(pullChunk, {
        onFailure: Option.match({
          onNone: () => {
            ended = true
            return Effect.succeedNone
          },
          onSome: Effect.fail
        }),
        onSuccess: (chunk) => {
          held = Chunk.toReadonlyArray(chunk)
          index = 0
          return next
        }
      })
    })
    return next
  })

/** A pull as a stream; like the pull, it can be run once. */
export const bodyStream = (loading: Loading): Stream.Stream<Uint8Array, URLError> =>
  Stream.repeatEffectOption(
    Effect.flatMap(
      Effect.mapError(loading.pull, Option.some),
      Option.match({ onNone: () => Effect.fail(Option.none()), onSome: Effect.succeed })
    )
  )
