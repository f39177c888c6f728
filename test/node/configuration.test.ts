/**
 * What a session layer takes as its configuration, and what it refuses: nothing means the
 * default configuration, an object of overrides changes the default one, and a
 * configuration no session can run with fails the layer with `InvalidConfiguration`, naming
 * every field at fault, before anything is made on disk.
 */
import { FileSystem } from "@effect/platform"
import { NodeFileSystem } from "@effect/platform-node"
import { describe, expect, it } from "@effect/vitest"
import { URLError, URLSession, URLSessionConfiguration } from "@urlsession/core"
import { NodeURLSession } from "@urlsession/node"
import { Duration, Effect, Layer, Option } from "effect"
import * as fs from "node:fs"
import * as path from "node:path"
import { tempDirectory } from "../fixtures/files.js"
import { httpServer, readBody } from "../fixtures/servers.js"

const hello = httpServer((_, response) => response.end("hello"))

const buildFailure = <E>(layer: Layer.Layer<URLSession.URLSession, E>) => Effect.flip(Effect.scoped(Layer.build(layer)))

describe("NodeURLSession.layer configuration", () => {
  it.scoped("layer() with no argument runs the default configuration", () =>
    Effect.gen(function*() {
      const server = yield* hello
      const { data } = yield* URLSession.data(`${server.url}/`).pipe(Effect.provide(NodeURLSession.layer()))
      expect(new TextDecoder().decode(data)).toBe("hello")
      const configuration = yield* Effect.map(URLSession.URLSession, (session) => session.configuration).pipe(
        Effect.provide(NodeURLSession.layer())
      )
      expect(configuration.httpMaximumConnectionsPerHost).toBe(6)
      expect(Duration.toSeconds(configuration.timeoutIntervalForRequest)).toBe(60)
    }))

  it.scoped("layer(overrides) changes the default configuration", () =>
    Effect.gen(function*() {
      const server = yield* hello
      const session = NodeURLSession.layer({ timeoutIntervalForRequest: "1 second", httpMaximumConnectionsPerHost: 2 })
      const configuration = yield* Effect.map(URLSession.URLSession, (session) => session.configuration).pipe(
        Effect.provide(session)
      )
      expect(Duration.toMillis(configuration.timeoutIntervalForRequest)).toBe(1000)
      expect(configuration.httpMaximumConnectionsPerHost).toBe(2)
      expect(configuration.identifier).toEqual(Option.none())
      const { data } = yield* URLSession.data(`${server.url}/`).pipe(Effect.provide(session))
      expect(new TextDecoder().decode(data)).toBe("hello")
    }))

  it.scoped("layerHttpClient takes overrides too", () =>
    Effect.gen(function*() {
      const configuration = yield* Effect.map(URLSession.URLSession, (session) => session.configuration).pipe(
        Effect.provide(NodeURLSession.layerHttpClient({ httpMaximumConnectionsPerHost: 3 }))
      )
      expect(configuration.httpMaximumConnectionsPerHost).toBe(3)
    }))

  it.scoped("a layer of an invalid configuration fails with InvalidConfiguration naming every field at fault", () =>
    Effect.gen(function*() {
      const error = yield* buildFailure(NodeURLSession.layer({
        httpMaximumConnectionsPerHost: 0,
        timeoutIntervalForRequest: -1,
        timeoutIntervalForResource: "-3 seconds",
        baseURL: "/relative"
      }))
      expect(error).toBeInstanceOf(URLSessionConfiguration.InvalidConfiguration)
      if (!(error instanceof URLSessionConfiguration.InvalidConfiguration)) return
      expect(error.problems.map(({ field, value }) => [field, value])).toEqual([
        ["timeoutIntervalForRequest", -1],
        ["timeoutIntervalForResource", "-3 seconds"],
        ["httpMaximumConnectionsPerHost", 0],
        ["baseURL", "/relative"]
      ])
      expect(error.message).toContain("httpMaximumConnectionsPerHost is 0: it must be a positive integer")
      expect(error.message).toContain(
        `timeoutIntervalForResource is "-3 seconds": it must be a duration longer than zero`
      )
      expect(error.message).toContain(`baseURL is "/relative": it must be an absolute URL`)
    }))

  it.scoped("an invalid identifier fails the layer with InvalidConfiguration, and nothing is made on disk", () =>
    Effect.gen(function*() {
      const directory = yield* tempDirectory
      const downloads = path.join(directory, "downloads")
      const error = yield* buildFailure(
        NodeURLSession.layer(URLSessionConfiguration.background("../../x"), { downloadsDirectory: downloads })
      )
      expect(error).toBeInstanceOf(URLSessionConfiguration.InvalidConfiguration)
      expect(error).toMatchObject({ field: "identifier" })
      expect(error.message).toContain(`identifier is "../../x"`)
      expect(fs.existsSync(downloads)).toBe(false)
    }))

  it.scoped("a foreground configuration carrying an invalid identifier anyway fails the same way", () =>
    Effect.gen(function*() {
      const forged: URLSessionConfiguration.URLSessionConfiguration = Object.assign(
        Object.create(Object.getPrototypeOf(URLSessionConfiguration.default)),
        URLSessionConfiguration.default,
        { identifier: Option.some("../../x") }
      )
      // A forged foreground configuration with an identifier is a background one: the
      // daemon is never asked, validation comes first.
      const error = yield* buildFailure(NodeURLSession.layer(forged))
      expect(error).toMatchObject({ _tag: "InvalidConfiguration", field: "identifier" })
    }))

  it.scoped("a valid layer's failures are still URLErrors", () =>
    Effect.gen(function*() {
      const error = yield* Effect.flip(
        URLSession.data("http://127.0.0.1:1/").pipe(Effect.provide(NodeURLSession.layer()))
      )
      expect(error).toBeInstanceOf(URLError.URLError)
    }))
})

