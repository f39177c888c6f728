/**
 * The daemon's store, against a real SQLite file in a state directory of the test's own:
 * sessions, idempotent task creation, updates and their events in one transaction, the
 * event log's order, and acknowledgement.
 */
import { describe, expect, it } from "@effect/vitest"
import { StateDirectory, Store } from "@urlsession/daemon"
import { Effect, Exit, Layer, Option, TestClock } from "effect"
import * as fs from "node:fs"
import * as path from "node:path"
import { tempDirectory } from "../fixtures/files.js"

const session = "com.example.sync"
const configuration = { version: 1, identifier: session, httpMaximumConnectionsPerHost: 6 }
const request = { url: "https://example.com/a.bin", method: "GET", headers: {} }

/** The store in `directory`, for the scope of `effect`. */
const withStore = <A, E>(directory: string, effect: Effect.Effect<A, E, Store.Store>) =>
  Effect.provide(effect, Store.layer.pipe(Layer.provide(StateDirectory.layerPath(directory))))

/** A store over a fresh state directory, with `session` attached. */
const fresh = <A, E>(effect: Effect.Effect<A, E, Store.Store>) =>
  Effect.flatMap(tempDirectory, (directory) =>
    withStore(
      path.join(directory, "state"),
      Effect.zipRight(Effect.flatMap(Store.Store, (store) => store.attachSession(session, configuration)), effect)
    ))

const newTask = (clientId: string): Store.NewTask => ({
  session,
  clientId,
  kind: "download",
  originalRequest: request,
  taskDescription: clientId
})

const failureOf = <A, E, R>(effect: Effect.Effect<A, E, R>) =>
  Effect.flatMap(Effect.exit(effect), (exit) =>
    Exit.isFailure(exit) && exit.cause._tag === "Fail"
      ? Effect.succeed(exit.cause.error)
      : Effect.dieMessage(`expected a failure, got ${exit._tag}`))

