/**
 * The JSON forms the store holds of wire values (events, requests, responses, resume data,
 * errors): Schema encodings, decoded back when read.
 */
import * as ResumeData from "@urlsession/core/ResumeData"
import { URLError } from "@urlsession/core/URLError"
import * as Effect from "effect/Effect"
import * as Option from "effect/Option"
import type { ParseError } from "effect/ParseResult"
import * as Schema from "effect/Schema"
import { WireEvent, WireRequest, WireResponse } from "./protocol.js"
import type { TaskRecord } from "./records.js"
import { StoreError } from "./store.js"

// A row that no longer decodes is the database's fault, as the store reports its own.
export const unreadable = (error: ParseError) =>
  new StoreError({ reason: "Database", message: `a stored value no longer decodes: ${error.message}`, cause: error })

// Encoding a value this daemon made cannot fail: a failure is a defect.
export const encodeEvent = (event: typeof WireEvent.Type) => Effect.orDie(Schema.encode(WireEvent)(event))

export const decodeEvent = (encoded: unknown) => Effect.mapError(Schema.decodeUnknown(WireEvent)(encoded), unreadable)

export const encodeRequest = (request: typeof WireRequest.Type) => Effect.orDie(Schema.encode(WireRequest)(request))

export const decodeRequest = (encoded: unknown) =>
  Effect.mapError(Schema.decodeUnknown(WireRequest)(encoded), unreadable)

export const encodeResponse = (response: typeof WireResponse.Type) =>
  Effect.orDie(Schema.encode(WireResponse)(response))

export const encodeResumeData = (resumeData: ResumeData.ResumeData) =>
  Effect.orDie(Schema.encode(ResumeData.ResumeData)(resumeData))

/** The resume data of the task's last checkpoint or failure, if it still validates. */
export const storedResumeData = (record: TaskRecord): Effect.Effect<Option.Option<ResumeData.ResumeData>> =>
  record.resumeData === null
    ? Effect.succeedNone
    : ResumeData.validate(record.resumeData).pipe(Effect.asSome, Effect.orElseSucceed(Option.none))

export const encodeError = (error: URLError) => Effect.orDie(Schema.encode(URLError)(error))

export const decodeResponse = (encoded: unknown) =>
  Effect.mapError(Schema.decodeUnknown(WireResponse)(encoded), unreadable)
