/**
 * The leases on background sessions: one holder (a client connection) per identifier at a
 * time, across every connection.
 */
import * as URLError from "@urlsession/core/URLError"
import * as Effect from "effect/Effect"
import type * as Scope from "effect/Scope"

export interface Leases {
  /** Takes the lease for `holder` until the scope closes; fails with
   * `BackgroundSessionInUseByAnotherProcess` while another holds it. */
  readonly take: (identifier: string, holder: number) => Effect.Effect<void, URLError.URLError, Scope.Scope>
  readonly holds: (identifier: string, holder: number) => Effect.Effect<boolean>
  readonly isHeld: (identifier: string) => boolean
}

export const make = (): Leases => {
  const holders = new Map<string, number>()
  return {
    take: (identifier, holder) =>
      Effect.acquireRelease(
        Effect.suspend(() =>
          holders.has(identifier)
            ? Effect.fail(URLError.make("BackgroundSessionInUseByAnotherProcess", {
              message: `another process is attached to the background session ${JSON.stringify(identifier)}`
            }))
            : Effect.sync(() => void holders.set(identifier, holder))
        ),
        () => Effect.sync(() => holders.get(identifier) === holder && holders.delete(identifier))
      ),
    holds: (identifier, holder) => Effect.sync(() => holders.get(identifier) === holder),
    isHeld: (identifier) => holders.has(identifier)
  }
}
