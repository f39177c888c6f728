/**
 * Entity tags (RFC 9110 §8.8.3): a weak one (`W/"…"`) says two representations are equivalent,
 * not byte for byte the same, so it cannot validate a byte range (§13.1.5 forbids it in
 * `If-Range`).
 */

/** Is `tag` a strong entity tag, one that may validate a byte range? */
export const isStrong = (tag: string): boolean => !tag.startsWith("W/")
