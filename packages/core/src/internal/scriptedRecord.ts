/**
 * What a scripted protocol does with a request before its script answers: read the body as a
 * server would (a stream pulled while the task is resumed, every chunk reported as sent), and
 * keep a record of the request.
 */
import * as Chunk from "effect/Chunk"
import * as Effect from "effect/Effect"
import * as Option from "effect/Option"
import * as Stream from "effect/Stream"
import type { RecordedRequest } from "../ScriptedURLProtocol.js"
import * as URLError from "../URLError.js"
import type { Client } from "../URLProtocol.js"
import * as URLRequest from "../URLRequest.js"

/**
 * The request with its body read into bytes (a stream body is sent once, so the script gets
 * the bytes in its place), and the record of it.
 */
export const receive = (
  request: URLRequest.URLRequest,
  url: URL,
  client: Client
): Effect.Effect<readonly [URLRequest.URLRequest, RecordedRequest], URLError.URLError> =>
  Effect.map(readBody(request, client), (body) => {
    const received = Option.isSome(request.bodyStream) ? URLRequest.setBody(request, body) : request
    const recorded: RecordedRequest = {
      method: request.method,
      url: url.href,
      headers: Object.fromEntries(Object.entries(request.headers).map(([name, value]) => [name.toLowerCase(), value])),
      body
    }
    return [received, recorded] as const
  })

const empty = new Uint8Array(0)

const readBody = (request: URLRequest.URLRequest, client: Client): Effect.Effect<Uint8Array, URLError.URLError> => {
  if (Option.isSome(request.body)) {
    const bytes = request.body.value
    return client.whenResumed(Effect.sync(() => {
      if (bytes.byteLength > 0) client.didSendBodyData(bytes.byteLength)
      return bytes
    }))
  }
  if (Option.isNone(request.bodyStream)) return Effect.succeed(empty)
  return request.bodyStream.value.pipe(
    Stream.mapEffect((chunk) =>
      client.whenResumed(Effect.sync(() => {
        client.didSendBodyData(chunk.byteLength)
        return chunk
      }))
    ),
    Stream.runCollect,
    Effect.map((chunks) => concat(Chunk.toReadonlyArray(chunks))),
    Effect.mapError((cause) =>
      URLError.make("RequestBodyStreamExhausted", {
        failingURL: request.url,
        message: "the request body stream failed",
        cause
      })
    )
  )
}

const concat = (chunks: ReadonlyArray<Uint8Array>): Uint8Array => {
  const bytes = new Uint8Array(chunks.reduce((total, chunk) => total + chunk.byteLength, 0))
  let offset = 0
  for (const chunk of chunks) {
    bytes.set(chunk, offset)
    offset += chunk.byteLength
  }
  return bytes
}
