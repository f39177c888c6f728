/**
 * The matching behind `ScriptedURLProtocol.router`: route keys (`"GET /users/:id"`) parsed
 * once, and a request's method and path matched against them.
 */

/** A route key parsed: its method, and its path as segments (`:name` captures one). */
export interface Pattern<A> {
  readonly key: string
  readonly method: string
  readonly segments: ReadonlyArray<string>
  readonly parametric: boolean
  readonly value: A
}

/** A request matched to a route: its value, and the path's parameters by name. */
export interface Match<A> {
  readonly value: A
  readonly params: Readonly<Record<string, string>>
}

/**
 * Patterns in the order they are tried: a route without parameters before one with (so
 * `GET /users/me` wins over `GET /users/:id` however they are written), then as written.
 */
export const compile = <A>(routes: ReadonlyArray<readonly [string, A]>): ReadonlyArray<Pattern<A>> => {
  const patterns = routes.map(([key, value]): Pattern<A> => {
    const space = key.indexOf(" ")
    const segments = splitPath(space < 0 ? key : key.slice(space + 1).trim())
    return {
      key,
      method: (space < 0 ? "" : key.slice(0, space)).toUpperCase(),
      segments,
      parametric: segments.some((segment) => segment.startsWith(":")),
      value
    }
  })
  return [...patterns.filter((pattern) => !pattern.parametric), ...patterns.filter((pattern) => pattern.parametric)]
}

/** The first pattern that matches `method` and `pathname`, if any. */
export const match = <A>(
  patterns: ReadonlyArray<Pattern<A>>,
  method: string,
  pathname: string
): Match<A> | undefined => {
  const segments = splitPath(pathname)
  for (const pattern of patterns) {
    if (pattern.method !== method || pattern.segments.length !== segments.length) continue
    const params: Record<string, string> = {}
    const matched = pattern.segments.every((expected, index) => {
      const actual = segments[index]!
      if (!expected.startsWith(":")) return expected === actual
      params[expected.slice(1)] = decodeSegment(actual)
      return true
    })
    if (matched) return { value: pattern.value, params }
  }
  return undefined
}

// "/users/1/" and "/users/1" are different resources to a server, so a trailing slash is
// kept as an empty last segment.
const splitPath = (path: string): ReadonlyArray<string> => (path.startsWith("/") ? path.slice(1) : path).split("/")

// A malformed escape is a parameter as it was written, not a thrown URIError.
const decodeSegment = (segment: string): string => {
  try {
    return decodeURIComponent(segment)
  } catch {
    return segment
  }
}
