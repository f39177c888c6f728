/**
 * `@effect/platform`'s `HttpClient` over undici (`NodeHttpClient.layerUndiciWithoutDispatcher`
 * given an `Agent` capped at 6 connections), in one `ManagedRuntime` like urlsession: the
 * Effect-native client urlsession is compared with. Downloads run the response's `stream`
 * into a file sink; uploads use `HttpClientRequest.bodyFile`.
 */
import * as NodeFileSystem from "@effect/platform-node/NodeFileSystem"
import * as NodeHttpClient from "@effect/platform-node/NodeHttpClient"
import * as NodeSink from "@effect/platform-node/NodeSink"
import * as HttpClient from "@effect/platform/HttpClient"
import * as HttpClientRequest from "@effect/platform/HttpClientRequest"
import { Effect, Layer, ManagedRuntime, Stream } from "effect"
import * as fs from "node:fs"
import { Agent } from "undici"
import { type BenchClient, uploadedBytes } from "../BenchClient.js"
import { timedForEach } from "./timedForEach.js"

export const make = async (): Promise<BenchClient> => {
  const dispatcher = new Agent({ connections: 6 })
  const runtime = ManagedRuntime.make(
    Layer.merge(
      NodeHttpClient.layerUndiciWithoutDispatcher.pipe(
        Layer.provide(Layer.succeed(NodeHttpClient.Dispatcher, dispatcher))
      ),
      NodeFileSystem.layer
    )
  )
  return {
    get: (url, count, concurrency) =>
      runtime.runPromise(
        timedForEach(count, concurrency, Effect.flatMap(HttpClient.get(url), (response) => response.arrayBuffer))
      ),
    download: (url, to) =>
      runtime.runPromise(
        HttpClient.get(url).pipe(
          Effect.flatMap((response) =>
            Stream.run(response.stream, NodeSink.fromWritable(() => fs.createWriteStream(to), (error) => error))
          )
        )
      ),
    upload: (url, from) =>
      runtime.runPromise(
        HttpClientRequest.post(url).pipe(
          HttpClientRequest.bodyFile(from, { contentType: "application/octet-stream" }),
          Effect.flatMap(HttpClient.execute),
          Effect.flatMap((response) => response.json),
          Effect.map(uploadedBytes)
        )
      ),
    close: async () => {
      await runtime.dispose()
      await dispatcher.close()
    }
  }
}
