/**
 * A task's row as the wire shows it: a `TaskSnapshot`.
 */
import * as Effect from "effect/Effect"
import * as Option from "effect/Option"
import type { TaskSnapshot } from "./protocol.js"
import type { TaskRecord } from "./records.js"
import type { StoreError } from "./store.js"
import { decodeRequest, decodeResponse } from "./storedForms.js"

export const taskSnapshot = (record: TaskRecord): Effect.Effect<typeof TaskSnapshot.Type, StoreError> =>
  Effect.gen(function*() {
    const request = yield* decodeRequest(record.originalRequest)
    const response = record.response === null
      ? Option.none()
      : Option.some(yield* decodeResponse(record.response))
    return {
      taskIdentifier: record.taskIdentifier,
      kind: record.kind,
      state: record.state,
      taskDescription: record.taskDescription,
      originalRequest: request,
      currentRequest: request,
      response,
      countOfBytesReceived: record.countOfBytesReceived,
      countOfBytesExpectedToReceive: record.countOfBytesExpectedToReceive,
      countOfBytesSent: record.countOfBytesSent,
      countOfBytesExpectedToSend: record.countOfBytesExpectedToSend
    }
  })
