import { describe, expect, it } from "@effect/vitest"
import type { URLResponse } from "@urlsession/core"
import { URLError, URLSession, URLSessionConfiguration } from "@urlsession/core"
import { NodeURLSession } from "@urlsession/node"
import { Effect } from "effect"
import { beforeAll } from "vitest"
import { makeTestCertificates, type TestCertificates } from "../fixtures/certificates.js"
import { httpServer, httpsServer } from "../fixtures/servers.js"

let certificates: TestCertificates
beforeAll(async () => {
  certificates = await makeTestCertificates()
})

const trusting = (...pems: ReadonlyArray<string>) =>
  NodeURLSession.layer(
    URLSessionConfiguration.default.pipe(URLSessionConfiguration.with({ trustedCertificates: pems }))
  )

const hello = (_: unknown, response: { end: (body: string) => void }) => response.end("secure hello")

const failureAgainst = (certificate: { readonly cert: string; readonly key: string }, trusted: ReadonlyArray<string>) =>
  Effect.gen(function*() {
    const server = yield* httpsServer({ cert: certificate.cert, key: certificate.key }, hello)
    const error = yield* URLSession.data(`${server.url}/`).pipe(Effect.flip, Effect.provide(trusting(...trusted)))
    expect(error.failingURL).toBe(`${server.url}/`)
    return error.code
  })

describe("HTTPS", () => {
  it.scoped("loads from a server whose self-signed certificate the configuration trusts", () =>
    Effect.gen(function*() {
      const server = yield* httpsServer({ cert: certificates.valid.cert, key: certificates.valid.key }, hello)
      const { data, response } = yield* URLSession.data(`${server.url}/`).pipe(
        Effect.provide(trusting(certificates.valid.cert))
      )
      expect(new TextDecoder().decode(data)).toBe("secure hello")
      expect((response as URLResponse.HTTPURLResponse).statusCode).toBe(200)
    }))

  it.scoped("ServerCertificateUntrusted (-1202): a self-signed certificate nobody trusts", () =>
    Effect.gen(function*() {
      expect(yield* failureAgainst(certificates.valid, [])).toBe("ServerCertificateUntrusted")
    }))

  it.scoped("ServerCertificateUntrusted (-1202): a trusted certificate for another host name", () =>
    Effect.gen(function*() {
      expect(yield* failureAgainst(certificates.otherHost, [certificates.otherHost.cert])).toBe(
        "ServerCertificateUntrusted"
      )
    }))

  it.scoped("ServerCertificateHasBadDate (-1201): an expired certificate", () =>
    Effect.gen(function*() {
      expect(yield* failureAgainst(certificates.expired, [certificates.expired.cert])).toBe(
        "ServerCertificateHasBadDate"
      )
    }))

  it.scoped("ServerCertificateNotYetValid (-1204): a certificate valid from tomorrow", () =>
    Effect.gen(function*() {
      expect(yield* failureAgainst(certificates.notYetValid, [certificates.notYetValid.cert])).toBe(
        "ServerCertificateNotYetValid"
      )
    }))

  it.scoped("ServerCertificateHasUnknownRoot (-1203): signed by a CA the session does not know", () =>
    Effect.gen(function*() {
      expect(yield* failureAgainst(certificates.signedByUnknownCA, [])).toBe("ServerCertificateHasUnknownRoot")
    }))

  it.scoped("SecureConnectionFailed (-1200): the server does not speak TLS", () =>
    Effect.gen(function*() {
      const server = yield* httpServer((_, response) => response.end("plain"))
      const url = server.url.replace("http:", "https:") + "/"
      const error = yield* URLSession.data(url).pipe(Effect.flip, Effect.provide(trusting()))
      expect(error.code).toBe("SecureConnectionFailed")
      expect(error.errorCode).toBe(-1200)
      expect(error.failingURL).toBe(url)
    }))

  it.scoped("ClientCertificateRequired (-1206): the server demands a client certificate", () =>
    Effect.gen(function*() {
      const server = yield* httpsServer({
        cert: certificates.valid.cert,
        key: certificates.valid.key,
        requestCert: true,
        rejectUnauthorized: true,
        ca: [certificates.unknownCA.cert]
      }, hello)
      const error = yield* URLSession.data(`${server.url}/`).pipe(
        Effect.flip,
        Effect.provide(trusting(certificates.valid.cert))
      )
      expect(error).toBeInstanceOf(URLError.URLError)
      expect(error.code).toBe("ClientCertificateRequired")
    }))
})
