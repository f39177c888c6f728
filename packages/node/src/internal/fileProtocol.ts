import * as URLError from "@urlsession/core/URLError"
import type { URLProtocol } from "@urlsession/core/URLProtocol"
import { URLResponse } from "@urlsession/core/URLResponse"
import * as Effect from "effect/Effect"
import * as Option from "effect/Option"
import { lookup as mimeTypeOf } from "mime-types"
import * as fs from "node:fs"
import * as path from "node:path"
import { fileURLToPath } from "node:url"
import * as ReadableBody from "./readableBody.js"

/**
 * `file:` URLs: the file is opened (so a missing or unreadable file fails before any
 * response), then streamed from disk as it is pulled, with a MIME type from its extension.
 */
export const fileProtocol: URLProtocol = {
  canInit: (url) => url.protocol === "file:",
  startLoading: (request, url) =>
    Effect.gen(function*() {
      const failure = (error: unknown) => fileError(error, request.url)
      const filePath = yield* Effect.try({ try: () => fileURLToPath(url), catch: failure })
      // Look before opening: opening a FIFO would block a libuv thread until a writer comes,
      // and a device may never end.
      const kind = yield* Effect.tryPromise({ try: () => fs.promises.stat(filePath), catch: failure })
      if (kind.isDirectory()) {
        return yield* Effect.fail(URLError.make("FileIsDirectory", { failingURL: request.url }))
      }
      if (!kind.isFile()) {
        return yield* Effect.fail(URLError.make("CannotOpenFile", {
          failingURL: request.url,
          message: "only regular files can be loaded"
        }))
      }
      const handle = yield* Effect.acquireRelease(
        Effect.tryPromise({ try: () => fs.promises.open(filePath, "r"), catch: failure }),
        (handle) => Effect.promise(() => handle.close().catch(() => undefined))
      )
      const stats = yield* Effect.tryPromise({ try: () => handle.stat(), catch: failure })
      if (stats.isDirectory()) {
        return yield* Effect.fail(URLError.make("FileIsDirectory", { failingURL: request.url }))
      }
      const mimeType = mimeTypeOf(filePath)
      const stream = handle.createReadStream({ autoClose: false, start: 0 })
      yield* Effect.addFinalizer(() => Effect.sync(() => stream.destroy()))
      return ReadableBody.loading(
        new URLResponse({
          url: url.href,
          mimeType: mimeType === false ? Option.some("application/octet-stream") : Option.some(mimeType),
          textEncodingName: Option.none(),
          expectedContentLength: stats.size,
          suggestedFilename: path.basename(filePath)
        }),
        stream,
        failure
      )
    })
}

const codes: Readonly<Record<string, URLError.Code>> = {
  ENOENT: "FileDoesNotExist",
  ENOTDIR: "FileDoesNotExist",
  EISDIR: "FileIsDirectory",
  EACCES: "NoPermissionsToReadFile",
  EPERM: "NoPermissionsToReadFile",
  ERR_INVALID_FILE_URL_HOST: "UnsupportedURL",
  ERR_INVALID_FILE_URL_PATH: "BadURL"
}

const fileError = (error: unknown, failingURL: string): URLError.URLError => {
  const code = (error as { readonly code?: unknown } | null)?.code
  return URLError.make(typeof code === "string" ? codes[code] ?? "CannotOpenFile" : "CannotOpenFile", {
    failingURL,
    cause: error
  })
}
