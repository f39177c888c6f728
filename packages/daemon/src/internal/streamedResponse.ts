import type * as URLError from "@urlsession/core/URLError"
import type { URLResponse } from "@urlsession/core/URLResponse"
import type { StreamedResponse } from "@urlsession/core/URLSession"
import type * as URLSessionEvent from "@urlsession/core/URLSessionEvent"
import type { URLSessionDataTask } from "@urlsession/core/URLSessionTask"
import * as Deferred from "effect/Deferred"
import * as Effect from "effect/Effect"
import * as Mailbox from "effect/Mailbox"
import * as Option from "effect/Option"
import type * as Scope from "effect/Scope"
import * as Stream from "effect/Stream"

/**
 * `bytes` over a background data task: the head once its `DidReceiveResponse` comes, the
 * body from its `DidReceiveData` events. `subscription` is taken before the task is
 * resumed, so that none of its events is missed; closing the scope cancels the task.
 */
export const streamedResponse = (
  task: URLSessionDataTask,
  subscription: Effect.Effect<Mailbox.ReadonlyMailbox<URLSessionEvent.URLSessionEvent>, never, Scope.Scope>
): Effect.Effect<StreamedResponse, URLError.URLError, Scope.Scope> =>
  Effect.gen(function*() {
    const head = yield* Deferred.make<URLResponse, URLError.URLError>()
    const body = yield* Mailbox.make<Uint8Array, URLError.URLError>()
    const events = yield* subscription
    yield* Effect.addFinalizer(() => task.cancel)
    const ofTask = (event: URLSessionEvent.URLSessionEvent): event is URLSessionEvent.TaskEvent =>
      "taskIdentifier" in event && event.taskIdentifier === task.taskIdentifier
    yield* Effect.forkScoped(
      Mailbox.toStream(events).pipe(
        Stream.filter(ofTask),
        Stream.takeUntil((event) => event._tag === "DidCompleteWithError"),
        Stream.runForEach((event) => {
          switch (event._tag) {
            case "DidReceiveResponse":
              return Deferred.succeed(head, event.response)
            case "DidReceiveData":
              return body.offer(event.data)
            case "DidCompleteWithError":
              return Option.match(event.error, {
                onNone: () => body.end,
                onSome: (error) => Effect.zipRight(Deferred.fail(head, error), body.fail(error))
              })
            default:
              return Effect.void
          }
        })
      )
    )
    yield* task.resume
    const response = yield* Effect.onInterrupt(Deferred.await(head), () => task.cancel)
    return { response, body: Mailbox.toStream(body) }
  })
