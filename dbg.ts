import { URLSession, URLSessionConfiguration } from "@urlsession/core"
import { NodeURLSession } from "@urlsession/node"
import { Effect } from "effect"
import * as http from "node:http"
const server = http.createServer((_, res) => res.end("ok"))
server.listen(0, "127.0.0.1", async () => {
  const url = `http://127.0.0.1:${(server.address() as any).port}`
  const r = await Effect.runPromise(Effect.either(URLSession.data(url)).pipe(Effect.provide(NodeURLSession.layer(URLSessionConfiguration.default))))
  console.log(r)
  server.close()
})
