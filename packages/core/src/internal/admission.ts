/**
 * How many tasks of one origin run at once, as a multiple of the session's
 * `httpMaximumConnectionsPerHost`: enough that a connection freed always finds the next
 * request already queued in the connection pool, and that tens of tasks at once never wait
 * here (starting a waiting task costs about twice a direct start); few enough that thousands
 * of tasks resumed together wait as plain objects (~2 KiB) rather than as fibers with a
 * request each (~15 KiB).
 */
export const tasksPerConnection = 16

const httpOrigin = /^(https?:\/\/[^/?#]*)/i

/**
 * The origin a task waits its turn for: its URL's scheme and authority, or `undefined` for
 * a URL no connection limit applies to (`data:`, `file:`, anything not http(s)).
 */
export const originOf = (url: string): string | undefined => httpOrigin.exec(url)?.[1]?.toLowerCase()

interface Origin {
  running: number
  // Waiting starts, oldest first from `head` (a queue without `shift`, which copies).
  readonly waiting: Array<(() => boolean) | undefined>
  head: number
}

/**
 * Places per origin: a task takes one when it starts and gives it back when it completes;
 * a task resumed while its origin is full waits, in order, for a place to be given back.
 */
export class Admission {
  private readonly origins = new Map<string, Origin>()

  constructor(private readonly limit: number) {}

  /** Takes a place for `origin` if one is free. */
  tryEnter(origin: string): boolean {
    let entry = this.origins.get(origin)
    if (entry === undefined) {
      entry = { running: 0, waiting: [], head: 0 }
      this.origins.set(origin, entry)
    }
    if (entry.running >= this.limit || entry.head < entry.waiting.length) return false
    entry.running++
    return true
  }

  /**
   * Calls `start` when a place for `origin` is free; `start` gives `false` when it no longer
   * wants it (its task was cancelled meanwhile), and the place goes to the next in line.
   */
  wait(origin: string, start: () => boolean): void {
    this.origins.get(origin)!.waiting.push(start)
  }

  /** Gives a place back: to the next task waiting, if any still wants it. */
  leave(origin: string): void {
    const entry = this.origins.get(origin)
    if (entry === undefined) return
    while (entry.head < entry.waiting.length) {
      const start = entry.waiting[entry.head]!
      entry.waiting[entry.head++] = undefined
      if (start()) return this.compact(entry)
    }
    entry.running--
    if (entry.running === 0) this.origins.delete(origin)
    else this.compact(entry)
  }

  private compact(entry: Origin): void {
    if (entry.head === entry.waiting.length) {
      entry.waiting.length = 0
      entry.head = 0
    } else if (entry.head > 1024 && entry.head * 2 > entry.waiting.length) {
      entry.waiting.splice(0, entry.head)
      entry.head = 0
    }
  }
}