describe("NodeURLSession.layer services from the environment", () => {
  // NodeFileSystem, writing down each call and the paths it was given.
  const recordingFileSystem = (calls: Array<string>) =>
    Layer.effect(
      FileSystem.FileSystem,
      Effect.map(FileSystem.FileSystem, (fileSystem) =>
        new Proxy(fileSystem, {
          get: (target, key, receiver) => {
            const value: unknown = Reflect.get(target, key, receiver)
            if (typeof value !== "function") return value
            return (...args: Array<unknown>) => {
              calls.push([String(key), ...args.filter((arg) => typeof arg === "string")].join(" "))
              return value.apply(target, args)
            }
          }
        }))
    ).pipe(Layer.provide(NodeFileSystem.layer))

  it.scoped("a FileSystem in the environment reads an upload's file and moves a download", () =>
    Effect.gen(function*() {
      const directory = yield* tempDirectory
      const file = path.join(directory, "upload.txt")
      fs.writeFileSync(file, "from the file")
      const to = path.join(directory, "downloaded.txt")
      const server = yield* httpServer((request, response) => {
        void readBody(request).then((body) => response.end(request.method === "POST" ? `got ${body}` : "download me"))
      })
      const calls: Array<string> = []
      const session = NodeURLSession.layer().pipe(Layer.provide(recordingFileSystem(calls)))
      const { data } = yield* URLSession.upload(`${server.url}/`, { file }).pipe(Effect.provide(session))
      expect(new TextDecoder().decode(data)).toBe("got from the file")
      expect(calls.some((call) => call.endsWith(` ${file}`))).toBe(true)
      calls.length = 0
      yield* Effect.scoped(URLSession.download(`${server.url}/`, { to })).pipe(Effect.provide(session))
      expect(fs.readFileSync(to, "utf8")).toBe("download me")
      expect(calls.some((call) => call.startsWith("rename ") && call.endsWith(` ${to}`))).toBe(true)
    }))
})
