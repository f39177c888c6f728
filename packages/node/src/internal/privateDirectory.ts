/**
 * The rule for a directory of our own, and for the files we write in it.
 *
 * A private directory is made 0700 where it is missing, and used only if it is a real
 * directory (not a symbolic link), owned by this process's user and writable by nobody else:
 * another local user who could create it first, or write into it, could put links where our
 * files go and have us write wherever they point. A directory that breaks the rule is
 * refused, never repaired: nothing tells what was done in it meanwhile.
 *
 * Files in it are opened without following links (`O_NOFOLLOW`, which `@effect/platform`'s
 * `FileSystem` cannot ask for), and only a regular file with no other name (one hard link)
 * is written to. The downloads directory follows this rule; the stores and the transfer
 * daemon are to follow the same one for theirs.
 */
import { type PlatformError, SystemError, type SystemErrorReason } from "@effect/platform/Error"
import type { PartialFile, PartialFileMode } from "@urlsession/core/DownloadStorage"
import * as Effect from "effect/Effect"
import type * as Scope from "effect/Scope"
import * as fs from "node:fs"

// POSIX owners and mode bits: Windows has neither (its ACLs are another matter), so there
// only the link check applies.
const uid = process.getuid?.()

/**
 * Makes `directory` (mode 0700, with any missing parents) unless it exists, then checks it:
 * it must be a directory, not a link to one, owned by us, writable by neither its group nor
 * others. Fails with a `SystemError` whose `description` says, naming the directory, what
 * is wrong ("the directory /tmp/urlsession-0 is owned by uid 65534, not 0").
 */
export const ensure = (directory: string): Effect.Effect<void, PlatformError> => {
  const named = `the directory ${directory}`
  return call<string | undefined>(
    "makeDirectory",
    directory,
    (done) => fs.mkdir(directory, { recursive: true, mode: 0o700 }, done),
    named
  ).pipe(
    Effect.zipRight(call<fs.Stats>("makeDirectory", directory, (done) => fs.lstat(directory, done), named)),
    Effect.flatMap((stats) => {
      const problem = directoryProblem(stats)
      return problem === undefined
        ? Effect.void
        : Effect.fail(refused("makeDirectory", directory, `${named} ${problem}`))
    })
  )
}

const directoryProblem = (stats: fs.Stats): string | undefined => {
  if (stats.isSymbolicLink()) return "is a symbolic link"
  if (!stats.isDirectory()) return "is not a directory"
  if (uid === undefined) return undefined
  if (stats.uid !== uid) return `is owned by uid ${stats.uid}, not ${uid}`
  if ((stats.mode & 0o022) !== 0) {
    const writers = [(stats.mode & 0o020) !== 0 ? "its group" : "", (stats.mode & 0o002) !== 0 ? "others" : ""]
    return `is writable by ${writers.filter(Boolean).join(" and ")} (mode ${(stats.mode & 0o7777).toString(8)})`
  }
  return undefined
}

const { O_APPEND, O_CREAT, O_EXCL, O_NOFOLLOW = 0, O_NONBLOCK = 0, O_WRONLY } = fs.constants

// Every write goes at the end. O_NONBLOCK: a FIFO planted under the name fails the open at
// once instead of waiting for a reader (regular files ignore the flag).
const openFlags: Record<PartialFileMode, number> = {
  create: O_WRONLY | O_APPEND | O_CREAT | O_EXCL | O_NOFOLLOW,
  open: O_WRONLY | O_APPEND | O_NOFOLLOW | O_NONBLOCK,
  openOrCreate: O_WRONLY | O_APPEND | O_CREAT | O_NOFOLLOW | O_NONBLOCK
}

/**
 * Opens `path` for writing at its end, without following a link under its name, and only if
 * it is a regular file with one hard link; closed with the scope.
 */
export const openFile = (path: string, mode: PartialFileMode): Effect.Effect<PartialFile, PlatformError, Scope.Scope> =>
  Effect.acquireRelease(
    call<number>("open", path, (done) => fs.open(path, openFlags[mode], 0o666, done)),
    (fd) => Effect.async<void>((resume) => fs.close(fd, () => resume(Effect.void)))
  ).pipe(
    Effect.flatMap((fd) =>
      Effect.flatMap(call<fs.Stats>("open", path, (done) => fs.fstat(fd, done)), (stats) => {
        if (!stats.isFile()) return Effect.fail(refused("open", path, "it is not a regular file"))
        // Another name for the same file could be anywhere: writing would change it there too.
        if (stats.nlink !== 1) return Effect.fail(refused("open", path, `it has ${stats.nlink} hard links`))
        return Effect.succeed<PartialFile>({
          size: stats.size,
          truncate: (length) =>
            call<void>("truncate", path, (done) => fs.ftruncate(fd, length, (error) => done(error, undefined))),
          writeAll: (chunk) => writeAll(fd, path, chunk),
          sync: call<void>("sync", path, (done) => fs.fsync(fd, (error) => done(error, undefined)))
        })
      })
    )
  )

const writeAll = (fd: number, path: string, chunk: Uint8Array): Effect.Effect<void, PlatformError> =>
  Effect.async((resume) => {
    const writeFrom = (offset: number) =>
      fs.write(fd, chunk, offset, chunk.byteLength - offset, null, (error, written) => {
        if (error) return resume(Effect.fail(fromErrno("writeAll", path, error)))
        if (written === 0) {
          return resume(Effect.fail(refused("writeAll", path, "write returned 0 bytes written", "WriteZero")))
        }
        if (offset + written < chunk.byteLength) return writeFrom(offset + written)
        resume(Effect.void)
      })
    writeFrom(0)
  })

// `subject`: what the error's description is about ("it", the file, unless told).
const call = <A>(
  method: string,
  path: string,
  run: (done: (error: NodeJS.ErrnoException | null, value: A) => void) => void,
  subject?: string
): Effect.Effect<A, PlatformError> =>
  Effect.async((resume) =>
    run((error, value) => resume(error ? Effect.fail(fromErrno(method, path, error, subject)) : Effect.succeed(value)))
  )

const refused = (method: string, path: string, description: string, reason: SystemErrorReason = "PermissionDenied") =>
  new SystemError({ module: "FileSystem", method, reason, pathOrDescriptor: path, description })

// The platform's errors in plain words (its own stay in the cause). O_NOFOLLOW reports a link
// as ELOOP ("too many symbolic links"), and O_NONBLOCK a FIFO without a reader as ENXIO.
const errnos: Readonly<Record<string, readonly [SystemErrorReason, string]>> = {
  ENOENT: ["NotFound", "does not exist"],
  ENOTDIR: ["NotFound", "has a path through something that is not a directory"],
  EEXIST: ["AlreadyExists", "is taken by something else"],
  EACCES: ["PermissionDenied", "is not ours to use (permission denied)"],
  EPERM: ["PermissionDenied", "is not ours to use (operation not permitted)"],
  EROFS: ["PermissionDenied", "is on a read-only file system"],
  ENOSPC: ["Unknown", "is on a full disk"],
  ELOOP: ["BadResource", "is a symbolic link"],
  ENXIO: ["BadResource", "is not a regular file"]
}

const fromErrno = (method: string, path: string, error: NodeJS.ErrnoException, subject = "it") => {
  const [reason, what] = errnos[error.code ?? ""] ?? ["Unknown", `cannot be used (${error.code})`]
  return new SystemError({
    module: "FileSystem",
    method,
    reason,
    pathOrDescriptor: path,
    syscall: error.syscall,
    description: `${subject} ${what}`,
    cause: error
  })
}
