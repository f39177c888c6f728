/**
 * The password in a URL's user info, hidden wherever a URL is shown: in error messages, in
 * `failingURL`, in events. Like Go's `URL.Redacted`: the user name stays (it says whose
 * account), the password becomes `***`.
 */

// `scheme://user:password@` anywhere in a text. The user info ends at the last `@` before the
// authority's end (`/`, `?`, `#`, `\`, or white space), as the WHATWG URL parser reads it, so a
// password holding an unescaped `@` is hidden whole.
const userInfoPassword = /([a-z][a-z0-9+.-]*:\/\/[^\s/?#\\:]*):[^\s/?#\\]*@/gi

/** `text` with the password of every URL in it replaced by `***`. */
export const redactPasswords = (text: string): string => text.replace(userInfoPassword, "$1:***@")
