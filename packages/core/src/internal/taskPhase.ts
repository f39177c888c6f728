import type * as Exit from "effect/Exit"
import type { URLError } from "../URLError.js"
import type { State } from "../URLSessionTask.js"

/**
 * Where a task is in its life, one phase at a time. Suspension is apart from it: a task
 * suspended by its caller is still loading, only held back.
 *
 * - `Created`: never resumed.
 * - `Loading`: resumed once; waiting for a connection, or loading.
 * - `TimingOut`: the watchdog found a deadline passed and interrupts the load.
 * - `Cancelling`: the caller cancelled; the load is being interrupted.
 * - `Finishing`: the body is complete and the delivery has finished: the task succeeds with
 *   `value` whatever comes (a cancel, a timeout) before its completion is announced.
 * - `HandedOver`: a data task that became a download task; it ends with `Cancelled` and says
 *   nothing more.
 * - `Completing`: its outcome is decided; the last steps (events, the delivery's end) run.
 * - `Completed`: `await` gives `outcome`.
 */
export type Phase<A> =
  | { readonly _tag: "Created" }
  | { readonly _tag: "Loading" }
  | { readonly _tag: "TimingOut"; readonly reason: string }
  | { readonly _tag: "Cancelling" }
  | { readonly _tag: "Finishing"; readonly value: A }
  | { readonly _tag: "HandedOver"; readonly downloadTask: number }
  | { readonly _tag: "Completing"; readonly outcome: Exit.Exit<A, URLError> }
  | { readonly _tag: "Completed"; readonly outcome: Exit.Exit<A, URLError> }

export const created: Phase<never> = { _tag: "Created" }
export const loading: Phase<never> = { _tag: "Loading" }
export const cancelling: Phase<never> = { _tag: "Cancelling" }

/** Has the task's outcome been decided? Nothing can start or change it any more. */
export const isEnded = (phase: Phase<unknown>): boolean => phase._tag === "Completing" || phase._tag === "Completed"

/** Do `resume` and `suspend` still mean something? Not once a cancel or the end has come. */
export const isSuspendable = (phase: Phase<unknown>): boolean => phase._tag !== "Cancelling" && !isEnded(phase)

/** May a cancel still change the outcome? Not once the task finished, handed over or ended. */
export const isCancellable = (phase: Phase<unknown>): boolean =>
  phase._tag === "Created" || phase._tag === "Loading" || phase._tag === "TimingOut"

/** May a passed deadline still fail the task? Only while it loads. */
export const mayTimeOut = (phase: Phase<unknown>): boolean => phase._tag === "Loading"

/** Apple's `state`, from the phase and whether the caller holds the task suspended. */
export const stateOf = (phase: Phase<unknown>, suspended: boolean): State =>
  isEnded(phase) ? "completed" : phase._tag === "Cancelling" ? "canceling" : suspended ? "suspended" : "running"
