import * as Effect from "effect/Effect"
import * as Option from "effect/Option"
import type { URLError } from "../URLError.js"

/**
 * A body held in memory as a `Loading.pull`: each run gives the next chunk, then `failure`
 * (a cut connection) if given, else `None`. A fresh pull per load: it keeps its place.
 */
export const chunkPull = (
  chunks: ReadonlyArray<Uint8Array>,
  failure?: URLError
): Effect.Effect<Option.Option<Uint8Array>, URLError> => {
  let next = 0
  return Effect.suspend(() => {
    if (next < chunks.length) {
      const chunk = chunks[next++]!
      return Effect.succeed(Option.some(chunk))
    }
    return failure === undefined ? Effect.succeedNone : Effect.fail(failure)
  })
}
