import * as FiberRef from "effect/FiberRef"
import * as Option from "effect/Option"
import type { ResumeData } from "../ResumeData.js"

/**
 * Resume data that `download` goes on from instead of starting again, when it was made for
 * the URL asked for: set by `retryDownload` around each attempt after the first.
 */
export const resumeFrom: FiberRef.FiberRef<Option.Option<ResumeData>> = FiberRef.unsafeMake(
  Option.none<ResumeData>()
)