describe("Store", () => {
  it.scoped("sessions lists every session the store knows, by identifier", () =>
    fresh(Effect.gen(function*() {
      const store = yield* Store.Store
      yield* store.attachSession("com.example.another", {})
      expect((yield* store.sessions).map((record) => record.identifier)).toEqual([
        "com.example.another",
        session
      ])
    })))

  it.scoped("attaching creates a session; attaching again replaces only its configuration", () =>
    Effect.gen(function*() {
      const directory = yield* tempDirectory
      yield* withStore(
        directory,
        Effect.gen(function*() {
          const store = yield* Store.Store
          const created = yield* store.attachSession(session, configuration)
          expect(created).toEqual(
            new Store.SessionRecord({
              identifier: session,
              configuration,
              nextTaskIdentifier: 1,
              lastSequence: 0,
              acknowledgedSequence: 0,
              createdAt: new Date(0),
              updatedAt: new Date(0)
            })
          )
          yield* TestClock.adjust("5 seconds")
          const again = yield* store.attachSession(session, { ...configuration, version: 2 })
          expect(again.configuration).toEqual({ ...configuration, version: 2 })
          expect(again.createdAt).toEqual(new Date(0))
          expect(again.updatedAt).toEqual(new Date(5000))
          expect(yield* store.session(session)).toEqual(Option.some(again))
          expect(yield* store.session("com.example.other")).toEqual(Option.none())
        })
      )
    }))

  it.scoped("a new task is suspended, with unknown expected counts, numbered per session from 1", () =>
    fresh(Effect.gen(function*() {
      const store = yield* Store.Store
      yield* store.attachSession("com.example.other", {})
      const first = yield* store.createTask(newTask("a"))
      const second = yield* store.createTask(newTask("b"))
      const other = yield* store.createTask({ ...newTask("a"), session: "com.example.other" })
      expect(first).toEqual(
        new Store.TaskRecord({
          session,
          taskIdentifier: 1,
          clientId: "a",
          kind: "download",
          originalRequest: request,
          taskDescription: "a",
          state: "suspended",
          countOfBytesReceived: 0,
          countOfBytesExpectedToReceive: -1,
          countOfBytesSent: 0,
          countOfBytesExpectedToSend: -1,
          partialFile: null,
          resumeOffset: 0,
          createdAt: new Date(0),
          updatedAt: new Date(0),
          resumeData: null,
          response: null,
          uploadFile: null,
          finishedFile: null,
          error: null,
          firstResumedAt: null,
          completedAt: null
        })
      )
      expect([second.taskIdentifier, other.taskIdentifier]).toEqual([2, 1])
      expect((yield* store.tasks(session)).map((task) => task.clientId)).toEqual(["a", "b"])
    })))

  it.scoped("creating a task again with its client id returns the first task and uses no number", () =>
    fresh(Effect.gen(function*() {
      const store = yield* Store.Store
      const first = yield* store.createTask(newTask("a"))
      const retried = yield* store.createTask({ ...newTask("a"), originalRequest: { url: "https://example.com/b" } })
      const next = yield* store.createTask(newTask("b"))
      expect(retried).toEqual(first)
      expect(next.taskIdentifier).toBe(2)
      expect(yield* store.tasks(session)).toHaveLength(2)
    })))

  it.scoped("concurrent creations with one client id make one task", () =>
    fresh(Effect.gen(function*() {
      const store = yield* Store.Store
      const created = yield* Effect.all(Array.from({ length: 8 }, () => store.createTask(newTask("a"))), {
        concurrency: "unbounded"
      })
      expect(new Set(created.map((task) => task.taskIdentifier))).toEqual(new Set([1]))
      expect(yield* store.tasks(session)).toHaveLength(1)
    })))

  it.scoped("a task in an unknown session is refused with UnknownSession", () =>
    fresh(Effect.gen(function*() {
      const store = yield* Store.Store
      const error = yield* failureOf(store.createTask({ ...newTask("a"), session: "com.example.nobody" }))
      expect(error.reason).toBe("UnknownSession")
      expect(error.message).toBe("no session has the identifier \"com.example.nobody\"")
    })))

  it.scoped("an update changes the fields it names and updatedAt, and keeps the rest", () =>
    fresh(Effect.gen(function*() {
      const store = yield* Store.Store
      const created = yield* store.createTask(newTask("a"))
      yield* TestClock.adjust("2 seconds")
      const { events, task } = yield* store.updateTask(session, 1, {
        state: "running",
        countOfBytesReceived: 4096,
        countOfBytesExpectedToReceive: 65536,
        partialFile: "parts/1.part",
        resumeOffset: 4096
      })
      expect(events).toEqual([])
      expect(task).toEqual(
        new Store.TaskRecord({
          ...created,
          state: "running",
          countOfBytesReceived: 4096,
          countOfBytesExpectedToReceive: 65536,
          partialFile: "parts/1.part",
          resumeOffset: 4096,
          updatedAt: new Date(2000)
        })
      )
      const cleared = yield* store.updateTask(session, 1, { partialFile: null, taskDescription: null })
      expect([cleared.task.partialFile, cleared.task.taskDescription, cleared.task.resumeOffset]).toEqual([
        null,
        null,
        4096
      ])
      expect(yield* store.tasks(session)).toEqual([cleared.task])
    })))

  it.scoped("an update of an unknown task is refused with UnknownTask", () =>
    fresh(Effect.gen(function*() {
      const store = yield* Store.Store
      const error = yield* failureOf(store.updateTask(session, 9, { state: "running" }))
      expect(error.reason).toBe("UnknownTask")
      expect(error.message).toBe("the session \"com.example.sync\" has no task 9")
    })))

  it.scoped("an update and its events are written together", () =>
    fresh(Effect.gen(function*() {
      const store = yield* Store.Store
      yield* store.createTask(newTask("a"))
      const { events, task } = yield* store.updateTask(session, 1, { state: "completed" }, [
        { _tag: "DidFinishDownloadingTo", location: "staged/1.download" },
        { _tag: "DidCompleteWithError" }
      ])
      expect(task.state).toBe("completed")
      expect(events.map((event) => [event.sequence, event.taskIdentifier, event.event])).toEqual([
        [1, 1, { _tag: "DidFinishDownloadingTo", location: "staged/1.download" }],
        [2, 1, { _tag: "DidCompleteWithError" }]
      ])
      expect(yield* store.eventsAfter(session, 0)).toEqual(events)
    })))

  it.scoped("an event that cannot be stored undoes the update it came with", () =>
    fresh(Effect.gen(function*() {
      const store = yield* Store.Store
      const created = yield* store.createTask(newTask("a"))
      const error = yield* failureOf(
        store.updateTask(session, 1, { state: "completed" }, [{ _tag: "Fine" }, { _tag: "Bad", size: 1n }])
      )
      expect(error.reason).toBe("Database")
      expect(yield* store.tasks(session)).toEqual([created])
      expect(yield* store.eventsAfter(session, 0)).toEqual([])
      const next = yield* store.appendEvent(session, { event: { _tag: "Next" } })
      expect(next.sequence).toBe(1)
    })))

  it.scoped("events are numbered in order per session, and eventsAfter gives those past a number", () =>
    fresh(Effect.gen(function*() {
      const store = yield* Store.Store
      yield* store.attachSession("com.example.other", {})
      for (const n of [1, 2, 3]) yield* store.appendEvent(session, { taskIdentifier: n, event: { n } })
      const other = yield* store.appendEvent("com.example.other", { event: { n: 1 } })
      expect([other.sequence, other.taskIdentifier]).toEqual([1, null])
      expect((yield* store.eventsAfter(session, 0)).map((event) => [event.sequence, event.event])).toEqual([
        [1, { n: 1 }],
        [2, { n: 2 }],
        [3, { n: 3 }]
      ])
      expect((yield* store.eventsAfter(session, 2)).map((event) => event.sequence)).toEqual([3])
      expect(yield* store.eventsAfter(session, 3)).toEqual([])
      const error = yield* failureOf(store.appendEvent("com.example.nobody", { event: {} }))
      expect(error.reason).toBe("UnknownSession")
    })))

  it.scoped("sequence numbers go on past acknowledged events: a number is never used twice", () =>
    fresh(Effect.gen(function*() {
      const store = yield* Store.Store
      yield* store.createTask(newTask("a"))
      for (const n of [1, 2]) yield* store.appendEvent(session, { taskIdentifier: 1, event: { n } })
      yield* store.acknowledgeTask(session, 1)
      expect(yield* store.eventsAfter(session, 0)).toEqual([])
      expect((yield* store.appendEvent(session, { event: { n: 3 } })).sequence).toBe(3)
    })))

  it.scoped("JSON fields of an update are stored as JSON and cleared with null", () =>
    fresh(Effect.gen(function*() {
      const store = yield* Store.Store
      yield* store.createTask(newTask("a"))
      const resumeData = { version: 1, bytesReceived: 4096 }
      const { task } = yield* store.updateTask(session, 1, {
        resumeData,
        firstResumedAt: 7000,
        error: { code: "TimedOut" }
      })
      expect([task.resumeData, task.firstResumedAt, task.error]).toEqual([resumeData, new Date(7000), {
        code: "TimedOut"
      }])
      const cleared = yield* store.updateTask(session, 1, { resumeData: null, error: null })
      expect([cleared.task.resumeData, cleared.task.error]).toEqual([null, null])
    })))

  it.scoped("acknowledging a task deletes its events, and forgets it once completed", () =>
    fresh(Effect.gen(function*() {
      const store = yield* Store.Store
      yield* store.createTask(newTask("a"))
      yield* store.createTask(newTask("b"))
      yield* store.updateTask(session, 1, { state: "completed", finishedFile: "/f/1" }, [{ n: 1 }, { n: 2 }])
      yield* store.updateTask(session, 2, { state: "running" }, [{ n: 3 }])
      const acknowledged = yield* store.acknowledgeTask(session, 1)
      expect(Option.map(acknowledged, (task) => task.finishedFile)).toEqual(Option.some("/f/1"))
      expect((yield* store.eventsAfter(session, 0)).map((event) => event.event)).toEqual([{ n: 3 }])
      expect((yield* store.tasks(session)).map((task) => task.taskIdentifier)).toEqual([2])
      yield* store.acknowledgeTask(session, 2)
      expect(yield* store.eventsAfter(session, 0)).toEqual([])
      expect((yield* store.tasks(session)).map((task) => task.taskIdentifier)).toEqual([2])
      expect(yield* store.acknowledgeTask(session, 9)).toEqual(Option.none())
    })))

  it.scoped("an acknowledged task that keeps a partial file (its resume data's) stays until it expires", () =>
    fresh(Effect.gen(function*() {
      const store = yield* Store.Store
      yield* store.createTask(newTask("a"))
      yield* store.updateTask(session, 1, { state: "completed", partialFile: "/p/1" }, [{ n: 1 }])
      yield* store.acknowledgeTask(session, 1)
      expect(yield* store.eventsAfter(session, 0)).toEqual([])
      expect((yield* store.tasks(session)).map((task) => task.partialFile)).toEqual(["/p/1"])
    })))

  it.scoped("expire deletes the tasks completed before a time, with their events", () =>
    fresh(Effect.gen(function*() {
      const store = yield* Store.Store
      for (const id of ["a", "b", "c"]) yield* store.createTask(newTask(id))
      yield* store.updateTask(session, 1, { state: "completed", completedAt: 1000 }, [{ n: 1 }])
      yield* store.updateTask(session, 2, { state: "completed", completedAt: 5000 }, [{ n: 2 }])
      const expired = yield* store.expire(2000)
      expect(expired.map((task) => task.taskIdentifier)).toEqual([1])
      expect((yield* store.tasks(session)).map((task) => task.taskIdentifier)).toEqual([2, 3])
      expect((yield* store.eventsAfter(session, 0)).map((event) => event.event)).toEqual([{ n: 2 }])
    })))

  it.scoped("what was stored is there when the store is opened again", () =>
    Effect.gen(function*() {
      const directory = path.join(yield* tempDirectory, "state")
      yield* withStore(
        directory,
        Effect.gen(function*() {
          const store = yield* Store.Store
          yield* store.attachSession(session, configuration)
          yield* store.createTask(newTask("a"))
          yield* store.updateTask(session, 1, { state: "running", resumeOffset: 512 }, [{ _tag: "Progress" }])
        })
      )
      expect(fs.readdirSync(directory)).toContain(Store.databaseFile)
      yield* withStore(
        directory,
        Effect.gen(function*() {
          const store = yield* Store.Store
          const [task] = yield* store.tasks(session)
          expect([task?.state, task?.resumeOffset]).toEqual(["running", 512])
          expect((yield* store.eventsAfter(session, 0)).map((event) => event.event)).toEqual([{ _tag: "Progress" }])
          expect((yield* store.createTask(newTask("b"))).taskIdentifier).toBe(2)
        })
      )
    }))
})
