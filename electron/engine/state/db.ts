// Mamori's own state: sources, destinations, which source goes where, settings and job history, in
// one SQLite database (better-sqlite3) in the app data folder. The CLI, the headless server and the
// desktop app share it; WAL mode lets a reader (the UI) and a writer (a backup) work at once.
//
// The database is a convenience, never the only copy of anything that matters: destinations carry
// their own facts in app/mamori-destination.json and their snapshots name their sources, so a lost
// or corrupt database is moved aside and rebuilt by adding the destinations again.
// Migrations are numbered and run in order inside one transaction each (PRAGMA user_version).

import Database from 'better-sqlite3';
import { ErrorCode, MamoriError } from '../../../shared/errors';
import { existsSync, mkdirSync, renameSync } from 'node:fs';
import { homedir } from 'node:os';
import { join } from 'node:path';

export type Db = Database.Database;

/** Schema steps; append only. Step i brings the database from version i to i + 1. */
export const MIGRATIONS: string[] = [
  `
  CREATE TABLE sources (
    id TEXT PRIMARY KEY,
    name TEXT NOT NULL UNIQUE,
    kind TEXT NOT NULL DEFAULT 'folder',          -- folder | mail
    paths TEXT NOT NULL,                           -- JSON array of absolute paths
    excludes TEXT NOT NULL DEFAULT '[]',           -- JSON array of patterns
    created_at TEXT NOT NULL
  );
  CREATE TABLE destinations (
    id TEXT PRIMARY KEY,                           -- also in the destination's app/ marker
    name TEXT NOT NULL UNIQUE,
    location TEXT NOT NULL,                        -- restic syntax, never with secrets
    kind TEXT NOT NULL,                            -- local | sftp | s3 | rest | rclone
    options TEXT NOT NULL DEFAULT '{}',            -- JSON, non-secret (region, user, key file path...)
    media_kind TEXT NOT NULL,
    place TEXT NOT NULL,
    first_use TEXT,
    purchased TEXT,
    volume_uuid TEXT,
    volume_path TEXT,                              -- repository folder relative to the volume's root
    host_key TEXT,                                 -- pinned SFTP host key fingerprint
    append_only INTEGER NOT NULL DEFAULT 0,
    last_connected TEXT,
    created_at TEXT NOT NULL
  );
  CREATE TABLE source_destinations (
    source_id TEXT NOT NULL REFERENCES sources(id) ON DELETE CASCADE,
    destination_id TEXT NOT NULL REFERENCES destinations(id) ON DELETE CASCADE,
    PRIMARY KEY (source_id, destination_id)
  );
  CREATE TABLE jobs (
    id INTEGER PRIMARY KEY AUTOINCREMENT,
    kind TEXT NOT NULL,                            -- backup | check | restore
    source_id TEXT,
    started_at TEXT NOT NULL,
    finished_at TEXT,
    status TEXT NOT NULL,                          -- running | ok | partial | failed | interrupted
    summary TEXT NOT NULL DEFAULT '{}'
  );
  CREATE INDEX jobs_source ON jobs(source_id, started_at);
  CREATE TABLE job_destinations (
    job_id INTEGER NOT NULL REFERENCES jobs(id) ON DELETE CASCADE,
    destination_id TEXT NOT NULL,
    status TEXT NOT NULL,                          -- running | ok | pending | failed
    snapshot_id TEXT,
    snapshot_time TEXT,
    bytes_added INTEGER NOT NULL DEFAULT 0,
    error TEXT,                                    -- JSON {code, message, hint}
    finished_at TEXT,
    PRIMARY KEY (job_id, destination_id)
  );
  CREATE INDEX job_destinations_dest ON job_destinations(destination_id, status);
  CREATE TABLE verifications (
    id INTEGER PRIMARY KEY AUTOINCREMENT,
    destination_id TEXT NOT NULL,
    at TEXT NOT NULL,
    ok INTEGER NOT NULL,
    read_data INTEGER NOT NULL,
    problems TEXT NOT NULL DEFAULT '[]'
  );
  CREATE TABLE settings (
    key TEXT PRIMARY KEY,
    value TEXT NOT NULL                            -- JSON
  );
  CREATE TABLE secrets (
    name TEXT PRIMARY KEY,
    ciphertext BLOB NOT NULL                       -- encrypted by the platform's secret store, never plain text
  );
  `,
];

/** The per-OS app data folder, or MAMORI_HOME when set (tests, portable installs). */
export function mamoriHome(env: NodeJS.ProcessEnv = process.env, platform: NodeJS.Platform = process.platform): string {
  if (env.MAMORI_HOME) return env.MAMORI_HOME;
  const home = homedir();
  // An empty variable counts as unset (XDG Base Directory spec): otherwise the database would land
  // in a relative "mamori" folder under whatever the current directory happens to be.
  if (platform === 'win32') return join(env.APPDATA || join(home, 'AppData', 'Roaming'), 'Mamori');
  if (platform === 'darwin') return join(home, 'Library', 'Application Support', 'Mamori');
  return join(env.XDG_DATA_HOME || join(home, '.local', 'share'), 'mamori');
}

export interface OpenedDb {
  db: Db;
  path: string;
  /** Set when an unreadable database was moved aside and a new one started. */
  movedAside?: string;
}

function migrate(db: Db): void {
  const current = db.pragma('user_version', { simple: true }) as number;
  if (current > MIGRATIONS.length) {
    throw new MamoriError(ErrorCode.UnsupportedVersion, `the state database is from a newer Mamori (schema ${current}, this one knows ${MIGRATIONS.length}): update Mamori`, {
      hint: 'Update Mamori. Your backups are not affected.',
    });
  }
  for (let v = current; v < MIGRATIONS.length; v++) {
    db.transaction(() => {
      db.exec(MIGRATIONS[v]);
      db.pragma(`user_version = ${v + 1}`);
    })();
  }
}

function openAt(path: string): Db {
  const db = new Database(path);
  try {
    db.pragma('journal_mode = WAL');
    db.pragma('foreign_keys = ON');
    db.pragma('busy_timeout = 5000');
    // Reading every page catches a damaged file now rather than in the middle of a backup.
    const check = db.pragma('quick_check', { simple: true });
    if (check !== 'ok') throw new Error(`integrity check failed: ${String(check)}`);
    migrate(db);
    return db;
  } catch (e) {
    db.close();
    throw e;
  }
}

const CORRUPT = /SQLITE_CORRUPT|SQLITE_NOTADB|not a database|malformed|integrity check failed/i;

/**
 * Opens (creating if needed) state.db in `home`. A corrupt file is renamed to
 * state.db.corrupt-<time> and a fresh database started: backups never depend on it.
 */
export function openStateDb(home: string, now: () => Date = () => new Date()): OpenedDb {
  mkdirSync(home, { recursive: true, mode: 0o700 });
  const path = join(home, 'state.db');
  try {
    return { db: openAt(path), path };
  } catch (e) {
    const msg = `${(e as { code?: string }).code ?? ''} ${(e as Error).message}`;
    if (!CORRUPT.test(msg) || !existsSync(path)) throw e;
    const aside = `${path}.corrupt-${now().toISOString().replace(/[:.]/g, '-')}`;
    renameSync(path, aside);
    for (const ext of ['-wal', '-shm']) {
      if (existsSync(path + ext)) renameSync(path + ext, aside + ext);
    }
    return { db: openAt(path), path, movedAside: aside };
  }
}
