import * as Option from "effect/Option"

/** Header fields that keep the spelling they were given and are looked up case-insensitively. */
export type HeaderFields = Readonly<Record<string, string>>

export const empty: HeaderFields = {}

const keyOf = (fields: HeaderFields, name: string): string | undefined => {
  const lower = name.toLowerCase()
  for (const key in fields) {
    if (key.toLowerCase() === lower) return key
  }
  return undefined
}

export const get = (fields: HeaderFields, name: string): Option.Option<string> => {
  const key = keyOf(fields, name)
  return key === undefined ? Option.none() : Option.some(fields[key]!)
}

export const has = (fields: HeaderFields, name: string): boolean => keyOf(fields, name) !== undefined

export const set = (fields: HeaderFields, name: string, value: string): HeaderFields => {
  const existing = keyOf(fields, name)
  const next: Record<string, string> = { ...fields }
  if (existing !== undefined) delete next[existing]
  next[name] = value
  return next
}

export const remove = (fields: HeaderFields, name: string): HeaderFields => {
  const existing = keyOf(fields, name)
  if (existing === undefined) return fields
  const next: Record<string, string> = { ...fields }
  delete next[existing]
  return next
}

export const merge = (fields: HeaderFields, overrides: HeaderFields): HeaderFields => {
  let next = fields
  for (const name in overrides) next = set(next, name, overrides[name]!)
  return next
}

/** Fields of `defaults` that `fields` does not set, under `fields` (the request's spelling wins). */
export const withDefaults = (fields: HeaderFields, defaults: HeaderFields): HeaderFields => {
  let next = fields
  for (const name in defaults) {
    if (!has(next, name)) next = { ...next, [name]: defaults[name]! }
  }
  return next
}

/**
 * A Content-Length value as a byte count, or `undefined` when it is not one: RFC 9110 §8.6
 * allows digits only, so a sign, a fraction or a list of lengths is no length.
 */
export const parseContentLength = (value: string): number | undefined => {
  const trimmed = value.trim()
  return /^\d+$/.test(trimmed) ? Number(trimmed) : undefined
}
