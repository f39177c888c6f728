/**
 * Reading what a data task delivered: its body as text (by the response's charset), as JSON,
 * or decoded with a `Schema`, and an opt-in check that turns a non-2xx status into a failure.
 *
 * An HTTP error status is not a failure of the load: a 404 is a response, as in Apple's API.
 * `filterStatusOk` is for code that wants one, and keeps the response and body in the error.
 *
 * @example
 * ```ts
 * import { DataResult, URLSession } from "@urlsession/core"
 * import { Effect, Schema } from "effect"
 *
 * const User = Schema.Struct({ id: Schema.Number, name: Schema.String })
 *
 * const user = URLSession.data("http://127.0.0.1:8080/users/7").pipe(
 *   Effect.flatMap(DataResult.filterStatusOk),
 *   Effect.flatMap(DataResult.schemaJson(User)),
 *   Effect.catchTag("StatusCodeError", (error) => Effect.fail(`no user: ${error.response.statusCode}`))
 * )
 * ```
 *
 * @since 0.1.0
 */
import * as Data from "effect/Data"
import * as Effect from "effect/Effect"
import * as Either from "effect/Either"
import { dual } from "effect/Function"
import type * as ParseResult from "effect/ParseResult"
import * as Schema from "effect/Schema"
import { decodeText } from "./internal/charset.js"
import { reasonPhrase } from "./internal/reasonPhrase.js"
import { type HTTPURLResponse, isHTTPURLResponse, type URLResponse } from "./URLResponse.js"
import type { DataResult } from "./URLSessionTask.js"

export type {
  /**
   * What a data task delivers: the whole body and the response (`URLSessionTask.DataResult`).
   *
   * @since 0.1.0
   * @category models
   */
  DataResult
}

/**
 * The body could not be read: its charset is unknown to the platform (`UnknownCharset`), its
 * bytes are not valid in that charset (`MalformedText`), or its text is not JSON
 * (`MalformedJson`).
 *
 * @since 0.1.0
 * @category errors
 */
export class BodyDecodeError extends Data.TaggedError("BodyDecodeError")<{
  readonly reason: "UnknownCharset" | "MalformedText" | "MalformedJson"
  readonly response: URLResponse
  readonly cause: unknown
  readonly message: string
}> {
  constructor(fields: {
    readonly reason: "UnknownCharset" | "MalformedText" | "MalformedJson"
    readonly response: URLResponse
    readonly cause: unknown
    readonly charset?: string
  }) {
    const what = fields.reason === "UnknownCharset"
      ? `is in charset "${fields.charset}", which is not supported`
      : fields.reason === "MalformedText"
      ? `is not valid ${fields.charset} text`
      : `is not JSON (${fields.cause instanceof Error ? fields.cause.message : String(fields.cause)})`
    super({
      reason: fields.reason,
      response: fields.response,
      cause: fields.cause,
      message: `The body of ${fields.response.url} ${what}`
    })
  }
}

/**
 * The body is JSON, but not what the schema describes; `error` says where it differs.
 *
 * @since 0.1.0
 * @category errors
 */
export class BodySchemaError extends Data.TaggedError("BodySchemaError")<{
  readonly response: URLResponse
  readonly error: ParseResult.ParseError
  readonly message: string
}> {
  constructor(fields: { readonly response: URLResponse; readonly error: ParseResult.ParseError }) {
    super({
      ...fields,
      message: `The body of ${fields.response.url} does not match the schema: ${fields.error.message}`
    })
  }
}

/**
 * An HTTP response whose status is not 2xx, from `filterStatusOk`, with the response and
 * the body it came with (an API's error document, say).
 * Its message reads `http://host/users/7 answered 404 Not Found`.
 *
 * @since 0.1.0
 * @category errors
 */
export class StatusCodeError extends Data.TaggedError("StatusCodeError")<{
  readonly response: HTTPURLResponse
  readonly data: Uint8Array
  readonly message: string
}> {
  constructor(fields: { readonly response: HTTPURLResponse; readonly data: Uint8Array }) {
    const phrase = reasonPhrase(fields.response.statusCode)
    super({
      ...fields,
      message: `${fields.response.url} answered ${fields.response.statusCode}${
        phrase === undefined ? "" : ` ${phrase}`
      }`
    })
  }
}

