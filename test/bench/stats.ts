/** Order statistics for the bench's figures. */

const sorted = (values: ArrayLike<number>): Float64Array => Float64Array.from(values).sort()

/** The nearest-rank percentile (`p` in 0..100) of `values`; NaN when there are none. */
export const percentile = (values: ArrayLike<number>, p: number): number => {
  if (values.length === 0) return Number.NaN
  const ordered = sorted(values)
  const rank = Math.min(ordered.length - 1, Math.max(0, Math.ceil((p / 100) * ordered.length) - 1))
  return ordered[rank] ?? Number.NaN
}

/** The median (the mean of the middle two for an even count); NaN when there are none. */
export const median = (values: ArrayLike<number>): number => {
  if (values.length === 0) return Number.NaN
  const ordered = sorted(values)
  const middle = ordered.length >> 1
  return ordered.length % 2 === 1
    ? ordered[middle] ?? Number.NaN
    : ((ordered[middle - 1] ?? Number.NaN) + (ordered[middle] ?? Number.NaN)) / 2
}

export const min = (values: ReadonlyArray<number>): number => values.length === 0 ? Number.NaN : Math.min(...values)

export const max = (values: ReadonlyArray<number>): number => values.length === 0 ? Number.NaN : Math.max(...values)
