// The catalog's SQLite schema and its migrations (PRAGMA user_version; append only).
//
// Layout, and why:
// - trees: one row per restic tree blob ever indexed, keyed by its 32-byte ID. A tree's content never
//   changes (content addressing), so a tree indexed once is never loaded again: the Nth snapshot of a
//   mostly unchanged folder costs only its changed trees. `state` says how much of it is known
//   (0 = unreadable placeholder, 1 = its entries are stored but something below could not be read,
//   2 = it and everything below are stored). `refs` counts entries in other trees that point here,
//   so removing a snapshot frees exactly the trees nothing else uses. `files`/`bytes` aggregate the
//   whole subtree (folder sizes and a point's totals without walking).
// - names: each distinct name once, as its UTF-8 display form; `raw` holds the bytes only for names
//   that are not UTF-8 (Linux allows them; their display form is lossy), empty otherwise, so the
//   common case is stored once. Search looks at distinct names, not entries, so it does not grow
//   with the number of restore points: names_fts (FTS5 trigram) answers substrings of 3+ characters,
//   names_bigrams (each name's lowercased character pairs, hex-encoded as words) answers 2-character
//   ones such as most Japanese words; 1-character queries scan names.
// - entries: the nodes of each tree, clustered by tree (WITHOUT ROWID, key (tree, name)) so listing a
//   folder is one range read. entries_subtree gives the parent links (tree -> (parent tree, name))
//   that turn a matching name back into full paths.
// - snapshots: one row per (destination, snapshot). Copies of one snapshot on several destinations
//   share a point_key (root tree, time, paths, host) and are shown as one restore point.
import type Database from 'better-sqlite3';

export const MIGRATIONS: readonly string[] = [
  `
  CREATE TABLE trees (
    id INTEGER PRIMARY KEY,
    blob BLOB NOT NULL UNIQUE,
    state INTEGER NOT NULL,
    refs INTEGER NOT NULL DEFAULT 0,
    files INTEGER NOT NULL DEFAULT 0,
    bytes INTEGER NOT NULL DEFAULT 0,
    error TEXT
  );
  CREATE TABLE names (
    id INTEGER PRIMARY KEY,
    display TEXT NOT NULL,
    raw BLOB NOT NULL DEFAULT X'',
    UNIQUE (display, raw)
  );
  CREATE TABLE entries (
    tree INTEGER NOT NULL,
    name INTEGER NOT NULL,
    type INTEGER NOT NULL,
    size INTEGER NOT NULL,
    mtime TEXT NOT NULL,
    content BLOB,
    subtree INTEGER,
    PRIMARY KEY (tree, name)
  ) WITHOUT ROWID;
  CREATE INDEX entries_name ON entries(name);
  CREATE INDEX entries_subtree ON entries(subtree) WHERE subtree IS NOT NULL;
  CREATE TABLE snapshots (
    id INTEGER PRIMARY KEY,
    destination TEXT NOT NULL,
    snapshot TEXT NOT NULL,
    root INTEGER NOT NULL,
    time TEXT NOT NULL,
    time_ms INTEGER NOT NULL,
    paths TEXT NOT NULL,
    hostname TEXT NOT NULL,
    tags TEXT NOT NULL,
    source TEXT,
    point_key TEXT NOT NULL,
    UNIQUE (destination, snapshot)
  );
  CREATE INDEX snapshots_point ON snapshots(point_key);
  CREATE INDEX snapshots_root ON snapshots(root);
  CREATE INDEX snapshots_snapshot ON snapshots(snapshot);
  `,
];

/** FTS5 (with its trigram tokenizer) is in every better-sqlite3 build we ship; without it search scans names with LIKE. */
const FTS_SQL = [
  `CREATE VIRTUAL TABLE names_fts USING fts5(display, content='', contentless_delete=1, tokenize='trigram')`,
  `CREATE VIRTUAL TABLE names_bigrams USING fts5(grams, content='', contentless_delete=1, tokenize='ascii')`,
];

export function migrate(db: Database.Database): void {
  const current = db.pragma('user_version', { simple: true }) as number;
  if (current > MIGRATIONS.length) {
    throw new Error(`the catalog database is from a newer Mamori (schema ${current}, this one knows ${MIGRATIONS.length}); update Mamori, or delete catalog.db to rebuild it from the destinations`);
  }
  for (let v = current; v < MIGRATIONS.length; v++) {
    db.transaction(() => {
      db.exec(MIGRATIONS[v]);
      if (v === 0) {
        try {
          db.exec('SAVEPOINT fts');
          for (const sql of FTS_SQL) db.exec(sql);
          db.exec('RELEASE fts');
        } catch {
          // No FTS5 or no trigram tokenizer in this SQLite: search falls back to LIKE over names.
          db.exec('ROLLBACK TO fts');
          db.exec('RELEASE fts');
        }
      }
      db.pragma(`user_version = ${v + 1}`);
    })();
  }
}

export function hasFts(db: Database.Database): boolean {
  return db.prepare(`SELECT 1 FROM sqlite_master WHERE name = 'names_fts'`).get() !== undefined;
}