/**
 * Any failure of this module's helpers.
 *
 * @since 0.1.0
 * @category errors
 */
export type DataResultError = BodyDecodeError | BodySchemaError | StatusCodeError

/**
 * The body as text, decoded by the response's charset (`textEncodingName`), UTF-8 when it
 * names none. An unknown charset or bytes not valid in it fail with `BodyDecodeError`.
 *
 * @example
 * ```ts
 * import { DataResult, URLSession } from "@urlsession/core"
 * import { Effect } from "effect"
 *
 * const page = URLSession.data("http://127.0.0.1:8080/").pipe(Effect.flatMap(DataResult.text))
 * ```
 *
 * @since 0.1.0
 * @category accessors
 */
export const text = (result: DataResult): Effect.Effect<string, BodyDecodeError> =>
  Either.mapLeft(
    decodeText(result.response, result.data, "strict"),
    (failure) => new BodyDecodeError({ ...failure, response: result.response })
  )

/**
 * The body parsed as JSON, after decoding it as `text` does. An empty body is `null`, as
 * `HttpClientResponse.json` has it.
 *
 * @example
 * ```ts
 * import { DataResult, URLSession } from "@urlsession/core"
 * import { Effect } from "effect"
 *
 * const document = URLSession.data("http://127.0.0.1:8080/status.json").pipe(Effect.flatMap(DataResult.json))
 * ```
 *
 * @since 0.1.0
 * @category accessors
 */
export const json = (result: DataResult): Effect.Effect<unknown, BodyDecodeError> =>
  Effect.flatMap(text(result), (body) =>
    Effect.try({
      try: () => body === "" ? null : JSON.parse(body) as unknown,
      catch: (cause) => new BodyDecodeError({ reason: "MalformedJson", response: result.response, cause })
    }))

/**
 * The body parsed as JSON and decoded with `schema`; a body that does not match fails with
 * `BodySchemaError`, which carries the `ParseError`.
 *
 * @example
 * ```ts
 * import { DataResult, URLSession } from "@urlsession/core"
 * import { Effect, Schema } from "effect"
 *
 * const User = Schema.Struct({ id: Schema.Number, name: Schema.String })
 *
 * const user = URLSession.data("http://127.0.0.1:8080/users/7").pipe(
 *   Effect.flatMap(DataResult.schemaJson(User))
 * )
 * ```
 *
 * @since 0.1.0
 * @category accessors
 */
export const schemaJson: {
  <A, I, R>(
    schema: Schema.Schema<A, I, R>
  ): (result: DataResult) => Effect.Effect<A, BodyDecodeError | BodySchemaError, R>
  <A, I, R>(
    result: DataResult,
    schema: Schema.Schema<A, I, R>
  ): Effect.Effect<A, BodyDecodeError | BodySchemaError, R>
} = dual(
  2,
  <A, I, R>(
    result: DataResult,
    schema: Schema.Schema<A, I, R>
  ): Effect.Effect<A, BodyDecodeError | BodySchemaError, R> =>
    Effect.flatMap(json(result), (value) =>
      Effect.mapError(
        Schema.decodeUnknown(schema)(value),
        (error) => new BodySchemaError({ response: result.response, error })
      ))
)

/**
 * Passes a result whose HTTP status is 2xx, and fails any other HTTP status with a
 * `StatusCodeError` carrying the response and its body. A response of another scheme
 * (`file:`, `data:`) has no status and passes.
 *
 * @example
 * ```ts
 * import { DataResult, URLSession } from "@urlsession/core"
 * import { Effect } from "effect"
 *
 * const body = URLSession.data("http://127.0.0.1:8080/report").pipe(
 *   Effect.flatMap(DataResult.filterStatusOk),
 *   Effect.flatMap(DataResult.text),
 *   Effect.catchTag("StatusCodeError", (error) =>
 *     error.response.statusCode === 404 ? Effect.succeed("") : Effect.fail(error))
 * )
 * ```
 *
 * @since 0.1.0
 * @category filtering
 */
export const filterStatusOk = (result: DataResult): Effect.Effect<DataResult, StatusCodeError> =>
  isHTTPURLResponse(result.response) && (result.response.statusCode < 200 || result.response.statusCode > 299)
    ? Effect.fail(new StatusCodeError({ response: result.response, data: result.data }))
    : Effect.succeed(result)
