import type { PlatformError } from "@effect/platform/Error"
import type * as FileSystem from "@effect/platform/FileSystem"
import * as Effect from "effect/Effect"
import * as Option from "effect/Option"
import * as Predicate from "effect/Predicate"
import * as Stream from "effect/Stream"
import * as URLError from "../URLError.js"
import * as URLRequest from "../URLRequest.js"
import type { UploadBody } from "../URLSessionTask.js"

/** Where an upload task's body comes from. */
export type UploadSource =
  | { readonly _tag: "Bytes"; readonly bytes: Uint8Array }
  | { readonly _tag: "File"; readonly path: string }
  /** `None`: the delegate's `needNewBodyStream` gives the first stream too. */
  | { readonly _tag: "Stream"; readonly stream: Option.Option<Stream.Stream<Uint8Array, unknown>> }

/** What a session needs to upload files. */
export interface UploadFiles {
  readonly fileSystem: FileSystem.FileSystem
  /** The MIME type for a file name's extension, if known. */
  readonly mimeTypeOf: (path: string) => Option.Option<string>
}

export const fromBody = (body: UploadBody): UploadSource =>
  body instanceof Uint8Array
    ? { _tag: "Bytes", bytes: body }
    : Predicate.hasProperty(body, Stream.StreamTypeId)
    ? { _tag: "Stream", stream: Option.some(body as Stream.Stream<Uint8Array, unknown>) }
    : { _tag: "File", path: (body as { readonly file: string }).file }

// Large reads: a file is sent as fast as the socket takes it, and each chunk costs a
// round through the runtime.
const fileChunkSize = 256 * 1024

/**
 * The request with the upload's body, for its first send. A file is opened first (so that a
 * missing or unreadable one fails before anything is sent) and is sent with its length and,
 * unless the request names one, a `Content-Type` from its extension.
 */
export const attach = (
  source: UploadSource,
  request: URLRequest.URLRequest,
  options: {
    readonly files: UploadFiles | undefined
    readonly needNewBodyStream: Effect.Effect<Option.Option<Stream.Stream<Uint8Array, unknown>>>
  }
): Effect.Effect<URLRequest.URLRequest, URLError.URLError> => {
  switch (source._tag) {
    case "Bytes":
      return Effect.succeed(URLRequest.setBody(request, source.bytes))
    case "Stream":
      return Option.match(source.stream, {
        onNone: () => renewStream(request, options.needNewBodyStream),
        onSome: (stream) => Effect.succeed(URLRequest.setBodyStream(request, stream))
      })
    case "File":
      return options.files === undefined
        ? Effect.dieMessage("URLSession: this session has no file system to upload from")
        : attachFile(options.files, source.path, request)
  }
}

/** A stream body that must be sent again, replaced by the delegate's new stream. */
export const renewStream = (
  request: URLRequest.URLRequest,
  needNewBodyStream: Effect.Effect<Option.Option<Stream.Stream<Uint8Array, unknown>>>
): Effect.Effect<URLRequest.URLRequest, URLError.URLError> =>
  Effect.flatMap(needNewBodyStream, (stream) =>
    Option.match(stream, {
      onNone: () =>
        Effect.fail(URLError.make("RequestBodyStreamExhausted", {
          failingURL: request.url,
          message: "the body stream must be sent (again) and the delegate's needNewBodyStream gave none"
        })),
      onSome: (stream) => Effect.succeed(URLRequest.setBodyStream(request, stream))
    }))

const attachFile = (files: UploadFiles, path: string, request: URLRequest.URLRequest) =>
  Effect.gen(function*() {
    const failure = (code: URLError.Code) => (cause?: unknown) =>
      URLError.make(code, { failingURL: request.url, message: `cannot upload the file ${path}`, cause })
    const fileError = (error: PlatformError) =>
      failure(
        error._tag === "SystemError" && error.reason === "PermissionDenied"
          ? "NoPermissionsToReadFile"
          : error._tag === "SystemError" && error.reason === "NotFound"
          ? "FileDoesNotExist"
          : "CannotOpenFile"
      )(error)
    // Look before opening: opening a FIFO would block until a writer comes.
    const info = yield* Effect.mapError(files.fileSystem.stat(path), fileError)
    if (info.type === "Directory") return yield* Effect.fail(failure("FileIsDirectory")())
    if (info.type !== "File") return yield* Effect.fail(failure("CannotOpenFile")())
    yield* files.fileSystem.open(path, { flag: "r" }).pipe(Effect.scoped, Effect.mapError(fileError))
    const size = Number(info.size)
    const contentType = Option.orElse(URLRequest.header(request, "Content-Type"), () =>
      Option.orElseSome(files.mimeTypeOf(path), () => "application/octet-stream"))
    return URLRequest.setHeaders(
      URLRequest.setBodyStream(request, files.fileSystem.stream(path, { chunkSize: fileChunkSize })),
      { "Content-Length": String(size), "Content-Type": Option.getOrThrow(contentType) }
    )
  })

/**
 * The body a task sends, request after request: the upload's own on the first, and in place
 * of a stream already sent (a 307 or 308 sends the body again) the delegate's new one. A
 * file's stream reads the file afresh each time it runs, so it is sent again as it is.
 */
export class BodySends {
  private lastSent: unknown = undefined
  private reusable: unknown = undefined

  constructor(
    private readonly upload: UploadSource | undefined,
    private readonly files: UploadFiles | undefined,
    private readonly needNewBodyStream: Effect.Effect<Option.Option<Stream.Stream<Uint8Array, unknown>>>
  ) {}

  /** The first request, with the upload's body. */
  first(request: URLRequest.URLRequest): Effect.Effect<URLRequest.URLRequest, URLError.URLError> {
    const upload = this.upload
    if (upload === undefined) return Effect.succeed(request)
    return Effect.map(
      attach(upload, request, { files: this.files, needNewBodyStream: this.needNewBodyStream }),
      (attached) => {
        if (upload._tag === "File") this.reusable = Option.getOrUndefined(attached.bodyStream)
        return attached
      }
    )
  }

  /** `request` about to be sent, with a body stream that has not been sent yet. */
  fresh(request: URLRequest.URLRequest): Effect.Effect<URLRequest.URLRequest, URLError.URLError> {
    const renew = Option.isSome(request.bodyStream) && request.bodyStream.value === this.lastSent &&
      this.lastSent !== this.reusable
    if (!renew && Option.isNone(request.bodyStream)) {
      this.lastSent = undefined
      return Effect.succeed(request)
    }
    return Effect.map(
      renew ? renewStream(request, this.needNewBodyStream) : Effect.succeed(request),
      (fresh) => {
        this.lastSent = Option.getOrUndefined(fresh.bodyStream)
        return fresh
      }
    )
  }
}
