/**
 * Test an Effect program that uses URLSession without any network: provide a session whose
 * loads a script answers. The script can answer, wait (on Effect's Clock, so TestClock
 * drives it), fail with any NSURLError code, or cut a body short.
 *
 *   npx tsx --conditions=source examples/testing-without-network.ts
 *
 * `test/core/ScriptedURLProtocol.test.ts` runs the same program under TestClock.
 */
import { ScriptedURLProtocol, URLError, URLSession, URLSessionConfiguration } from "@urlsession/core"
import { Console, Effect } from "effect"
import { pathToFileURL } from "node:url"

/** The program under test: the greeting of a service, or a fallback when it is down or slow. */
export const greeting = Effect.gen(function*() {
  const { data } = yield* URLSession.data("https://greeter.example/hello")
  return (JSON.parse(new TextDecoder().decode(data)) as { readonly greeting: string }).greeting
}).pipe(
  URLError.catchCodes({
    TimedOut: () => Effect.succeed("(the greeter is too slow)"),
    CannotConnectToHost: () => Effect.succeed("(the greeter is down)"),
    NetworkConnectionLost: () => Effect.succeed("(the greeting was cut off)")
  })
)

/** Sessions for each scenario; the 2-second timeout makes the slow one fail. */
const configuration = URLSessionConfiguration.default.pipe(
  URLSessionConfiguration.with({ timeoutIntervalForRequest: "2 seconds" })
)
const body = JSON.stringify({ greeting: "hello from the script" })

export const scenarios = {
  answers: ScriptedURLProtocol.layer(ScriptedURLProtocol.respond({ body }), configuration),
  isDown: ScriptedURLProtocol.layer(ScriptedURLProtocol.fail("CannotConnectToHost"), configuration),
  isSlow: ScriptedURLProtocol.layer(ScriptedURLProtocol.respond({ body, delay: "5 seconds" }), configuration),
  cutsOff: ScriptedURLProtocol.layer(ScriptedURLProtocol.respond({ body, cutAfter: 10 }), configuration)
}

export const testingWithoutNetwork = Effect.forEach(
  Object.entries(scenarios),
  ([name, session]) =>
    Effect.flatMap(Effect.provide(greeting, session), (result) => Console.log(`  ${name}: ${result}`))
)

if (import.meta.url === pathToFileURL(process.argv[1]!).href) await Effect.runPromise(testingWithoutNetwork)
