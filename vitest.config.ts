import { fileURLToPath } from "node:url"
import { defineConfig } from "vitest/config"

const source = (pkg: string) => fileURLToPath(new URL(`./packages/${pkg}/src/`, import.meta.url))

export default defineConfig({
  resolve: {
    // Tests run against the TypeScript sources of the workspace packages, not a build.
    alias: [
      { find: /^@urlsession\/(core|node|daemon)$/, replacement: `${source("$1")}index.ts` },
      { find: /^@urlsession\/(core|node|daemon)\/(.*)$/, replacement: `${source("$1")}$2.ts` }
    ]
  },
  test: {
    include: ["test/**/*.test.ts"],
    testTimeout: 20_000,
    hookTimeout: 20_000
  }
})
