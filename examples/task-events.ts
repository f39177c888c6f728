/**
 * Watch one task's delegate events as a Stream: subscribe before `resume`, and every event
 * arrives in Apple's order (response, data…, completion).
 *
 *   npx tsx --conditions=source examples/task-events.ts
 */
import { URLSession, URLSessionConfiguration, URLSessionEvent } from "@urlsession/core"
import { NodeURLSession } from "@urlsession/node"
import { Console, Effect, Fiber, Option, Stream } from "effect"
import { pathToFileURL } from "node:url"
import { runWithDemoServer } from "./server.js"

const describe = URLSessionEvent.$match({
  WillPerformHTTPRedirection: ({ newRequest }) => `redirected to ${newRequest.url}`,
  DidReceiveResponse: ({ response }) => `response, ${Option.getOrElse(response.mimeType, () => "no type")}`,
  DidReceiveData: ({ data }) => `${data.byteLength} bytes: ${JSON.stringify(new TextDecoder().decode(data))}`,
  DidBecomeDownloadTask: ({ downloadTask }) => `became download task ${downloadTask.taskIdentifier}`,
  DidResumeAtOffset: ({ fileOffset }) => `resumed at byte ${fileOffset}`,
  DidSendBodyData: ({ totalBytesSent }) => `${totalBytesSent} bytes sent`,
  DidWriteData: ({ totalBytesWritten }) => `${totalBytesWritten} bytes written`,
  DidFinishDownloadingTo: ({ location }) => `downloaded to ${location}`,
  DidCompleteWithError: ({ error }) =>
    Option.match(error, { onNone: () => "completed", onSome: (error) => `failed: ${error.code}` }),
  DidBecomeInvalidWithError: () => "session invalidated",
  DidFinishEventsForBackgroundURLSession: () => "every waiting event delivered"
})

export const taskEvents = (baseURL: string) =>
  Effect.gen(function*() {
    const task = yield* URLSession.dataTask(`${baseURL}/chunks`)
    const watcher = yield* task.events.pipe(
      Stream.runForEach((event) => Console.log(`  task ${task.taskIdentifier}: ${describe(event)}`)),
      Effect.fork
    )
    yield* task.resume
    const { data } = yield* task.await
    yield* Fiber.join(watcher)
    yield* Console.log(`  await gave ${data.byteLength} bytes in all`)
  }).pipe(Effect.provide(NodeURLSession.layer(URLSessionConfiguration.default)))

if (import.meta.url === pathToFileURL(process.argv[1]!).href) await runWithDemoServer(taskEvents)
