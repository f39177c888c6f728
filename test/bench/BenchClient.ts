/**
 * What every benchmarked client implements, in the child process that measures it: the
 * operations of the cases it can take part in. An operation a client leaves out is reported
 * as "not available" rather than measured some other way.
 */

export interface BenchClient {
  /** Sends `count` GETs to `url`, at most `concurrency` at a time, reading each body into
   * memory; resolves with each request's latency in milliseconds. */
  readonly get?: (url: string, count: number, concurrency: number) => Promise<Float64Array>
  /** Downloads `url` into the file `to`, streaming to disk. */
  readonly download?: (url: string, to: string) => Promise<void>
  /** POSTs the file `from` (`size` bytes) to `url`, streaming from disk; resolves with the
   * byte count the server says it read. */
  readonly upload?: (url: string, from: string, size: number) => Promise<number>
  /** Peak RSS of a helper process the last operation ran in (curl), when there is one. */
  readonly helperPeakRss?: () => number | null
  /** Closes the client's connections. */
  readonly close: () => Promise<void>
}

/**
 * Runs `one` `count` times, at most `concurrency` at once, timing each call: the pool every
 * Promise-based client uses for `get`, so they are all driven the same way.
 */
export const timedPool = async (
  count: number,
  concurrency: number,
  one: () => Promise<unknown>
): Promise<Float64Array> => {
  const latencies = new Float64Array(count)
  let next = 0
  const worker = async () => {
    while (next < count) {
      const index = next++
      const start = performance.now()
      await one()
      latencies[index] = performance.now() - start
    }
  }
  await Promise.all(Array.from({ length: Math.min(concurrency, count) }, worker))
  return latencies
}

/** The `{"bytes":n}` the bench server answers an upload with. */
export const uploadedBytes = (json: unknown): number => {
  if (typeof json === "object" && json !== null && "bytes" in json && typeof json.bytes === "number") {
    return json.bytes
  }
  throw new Error(`unexpected upload answer: ${JSON.stringify(json)}`)
}
