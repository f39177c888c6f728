/**
 * The store's schema, one migration a step; a released migration is never edited, only
 * followed by another.
 *
 * JSON columns (`configuration`, `original_request`, `event`, `resume_data`, `response`, `error`) hold Schema encodings, so a
 * form that gains fields (cookies, cache and credential settings) needs no new migration.
 */
import * as Migrator from "@effect/sql/Migrator"
import * as SqlClient from "@effect/sql/SqlClient"
import * as Effect from "effect/Effect"

const initial = Effect.flatMap(SqlClient.SqlClient, (sql) =>
  Effect.all([
    sql`CREATE TABLE sessions (
      identifier TEXT PRIMARY KEY NOT NULL,
      configuration TEXT NOT NULL,
      next_task_identifier INTEGER NOT NULL DEFAULT 1,
      last_sequence INTEGER NOT NULL DEFAULT 0,
      acknowledged_sequence INTEGER NOT NULL DEFAULT 0,
      created_at INTEGER NOT NULL,
      updated_at INTEGER NOT NULL
    ) STRICT`,
    sql`CREATE TABLE tasks (
      session TEXT NOT NULL REFERENCES sessions (identifier) ON DELETE CASCADE,
      task_identifier INTEGER NOT NULL,
      client_id TEXT NOT NULL,
      kind TEXT NOT NULL CHECK (kind IN ('data', 'download', 'upload')),
      original_request TEXT NOT NULL,
      task_description TEXT,
      state TEXT NOT NULL CHECK (state IN ('suspended', 'running', 'canceling', 'completed')),
      count_of_bytes_received INTEGER NOT NULL DEFAULT 0,
      count_of_bytes_expected_to_receive INTEGER NOT NULL DEFAULT -1,
      count_of_bytes_sent INTEGER NOT NULL DEFAULT 0,
      count_of_bytes_expected_to_send INTEGER NOT NULL DEFAULT -1,
      partial_file TEXT,
      resume_offset INTEGER NOT NULL DEFAULT 0,
      created_at INTEGER NOT NULL,
      updated_at INTEGER NOT NULL,
      PRIMARY KEY (session, task_identifier),
      UNIQUE (session, client_id)
    ) STRICT, WITHOUT ROWID`,
    sql`CREATE TABLE events (
      session TEXT NOT NULL REFERENCES sessions (identifier) ON DELETE CASCADE,
      sequence INTEGER NOT NULL,
      task_identifier INTEGER,
      event TEXT NOT NULL,
      created_at INTEGER NOT NULL,
      PRIMARY KEY (session, sequence)
    ) STRICT, WITHOUT ROWID`
  ], { discard: true }))

// What the transfer engine records on a task: the resume data of its last checkpoint, the
// file an upload sends, the finished file it hands over, its failure, and the times that
// bound its retries (`first_resumed_at`) and its retention (`completed_at`).
const transfers = Effect.flatMap(SqlClient.SqlClient, (sql) =>
  Effect.all([
    sql`ALTER TABLE tasks ADD COLUMN resume_data TEXT`,
    sql`ALTER TABLE tasks ADD COLUMN response TEXT`,
    sql`ALTER TABLE tasks ADD COLUMN upload_file TEXT`,
    sql`ALTER TABLE tasks ADD COLUMN finished_file TEXT`,
    sql`ALTER TABLE tasks ADD COLUMN error TEXT`,
    sql`ALTER TABLE tasks ADD COLUMN first_resumed_at INTEGER`,
    sql`ALTER TABLE tasks ADD COLUMN completed_at INTEGER`,
    sql`CREATE INDEX events_by_task ON events (session, task_identifier)`
  ], { discard: true }))

export const run = Migrator.make({})({
  loader: Migrator.fromRecord({ "0001_initial": initial, "0002_transfers": transfers })
})
