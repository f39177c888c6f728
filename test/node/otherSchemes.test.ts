import { describe, expect, it } from "@effect/vitest"
import { ScriptedURLProtocol, URLResponse, URLSession, URLSessionConfiguration } from "@urlsession/core"
import { NodeURLSession } from "@urlsession/node"
import { Effect, Option } from "effect"
import * as fs from "node:fs"
import * as path from "node:path"
import { pathToFileURL } from "node:url"
import { tempDirectory } from "../fixtures/files.js"
import { httpServer } from "../fixtures/servers.js"
import { canSwitchUser, loadAsNobody, rootOnlyFile } from "../fixtures/unprivileged.js"

const session = NodeURLSession.layer(URLSessionConfiguration.default)
const text = (data: Uint8Array) => new TextDecoder().decode(data)

describe("data: URLs", () => {
  it.scoped.each<readonly [string, string, string, Option.Option<string>]>([
    ["data:,Hello%2C%20World%21", "Hello, World!", "text/plain", Option.some("us-ascii")],
    ["data:text/plain;base64,SGVsbG8sIFdvcmxkIQ==", "Hello, World!", "text/plain", Option.none()],
    ["data:text/html;charset=UTF-8,%3Ch1%3Ehi%3C%2Fh1%3E", "<h1>hi</h1>", "text/html", Option.some("utf-8")],
    ["data:;charset=utf-8;base64,w6k", "é", "text/plain", Option.some("utf-8")],
    ["data:application/json,{\"a\":1}#fragment", "{\"a\":1}", "application/json", Option.none()]
  ])("%s", ([url, body, mimeType, charset]) =>
    Effect.gen(function*() {
      const { data, response } = yield* URLSession.data(url)
      expect(text(data)).toBe(body)
      expect(response.mimeType).toEqual(Option.some(mimeType))
      expect(response.textEncodingName).toEqual(charset)
      expect(response.expectedContentLength).toBe(data.byteLength)
      expect(URLResponse.isHTTPURLResponse(response)).toBe(false)
    }).pipe(Effect.provide(session)))

  it.scoped("percent-encoded bytes are bytes, not UTF-8", () =>
    Effect.gen(function*() {
      const { data } = yield* URLSession.data("data:application/octet-stream,%00%FF%80")
      expect(Array.from(data)).toEqual([0x00, 0xff, 0x80])
    }).pipe(Effect.provide(session)))

  it.scoped.each(["data:text/plain", "data:text/plain;base64,***", "data:not a type,x", "data:,%ZZ"])(
    "%s is malformed: BadURL",
    (url) =>
      Effect.gen(function*() {
        const error = yield* Effect.flip(URLSession.data(url))
        expect(error.code).toBe("BadURL")
        expect(error.failingURL).toBe(url)
      }).pipe(Effect.provide(session))
  )
})

describe("file: URLs", () => {
  it.scoped("a file is streamed from disk with a MIME type from its extension", () =>
    Effect.gen(function*() {
      const directory = yield* tempDirectory
      const file = path.join(directory, "report.json")
      const content = JSON.stringify({ rows: Array.from({ length: 20_000 }, (_, i) => i) })
      fs.writeFileSync(file, content)
      const { data, response } = yield* URLSession.data(pathToFileURL(file))
      expect(text(data)).toBe(content)
      expect(response.mimeType).toEqual(Option.some("application/json"))
      expect(response.expectedContentLength).toBe(Buffer.byteLength(content))
      expect(response.suggestedFilename).toBe("report.json")
    }).pipe(Effect.provide(session)))

  it.scoped("a missing file fails with FileDoesNotExist", () =>
    Effect.gen(function*() {
      const directory = yield* tempDirectory
      const url = pathToFileURL(path.join(directory, "missing.txt")).href
      const error = yield* Effect.flip(URLSession.data(url))
      expect(error.code).toBe("FileDoesNotExist")
      expect(error.errorCode).toBe(-1100)
      expect(error.failingURL).toBe(url)
    }).pipe(Effect.provide(session)))

  it.scoped("a directory fails with FileIsDirectory", () =>
    Effect.gen(function*() {
      const directory = yield* tempDirectory
      const error = yield* Effect.flip(URLSession.data(pathToFileURL(directory)))
      expect(error.code).toBe("FileIsDirectory")
      expect(error.errorCode).toBe(-1101)
    }).pipe(Effect.provide(session)))

  it.live(
    "an unreadable file fails with NoPermissionsToReadFile (loaded as an unprivileged user)",
    () =>
      Effect.gen(function*() {
        if (!canSwitchUser) return
        const file = rootOnlyFile(yield* tempDirectory, "secret.txt")
        expect(yield* loadAsNobody(pathToFileURL(file).href)).toEqual({ ok: false, code: "NoPermissionsToReadFile" })
      }).pipe(Effect.scoped),
    { timeout: 60_000 }
  )
})

describe("protocols of the caller's own", () => {
  it.scoped("an unknown scheme fails with UnsupportedURL", () =>
    Effect.gen(function*() {
      expect((yield* Effect.flip(URLSession.data("myapp://thing"))).code).toBe("UnsupportedURL")
    }).pipe(Effect.provide(session)))

  it.scoped("protocolClasses load their scheme, first match wins, before the built-ins", () =>
    Effect.gen(function*() {
      const server = yield* httpServer((_, response) => response.end("from the network"))
      const mine = ScriptedURLProtocol.make(ScriptedURLProtocol.respond({ body: "from my protocol" }), {
        canInit: (url) => url.protocol === "myapp:" || url.pathname === "/intercepted"
      })
      const second = ScriptedURLProtocol.make(ScriptedURLProtocol.respond({ body: "never asked" }), {
        canInit: (url) => url.protocol === "myapp:"
      })
      const layer = NodeURLSession.layer(URLSessionConfiguration.default.pipe(
        URLSessionConfiguration.with({ protocolClasses: [mine, second] })
      ))
      const load = (url: string) =>
        URLSession.data(url).pipe(Effect.map(({ data }) => text(data)), Effect.provide(layer))
      expect(yield* load("myapp://thing")).toBe("from my protocol")
      expect(yield* load(`${server.url}/intercepted`)).toBe("from my protocol")
      expect(yield* load(`${server.url}/other`)).toBe("from the network")
    }))
})
