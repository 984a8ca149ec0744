// The catalog: an index of every snapshot Mamori knows, on every destination, and of their file
// trees, in its own SQLite database (better-sqlite3, WAL). Browsing a folder, searching names and
// listing the versions of a file answer from here without touching a repository, which may be slow,
// remote or unplugged. It is a cache, never the only copy of anything: `rebuild` fills it again from
// a destination, so a new computer with one drive sees every restore point.
//
// Indexing walks a snapshot's trees depth-first and stores each tree once per tree ID (see
// schema.ts). A tree is written only after everything below it, one batch per transaction, so after
// a crash every stored tree is complete (or marked as not) and the next run resumes where the last
// stopped. A tree that cannot be loaded is reported and stored as an unreadable placeholder; the
// trees above it are marked incomplete and retried whenever a snapshot that contains them is indexed
// again (perhaps from another destination whose copy is intact).
//
// Paths are absolute, as restic stores them ("/home/me/Documents/a.txt"), built from the UTF-8 display
// form of each name (lossy for names that are not UTF-8, like the rest of the engine's paths).
import Database from 'better-sqlite3';
import { isUtf8 } from 'node:buffer';
import { createHash } from 'node:crypto';
import { existsSync, mkdirSync, renameSync } from 'node:fs';
import { dirname } from 'node:path';
import type { CatalogEntry, FileVersion, RestorePoint, SearchHit } from '../../../shared/api';
import { ErrorCode, MamoriError } from '../../../shared/errors';
import { parseGoTime } from '../repo/gotime';
import type { ID, NodeType, SnapshotWithId, TreeNode } from '../repo/types';
import { MAX_TREE_DEPTH } from '../restore/walk';
import { hasFts, migrate } from './schema';

/** The repository reads indexing needs (Repository satisfies it). */
export interface TreeLoader {
  loadTree(id: ID): Promise<TreeNode[]>;
}

/** What rebuild reads from a destination (Repository satisfies it). */
export interface SnapshotSource extends TreeLoader {
  listSnapshots(): Promise<SnapshotWithId[]>;
  /** With these two, one unreadable snapshot file does not hide the others. */
  listIds?(type: 'snapshot'): Promise<ID[]>;
  loadSnapshot?(id: ID): Promise<SnapshotWithId>;
}

export interface SnapshotInfo {
  destinationId: string;
  snapshotId: string;
  /** RFC3339 as restic stores it. */
  time: string;
  paths: string[];
  hostname?: string;
  tree: ID;
  tags?: string[];
  sourceId?: string;
}

export interface IndexProgress {
  treesLoaded: number;
  treesReused: number;
  entriesAdded: number;
  /** The folder just indexed. */
  path: string;
}

export interface DamagedTree {
  /** Where it sits in the snapshot ("/" for the root). */
  path: string;
  /** Tree blob ID ("" when the folder node names none). */
  tree: string;
  error: string;
}

export interface IndexResult {
  snapshotId: string;
  /** The snapshot was already in the catalog (only unreadable parts were retried). */
  alreadyIndexed: boolean;
  treesLoaded: number;
  treesReused: number;
  entriesAdded: number;
  damaged: DamagedTree[];
}

export interface RebuildOptions {
  /** Which Mamori source a snapshot belongs to, for snapshots no copy in the catalog names yet. */
  sourceOf?: (snapshot: SnapshotWithId) => string | undefined;
  onProgress?: (p: { snapshotsDone: number; snapshotsTotal: number } & Partial<IndexProgress>) => void;
}

export interface RebuildResult {
  added: number;
  removed: number;
  kept: number;
  damaged: (DamagedTree & { snapshotId: string })[];
  /** Snapshot files that exist but could not be read; their catalog entries, if any, are kept. */
  unreadable: { snapshotId: string; error: string }[];
}

export interface CatalogOptions {
  /** Display names of destinations for restore points (default: the destination ID). */
  destinationName?: (destinationId: string) => string | undefined;
  now?: () => Date;
}

export interface CatalogStats {
  snapshots: number;
  points: number;
  trees: number;
  entries: number;
  names: number;
}

type TreeState = 0 | 1 | 2;
const UNREADABLE: TreeState = 0;
const INCOMPLETE: TreeState = 1;
const COMPLETE: TreeState = 2;

interface TreeInfo {
  state: TreeState;
  files: number;
  bytes: number;
}

interface Row {
  name: Buffer;
  display: string;
  type: number;
  size: number;
  mtime: string;
  content: Buffer | null;
  subtree: Buffer | null;
}

type Op =
  | { kind: 'placeholder'; blob: Buffer; error: string }
  | { kind: 'tree'; blob: Buffer; info: TreeInfo; rows: Row[] }
  | { kind: 'update'; blob: Buffer; info: TreeInfo };

interface PointRow {
  id: string;
  key: string;
  time: string;
  timeMs: number;
  root: number;
  rootBlob: Buffer;
  rootState: number;
  paths: string[];
  hostname: string;
  tags: string[];
  source?: string;
  files: number;
  bytes: number;
  copies: { destinationId: string; snapshotId: string }[];
}

const TYPE_CODES: Record<NodeType, number> = { file: 0, dir: 1, symlink: 2, dev: 3, chardev: 4, fifo: 5, socket: 6 };
const FILE = 0;
const DIR = 1;
const HEX64 = /^[0-9a-f]{64}$/;
/** Tree rows buffered before a transaction writes them: big enough to amortise commits, small enough for memory. */
const FLUSH_ROWS = 20_000;
/** Trees loaded ahead of the depth-first walk, so a remote destination's latency overlaps. */
const PREFETCH = 16;
const NAME_CACHE = 200_000;

function apiType(code: number): CatalogEntry['type'] {
  return code === FILE ? 'file' : code === DIR ? 'dir' : code === 2 ? 'symlink' : 'other';
}

/** Identity of a file's bytes: equal keys mean equal content (the blob list restic stored). */
function contentKey(node: TreeNode): Buffer | null {
  if (node.type === 'file') {
    const h = createHash('sha256');
    for (const id of node.content ?? []) h.update(HEX64.test(id) ? Buffer.from(id, 'hex') : Buffer.from(id));
    return h.digest().subarray(0, 16);
  }
  if (node.type === 'symlink') return createHash('sha256').update('symlink\0').update(node.linktarget ?? Buffer.alloc(0)).digest().subarray(0, 16);
  return null;
}

function timeMs(time: string): number {
  try {
    return Number(parseGoTime(time) / 1_000_000n);
  } catch {
    const t = Date.parse(time);
    return Number.isFinite(t) ? t : 0;
  }
}

function joinPath(base: string, name: string): string {
  return base === '/' || base === '' ? `/${name}` : `${base}/${name}`;
}

function splitPath(path: string): string[] {
  return path.split('/').filter((c) => c !== '' && c !== '.');
}

const NO_RAW = Buffer.alloc(0);

/**
 * A name's lowercased character pairs as words the FTS 'ascii' tokenizer keeps whole: the two code
 * points in hex joined by "x" (not a hex digit), so equal words mean equal pairs.
 */
function bigramWords(display: string): string {
  let out = '';
  let prev = '';
  for (const ch of display.toLowerCase()) {
    const h = ch.codePointAt(0)!.toString(16);
    if (prev) out += (out ? ' ' : '') + prev + 'x' + h;
    prev = h;
  }
  return out;
}

function likeEscape(s: string): string {
  return s.replace(/[\\%_]/g, (c) => `\\${c}`);
}

const CORRUPT = /SQLITE_CORRUPT|SQLITE_NOTADB|not a database|malformed/i;

/** Loads trees a little ahead of the walk; each ID is loaded at most once per hint. */
class Prefetcher {
  private readonly pending = new Map<string, Promise<TreeNode[]>>();
  constructor(private readonly loader: TreeLoader) {}

  private load(id: string): Promise<TreeNode[]> {
    return Promise.resolve().then(() => this.loader.loadTree(id));
  }

  hint(id: string): void {
    if (this.pending.has(id) || this.pending.size >= PREFETCH) return;
    const p = this.load(id);
    // Errors surface when the walk asks for the tree; until then nobody must see them as unhandled.
    p.catch(() => undefined);
    this.pending.set(id, p);
  }

  get(id: string): Promise<TreeNode[]> {
    const p = this.pending.get(id);
    if (p) {
      this.pending.delete(id);
      return p;
    }
    return this.load(id);
  }
}

/** One indexing run over one snapshot's trees. */
class Indexer {
  readonly damaged: DamagedTree[] = [];
  loaded = 0;
  reused = 0;
  entries = 0;
  private readonly known = new Map<string, TreeInfo>();
  private ops: Op[] = [];
  private opRows = 0;
  private readonly prefetch: Prefetcher;

  constructor(
    private readonly cat: Catalog,
    loader: TreeLoader,
    private readonly onProgress?: (p: IndexProgress) => void,
  ) {
    this.prefetch = new Prefetcher(loader);
  }

  private lookup(hex: string): TreeInfo | undefined {
    let info = this.known.get(hex);
    if (!info) {
      info = this.cat.treeInfo(Buffer.from(hex, 'hex'));
      if (info) this.known.set(hex, info);
    }
    return info;
  }

  private push(op: Op): void {
    this.ops.push(op);
    this.opRows += op.kind === 'tree' ? op.rows.length + 1 : 1;
    if (this.opRows >= FLUSH_ROWS) this.flush();
  }

  flush(after?: () => void): void {
    const ops = this.ops;
    this.ops = [];
    this.opRows = 0;
    this.cat.applyOps(ops, after);
  }

  private damage(path: string, tree: string, error: string): void {
    this.damaged.push({ path: path || '/', tree, error });
  }

  async ensure(hex: string, path: string, depth: number): Promise<TreeInfo> {
    const seen = this.lookup(hex);
    if (seen?.state === COMPLETE) {
      this.reused++;
      return seen;
    }
    if (depth > MAX_TREE_DEPTH) {
      this.damage(path, hex, `folders nested deeper than ${MAX_TREE_DEPTH} levels; not indexed further`);
      return seen ?? this.placeholder(hex, 'nested too deep');
    }
    if (seen?.state === INCOMPLETE) return this.retry(hex, path, depth);
    let nodes: TreeNode[];
    try {
      nodes = await this.prefetch.get(hex);
    } catch (e) {
      const msg = (e as Error)?.message ?? String(e);
      this.damage(path, hex, msg);
      return seen ?? this.placeholder(hex, msg);
    }
    this.loaded++;
    for (const n of nodes) {
      if (n.type === 'dir' && n.subtree && HEX64.test(n.subtree) && this.lookup(n.subtree)?.state === undefined) this.prefetch.hint(n.subtree);
    }
    const rows: Row[] = [];
    let files = 0;
    let bytes = 0;
    let complete = true;
    for (const n of nodes) {
      const display = n.name.toString('utf8');
      let subtree: Buffer | null = null;
      if (n.type === 'dir') {
        const childPath = joinPath(path, display);
        if (n.subtree && HEX64.test(n.subtree)) {
          const kid = await this.ensure(n.subtree, childPath, depth + 1);
          files += kid.files;
          bytes += kid.bytes;
          if (kid.state !== COMPLETE) complete = false;
          subtree = Buffer.from(n.subtree, 'hex');
        } else {
          this.damage(childPath, n.subtree ?? '', 'folder without a valid subtree ID in the snapshot');
        }
      } else if (n.type === 'file') {
        files++;
        bytes += n.size ?? 0;
      }
      rows.push({
        name: n.name,
        display,
        type: TYPE_CODES[n.type] ?? 7,
        size: n.type === 'file' ? (n.size ?? 0) : 0,
        mtime: n.mtime ?? '',
        content: contentKey(n),
        subtree,
      });
    }
    const info: TreeInfo = { state: complete ? COMPLETE : INCOMPLETE, files, bytes };
    this.entries += rows.length;
    this.known.set(hex, info);
    this.push({ kind: 'tree', blob: Buffer.from(hex, 'hex'), info, rows });
    this.onProgress?.({ treesLoaded: this.loaded, treesReused: this.reused, entriesAdded: this.entries, path: path || '/' });
    return info;
  }

  private placeholder(hex: string, error: string): TreeInfo {
    const info: TreeInfo = { state: UNREADABLE, files: 0, bytes: 0 };
    this.known.set(hex, info);
    this.push({ kind: 'placeholder', blob: Buffer.from(hex, 'hex'), error });
    return info;
  }

  /** An incomplete tree's own entries are stored: only retry what below it is missing. */
  private async retry(hex: string, path: string, depth: number): Promise<TreeInfo> {
    this.flush();
    const blob = Buffer.from(hex, 'hex');
    for (const kid of this.cat.childTrees(blob)) {
      const kidHex = kid.blob.toString('hex');
      if (this.lookup(kidHex)?.state !== COMPLETE) await this.ensure(kidHex, joinPath(path, kid.display), depth + 1);
    }
    this.flush();
    const info = this.cat.aggregate(blob);
    this.known.set(hex, info);
    this.push({ kind: 'update', blob, info });
    return info;
  }
}

interface ChildRow {
  type: number;
  size: number;
  mtime: string;
  content: Buffer | null;
  subtree: number | null;
  sub_state: number | null;
  sub_blob: Buffer | null;
  sub_bytes: number | null;
}

/** Every statement the catalog runs, prepared once. */
function statements(db: Database.Database, fts: boolean) {
  return {
    treeByBlob: db.prepare<[Buffer], { id: number; state: TreeState; files: number; bytes: number }>('SELECT id, state, files, bytes FROM trees WHERE blob = ?'),
    treeById: db.prepare<[number], { refs: number; state: number }>('SELECT refs, state FROM trees WHERE id = ?'),
    insTree: db.prepare<[Buffer, number, number, number, string | null]>('INSERT INTO trees (blob, state, files, bytes, error) VALUES (?, ?, ?, ?, ?)'),
    insPlaceholder: db.prepare<[Buffer, string]>('INSERT OR IGNORE INTO trees (blob, state, error) VALUES (?, 0, ?)'),
    updTree: db.prepare<[number, number, number, Buffer]>('UPDATE trees SET state = ?, files = ?, bytes = ?, error = NULL WHERE blob = ?'),
    incRefs: db.prepare<[number]>('UPDATE trees SET refs = refs + 1 WHERE id = ?'),
    decRefs: db.prepare<[number]>('UPDATE trees SET refs = refs - 1 WHERE id = ?'),
    delTree: db.prepare<[number]>('DELETE FROM trees WHERE id = ?'),
    nameId: db.prepare<[string, Buffer], { id: number }>('SELECT id FROM names WHERE display = ? AND raw = ?'),
    insName: db.prepare<[string, Buffer], { id: number }>('INSERT INTO names (display, raw) VALUES (?, ?) ON CONFLICT DO NOTHING RETURNING id'),
    insFts: fts ? db.prepare<[number, string]>('INSERT INTO names_fts (rowid, display) VALUES (?, ?)') : undefined,
    insBigrams: fts ? db.prepare<[number, string]>('INSERT INTO names_bigrams (rowid, grams) VALUES (?, ?)') : undefined,
    delFts: fts ? db.prepare<[number]>('DELETE FROM names_fts WHERE rowid = ?') : undefined,
    delBigrams: fts ? db.prepare<[number]>('DELETE FROM names_bigrams WHERE rowid = ?') : undefined,
    nameUsed: db.prepare<[number], { one: number }>('SELECT 1 AS one FROM entries WHERE name = ? LIMIT 1'),
    delName: db.prepare<[number]>('DELETE FROM names WHERE id = ?'),
    insEntry: db.prepare<[number, number, number, number, string, Buffer | null, number | null]>(
      'INSERT OR IGNORE INTO entries (tree, name, type, size, mtime, content, subtree) VALUES (?, ?, ?, ?, ?, ?, ?)'),
    entriesForGc: db.prepare<[number], { name: number; subtree: number | null }>('SELECT name, subtree FROM entries WHERE tree = ?'),
    delEntries: db.prepare<[number]>('DELETE FROM entries WHERE tree = ?'),
    childTrees: db.prepare<[Buffer], { blob: Buffer; display: string }>(
      `SELECT c.blob, n.display FROM trees p JOIN entries e ON e.tree = p.id JOIN trees c ON c.id = e.subtree JOIN names n ON n.id = e.name
       WHERE p.blob = ? AND c.state < 2`),
    aggregate: db.prepare<[Buffer], { type: number; size: number; subtree: number | null; state: number | null; files: number | null; bytes: number | null }>(
      `SELECT e.type, e.size, e.subtree, c.state, c.files, c.bytes FROM trees p JOIN entries e ON e.tree = p.id LEFT JOIN trees c ON c.id = e.subtree WHERE p.blob = ?`),
    rootUsed: db.prepare<[number], { one: number }>('SELECT 1 AS one FROM snapshots WHERE root = ? LIMIT 1'),
    snapshotRow: db.prepare<[string, string], { id: number; root: number; source: string | null; point_key: string }>(
      'SELECT id, root, source, point_key FROM snapshots WHERE destination = ? AND snapshot = ?'),
    insSnapshot: db.prepare<[string, string, number, string, number, string, string, string, string | null, string]>(
      'INSERT INTO snapshots (destination, snapshot, root, time, time_ms, paths, hostname, tags, source, point_key) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?)'),
    pointSource: db.prepare<[string], { source: string }>('SELECT source FROM snapshots WHERE point_key = ? AND source IS NOT NULL ORDER BY id LIMIT 1'),
    setPointSource: db.prepare<[string, string]>('UPDATE snapshots SET source = ? WHERE point_key = ? AND source IS NULL'),
    delSnapshot: db.prepare<[number]>('DELETE FROM snapshots WHERE id = ?'),
    snapshotsOf: db.prepare<[string], { snapshot: string }>('SELECT snapshot FROM snapshots WHERE destination = ?'),
    allSnapshots: db.prepare<[], { id: number; destination: string; snapshot: string; root: number; time: string; time_ms: number; paths: string; hostname: string; tags: string; source: string | null; point_key: string; blob: Buffer; state: number; files: number; bytes: number }>(
      `SELECT s.id, s.destination, s.snapshot, s.root, s.time, s.time_ms, s.paths, s.hostname, s.tags, s.source, s.point_key, t.blob, t.state, t.files, t.bytes
       FROM snapshots s JOIN trees t ON t.id = s.root ORDER BY s.id`),
    rootOfSnapshot: db.prepare<[string], { root: number }>('SELECT root FROM snapshots WHERE snapshot = ? ORDER BY id LIMIT 1'),
    // The UTF-8 name (raw = X'') first; then a name that is not UTF-8 but shows the same.
    child: db.prepare<[number, string], ChildRow>(
      `SELECT e.type, e.size, e.mtime, e.content, e.subtree, c.state AS sub_state, c.blob AS sub_blob, c.bytes AS sub_bytes
       FROM names n JOIN entries e ON e.tree = ? AND e.name = n.id LEFT JOIN trees c ON c.id = e.subtree WHERE n.display = ? ORDER BY n.raw LIMIT 1`),
    treeStateById: db.prepare<[number], { state: number; blob: Buffer; bytes: number }>('SELECT state, blob, bytes FROM trees WHERE id = ?'),
    list: db.prepare<[number], { display: string; type: number; size: number; mtime: string; sub_bytes: number | null }>(
      `SELECT n.display, e.type, e.size, e.mtime, c.bytes AS sub_bytes FROM entries e JOIN names n ON n.id = e.name LEFT JOIN trees c ON c.id = e.subtree
       WHERE e.tree = ? ORDER BY e.type <> 1, n.display COLLATE NOCASE, n.display, n.raw`),
    entriesByName: db.prepare<[number], { tree: number; type: number; size: number; sub_bytes: number | null }>(
      'SELECT e.tree, e.type, e.size, c.bytes AS sub_bytes FROM entries e LEFT JOIN trees c ON c.id = e.subtree WHERE e.name = ?'),
    parents: db.prepare<[number], { tree: number; display: string }>(
      'SELECT e.tree, n.display FROM entries e JOIN names n ON n.id = e.name WHERE e.subtree = ?'),
    trigramNames: fts ? db.prepare<[string], { id: number; display: string }>(
      'SELECT n.id, n.display FROM names_fts f JOIN names n ON n.id = f.rowid WHERE names_fts MATCH ?') : undefined,
    bigramNames: fts ? db.prepare<[string], { id: number; display: string }>(
      'SELECT n.id, n.display FROM names_bigrams f JOIN names n ON n.id = f.rowid WHERE names_bigrams MATCH ?') : undefined,
    orphans: db.prepare<[], { id: number }>('SELECT id FROM trees WHERE refs <= 0 AND id NOT IN (SELECT root FROM snapshots)'),
    count: (table: 'snapshots' | 'trees' | 'entries' | 'names') => (db.prepare(`SELECT count(*) AS n FROM ${table}`).get() as { n: number }).n,
  };
}

export class Catalog {
  readonly db: Database.Database;
  readonly path?: string;
  /** Set when an unreadable catalog file was moved aside and a new one started. */
  readonly movedAside?: string;
  private readonly fts: boolean;
  private readonly opts: CatalogOptions;
  private tail: Promise<unknown> = Promise.resolve();
  private readonly nameCache = new Map<string, number>();
  private readonly s: ReturnType<typeof statements>;

  constructor(pathOrDb: string | Database.Database, opts: CatalogOptions = {}) {
    this.opts = opts;
    if (typeof pathOrDb === 'string') {
      this.path = pathOrDb;
      mkdirSync(dirname(pathOrDb), { recursive: true, mode: 0o700 });
      try {
        this.db = Catalog.openAt(pathOrDb);
      } catch (e) {
        const msg = `${(e as { code?: string }).code ?? ''} ${(e as Error).message}`;
        if (!CORRUPT.test(msg) || !existsSync(pathOrDb)) throw e;
        // The catalog is rebuilt from the destinations; a damaged file is kept aside, not deleted.
        const aside = `${pathOrDb}.corrupt-${(opts.now?.() ?? new Date()).toISOString().replace(/[:.]/g, '-')}`;
        renameSync(pathOrDb, aside);
        for (const ext of ['-wal', '-shm']) if (existsSync(pathOrDb + ext)) renameSync(pathOrDb + ext, aside + ext);
        this.movedAside = aside;
        this.db = Catalog.openAt(pathOrDb);
      }
    } else {
      this.db = pathOrDb;
      migrate(this.db);
    }
    this.fts = hasFts(this.db);
    this.s = statements(this.db, this.fts);
  }

  private static openAt(path: string): Database.Database {
    const db = new Database(path);
    try {
      db.pragma('journal_mode = WAL');
      // WAL + NORMAL: a crash loses at most the last commits, never consistency; the catalog is a cache.
      db.pragma('synchronous = NORMAL');
      db.pragma('busy_timeout = 5000');
      db.pragma('cache_size = -65536');
      db.pragma('temp_store = MEMORY');
      migrate(db);
      return db;
    } catch (e) {
      db.close();
      throw e;
    }
  }

  close(): void {
    if (this.db.open) this.db.close();
  }

  /** Runs mutations one at a time: an index run, a removal and a rebuild never interleave. */
  private exclusive<T>(fn: () => Promise<T>): Promise<T> {
    const run = this.tail.then(fn, fn);
    this.tail = run.catch(() => undefined);
    return run;
  }

  // ---- used by Indexer ----------------------------------------------------------------------------

  /** @internal */
  treeInfo(blob: Buffer): TreeInfo | undefined {
    const r = this.s.treeByBlob.get(blob);
    return r ? { state: r.state, files: r.files, bytes: r.bytes } : undefined;
  }

  /** @internal Sub-trees of a stored tree that are not complete. */
  childTrees(blob: Buffer): { blob: Buffer; display: string }[] {
    return this.s.childTrees.all(blob);
  }

  /** @internal A stored tree's totals and state from what is stored below it. */
  aggregate(blob: Buffer): TreeInfo {
    let files = 0;
    let bytes = 0;
    let complete = true;
    for (const r of this.s.aggregate.iterate(blob)) {
      if (r.type === FILE) {
        files++;
        bytes += r.size;
      } else if (r.subtree !== null) {
        files += r.files ?? 0;
        bytes += r.bytes ?? 0;
        if (r.state !== COMPLETE) complete = false;
      }
    }
    return { state: complete ? COMPLETE : INCOMPLETE, files, bytes };
  }

  private nameId(name: Buffer, display: string): number {
    const key = name.toString('latin1');
    const cached = this.nameCache.get(key);
    if (cached !== undefined) return cached;
    const raw = isUtf8(name) ? NO_RAW : name;
    let id = this.s.insName.get(display, raw)?.id;
    if (id === undefined) {
      id = this.s.nameId.get(display, raw)!.id;
    } else {
      this.s.insFts?.run(id, display);
      if (!process.env.NOBI) this.s.insBigrams?.run(id, bigramWords(display));
    }
    if (this.nameCache.size >= NAME_CACHE) this.nameCache.clear();
    this.nameCache.set(key, id);
    return id;
  }

  /** @internal Writes a batch of trees (children before parents) in one transaction, then `after`. */
  applyOps(ops: Op[], after?: () => void): void {
    if (ops.length === 0 && !after) return;
    const tx = this.db.transaction(() => {
      for (const op of ops) {
        if (op.kind === 'placeholder') {
          this.s.insPlaceholder.run(op.blob, op.error);
        } else if (op.kind === 'update') {
          this.s.updTree.run(op.info.state, op.info.files, op.info.bytes, op.blob);
        } else {
          const row = this.s.treeByBlob.get(op.blob);
          let id: number;
          if (!row) {
            id = Number(this.s.insTree.run(op.blob, op.info.state, op.info.files, op.info.bytes, null).lastInsertRowid);
          } else {
            id = row.id;
            this.s.updTree.run(op.info.state, op.info.files, op.info.bytes, op.blob);
            // Entries already stored (a tree is immutable): only its state changed.
            if (row.state !== UNREADABLE) continue;
          }
          for (const r of op.rows) {
            const nameId = this.nameId(r.name, r.display);
            let sub: number | null = null;
            if (r.subtree) {
              const t = this.s.treeByBlob.get(r.subtree);
              if (!t) throw new Error(`catalog: sub-tree ${r.subtree.toString('hex')} missing while storing its parent (internal error)`);
              sub = t.id;
            }
            const res = this.s.insEntry.run(id, nameId, r.type, r.size, r.mtime, r.content, sub);
            if (res.changes > 0 && sub !== null) this.s.incRefs.run(sub);
          }
        }
      }
      after?.();
    });
    try {
      tx();
    } catch (e) {
      // Ids cached for names written in the rolled-back transaction are now wrong.
      this.nameCache.clear();
      throw e;
    }
  }

  // ---- indexing -----------------------------------------------------------------------------------

  /**
   * Adds one snapshot of one destination. Trees already in the catalog are not loaded again; a tree
   * that cannot be loaded is reported in `damaged` and skipped. Indexing a snapshot already present
   * only retries its unreadable parts (and records `sourceId` if it was unknown).
   */
  indexSnapshot(loader: TreeLoader, snap: SnapshotInfo, onProgress?: (p: IndexProgress) => void): Promise<IndexResult> {
    return this.exclusive(() => this.indexLocked(loader, snap, onProgress));
  }

  private async indexLocked(loader: TreeLoader, snap: SnapshotInfo, onProgress?: (p: IndexProgress) => void): Promise<IndexResult> {
    if (!HEX64.test(snap.tree)) {
      throw new MamoriError(ErrorCode.InvalidRequest, `snapshot ${snap.snapshotId} names no valid root tree (${JSON.stringify(snap.tree)})`, { subject: snap.snapshotId });
    }
    if (!snap.destinationId || !snap.snapshotId) throw new MamoriError(ErrorCode.InvalidRequest, 'indexSnapshot needs a destination ID and a snapshot ID');
    const paths = [...snap.paths].sort();
    const hostname = snap.hostname ?? '';
    const key = `${snap.tree}\n${snap.time}\n${JSON.stringify(paths)}\n${hostname}`;
    const existing = this.s.snapshotRow.get(snap.destinationId, snap.snapshotId);
    const ix = new Indexer(this, loader, onProgress);
    const root = this.treeInfo(Buffer.from(snap.tree, 'hex'));
    if (!existing || root?.state !== COMPLETE) await ix.ensure(snap.tree, '', 0);
    ix.flush(() => {
      if (existing) {
        if (snap.sourceId) this.s.setPointSource.run(snap.sourceId, existing.point_key);
        return;
      }
      const rootId = this.s.treeByBlob.get(Buffer.from(snap.tree, 'hex'))?.id;
      if (rootId === undefined) throw new Error(`catalog: root tree of snapshot ${snap.snapshotId} was not stored (internal error)`);
      const source = snap.sourceId ?? this.s.pointSource.get(key)?.source ?? null;
      this.s.insSnapshot.run(snap.destinationId, snap.snapshotId, rootId, snap.time, timeMs(snap.time), JSON.stringify(paths), hostname,
        JSON.stringify(snap.tags ?? []), source, key);
      if (source) this.s.setPointSource.run(source, key);
    });
    return { snapshotId: snap.snapshotId, alreadyIndexed: !!existing, treesLoaded: ix.loaded, treesReused: ix.reused, entriesAdded: ix.entries, damaged: ix.damaged };
  }

  /** Forgets one destination's copy of a snapshot; trees nothing else uses are freed. False when it was not there. */
  removeSnapshot(destinationId: string, snapshotId: string): Promise<boolean> {
    return this.exclusive(() => Promise.resolve(this.removeLocked(destinationId, snapshotId)));
  }

  /** Forgets every snapshot of a destination (it was removed from Mamori). Returns how many. */
  removeDestination(destinationId: string): Promise<number> {
    return this.exclusive(() => {
      let n = 0;
      for (const s of this.s.snapshotsOf.all(destinationId)) if (this.removeLocked(destinationId, s.snapshot)) n++;
      return Promise.resolve(n);
    });
  }

  private removeLocked(destinationId: string, snapshotId: string): boolean {
    let removed = false;
    this.db.transaction(() => {
      const row = this.s.snapshotRow.get(destinationId, snapshotId);
      if (!row) return;
      this.s.delSnapshot.run(row.id);
      this.collect([row.root]);
      removed = true;
    })();
    return removed;
  }

  /** Deletes the given trees if nothing refers to them, and below them what that leaves unused. Call in a transaction. */
  private collect(start: number[]): void {
    const stack = [...start];
    const names = new Set<number>();
    while (stack.length) {
      const id = stack.pop()!;
      const t = this.s.treeById.get(id);
      if (!t || t.refs > 0 || this.s.rootUsed.get(id)) continue;
      for (const e of this.s.entriesForGc.all(id)) {
        names.add(e.name);
        if (e.subtree !== null) {
          this.s.decRefs.run(e.subtree);
          stack.push(e.subtree);
        }
      }
      this.s.delEntries.run(id);
      this.s.delTree.run(id);
    }
    for (const n of names) {
      if (this.s.nameUsed.get(n)) continue;
      this.s.delName.run(n);
      this.s.delFts?.run(n);
      this.s.delBigrams?.run(n);
    }
    if (names.size) this.nameCache.clear();
  }

  /**
   * Frees trees no snapshot reaches any more (left by an index run that crashed or failed half way).
   * Returns how many trees were freed.
   */
  compact(): Promise<number> {
    return this.exclusive(() => Promise.resolve(this.compactLocked()));
  }

  private compactLocked(): number {
    const before = this.s.count('trees');
    this.db.transaction(() => this.collect(this.s.orphans.all().map((r) => r.id)))();
    return before - this.s.count('trees');
  }

  /**
   * Makes the catalog match a destination: indexes every snapshot it holds that the catalog lacks and
   * forgets those it no longer holds. Snapshot files that exist but cannot be read are reported and
   * their catalog entries kept.
   */
  rebuild(destinationId: string, repo: SnapshotSource, opts: RebuildOptions = {}): Promise<RebuildResult> {
    return this.exclusive(async () => {
      const result: RebuildResult = { added: 0, removed: 0, kept: 0, damaged: [], unreadable: [] };
      let ids: string[];
      const snaps = new Map<string, SnapshotWithId>();
      if (repo.listIds && repo.loadSnapshot) {
        ids = await repo.listIds('snapshot');
        const have = new Set(this.s.snapshotsOf.all(destinationId).map((r) => r.snapshot));
        for (const id of ids) {
          if (have.has(id)) continue;
          try {
            snaps.set(id, await repo.loadSnapshot(id));
          } catch (e) {
            result.unreadable.push({ snapshotId: id, error: (e as Error)?.message ?? String(e) });
          }
        }
      } else {
        const all = await repo.listSnapshots();
        ids = all.map((s) => s.id);
        for (const s of all) snaps.set(s.id, s);
      }
      const present = new Set(ids);
      for (const { snapshot } of this.s.snapshotsOf.all(destinationId)) {
        if (present.has(snapshot)) result.kept++;
        else if (this.removeLocked(destinationId, snapshot)) result.removed++;
      }
      const todo = [...snaps.values()].filter((s) => !this.s.snapshotRow.get(destinationId, s.id));
      let done = 0;
      for (const s of todo) {
        opts.onProgress?.({ snapshotsDone: done, snapshotsTotal: todo.length });
        const r = await this.indexLocked(repo, {
          destinationId, snapshotId: s.id, time: s.time, paths: s.paths, hostname: s.hostname ?? '', tree: s.tree, tags: s.tags ?? [],
          ...(opts.sourceOf?.(s) ? { sourceId: opts.sourceOf(s) } : {}),
        }, opts.onProgress ? (p) => opts.onProgress!({ snapshotsDone: done, snapshotsTotal: todo.length, ...p }) : undefined);
        for (const d of r.damaged) result.damaged.push({ ...d, snapshotId: s.id });
        result.added++;
        done++;
      }
      opts.onProgress?.({ snapshotsDone: done, snapshotsTotal: todo.length });
      this.compactLocked();
      return result;
    });
  }

  // ---- queries (synchronous: they only read the database) ------------------------------------------

  private pointRows(): PointRow[] {
    const byKey = new Map<string, PointRow>();
    for (const r of this.s.allSnapshots.iterate()) {
      let p = byKey.get(r.point_key);
      if (!p) {
        p = {
          id: r.snapshot, key: r.point_key, time: r.time, timeMs: r.time_ms, root: r.root, rootBlob: r.blob, rootState: r.state,
          paths: JSON.parse(r.paths) as string[], hostname: r.hostname, tags: JSON.parse(r.tags) as string[],
          files: r.files, bytes: r.bytes, copies: [],
        };
        byKey.set(r.point_key, p);
      }
      if (r.source && !p.source) p.source = r.source;
      p.copies.push({ destinationId: r.destination, snapshotId: r.snapshot });
    }
    return [...byKey.values()].sort((a, b) => b.timeMs - a.timeMs || (a.time < b.time ? 1 : a.time > b.time ? -1 : 0) || (a.id < b.id ? -1 : 1));
  }

  private pointsFor(sourceId?: string): PointRow[] {
    const all = this.pointRows();
    return sourceId === undefined ? all : all.filter((p) => p.source === sourceId);
  }

  /** Restore points, newest first: copies of one snapshot on several destinations are one point. */
  listPoints(o: { sourceId?: string } = {}): RestorePoint[] {
    return this.pointsFor(o.sourceId).map((p) => ({
      id: p.id,
      ...(p.source ? { sourceId: p.source } : {}),
      time: p.time,
      paths: p.paths,
      hostname: p.hostname,
      tags: p.tags,
      copies: p.copies.map((c) => ({ ...c, destinationName: this.opts.destinationName?.(c.destinationId) ?? c.destinationId })),
      fileCount: p.files,
      totalSize: p.bytes,
    }));
  }

  private rootOf(pointId: string): number {
    const r = this.s.rootOfSnapshot.get(pointId);
    if (!r) {
      throw new MamoriError(ErrorCode.SnapshotNotFound, `restore point ${pointId} is not in the catalog`, {
        subject: pointId,
        hint: 'Reload the list of restore points; it may have been removed from its destinations.',
      });
    }
    return r.root;
  }

  private findChild(tree: number, name: string): ChildRow | undefined {
    return this.s.child.get(tree, name);
  }

  private unreadable(pointId: string, path: string): MamoriError {
    return new MamoriError(ErrorCode.CorruptObject, `the folder ${path} of restore point ${pointId} could not be read from its destination when it was indexed`, {
      subject: path,
      hint: 'Run a check of that destination; indexing the same point from another destination fills it in.',
    });
  }

  /** Lists a folder of a restore point: folders first, then by name. "/" or "" is the root. */
  browse(pointId: string, path: string): CatalogEntry[] {
    let tree = this.rootOf(pointId);
    const parts = splitPath(path);
    const base = '/' + parts.join('/');
    let walked = '';
    for (const part of parts) {
      walked += '/' + part;
      const e = this.findChild(tree, part);
      if (!e) throw new MamoriError(ErrorCode.PathNotFound, `${walked} does not exist in restore point ${pointId}`, { subject: walked });
      if (e.type !== DIR || e.subtree === null) throw new MamoriError(ErrorCode.PathNotFound, `${walked} in restore point ${pointId} is not a folder`, { subject: walked });
      tree = e.subtree;
    }
    if (this.s.treeStateById.get(tree)?.state === UNREADABLE) throw this.unreadable(pointId, base);
    return this.s.list.all(tree).map((r) => ({
      name: r.display,
      path: joinPath(base, r.display),
      type: apiType(r.type),
      size: r.type === DIR ? (r.sub_bytes ?? 0) : r.size,
      mtime: r.mtime,
    }));
  }

  /** Names matching every whitespace-separated token (case-insensitive substring). */
  private *matchingNames(tokens: string[]): Generator<{ id: number; display: string }> {
    const len = (t: string): number => Array.from(t).length;
    const long = this.fts ? tokens.filter((t) => len(t) >= 3) : [];
    const pairs = this.fts ? tokens.filter((t) => len(t) === 2) : [];
    const rest = tokens.filter((t) => !long.includes(t) && !pairs.includes(t));
    // One index drives (the most selective kind of token present); the other tokens are checked here.
    let driver: Iterable<{ id: number; display: string }>;
    let check: string[];
    if (long.length && this.s.trigramNames) {
      driver = this.s.trigramNames.iterate(long.map((t) => `"${t.replace(/"/g, '""')}"`).join(' AND '));
      check = [...pairs, ...rest];
    } else if (pairs.length && this.s.bigramNames) {
      driver = this.s.bigramNames.iterate(pairs.map((t) => `"${bigramWords(t)}"`).join(' AND '));
      check = rest;
    } else {
      // Single characters (or no FTS5): a scan of the names, which stops as soon as enough are found.
      const where = rest.map(() => `display LIKE ? ESCAPE '\\'`).join(' AND ');
      const stmt = this.db.prepare<string[], { id: number; display: string }>(`SELECT id, display FROM names WHERE ${where}`);
      yield* stmt.iterate(...rest.map((t) => `%${likeEscape(t)}%`));
      return;
    }
    const lower = check.map((t) => t.toLowerCase());
    for (const r of driver) {
      const d = r.display.toLowerCase();
      if (lower.every((t) => d.includes(t))) yield r;
    }
  }

  /**
   * Names containing the query (each whitespace-separated token, case-insensitively), across all
   * restore points (or one source's), newest point first. Work is capped: with very many matches the
   * result holds the first `limit` of a bounded sample, so refine the query rather than page.
   */
  search(query: string, o: { sourceId?: string; limit?: number } = {}): SearchHit[] {
    const limit = Math.max(1, Math.min(o.limit ?? 200, 10_000));
    const tokens = query.split(/\s+/).filter(Boolean).slice(0, 16);
    if (tokens.length === 0) return [];
    const points = this.pointsFor(o.sourceId);
    const byRoot = new Map<number, PointRow[]>();
    for (const p of points) byRoot.set(p.root, [...(byRoot.get(p.root) ?? []), p]);
    if (byRoot.size === 0) return [];
    const budget = Math.max(limit * 10, 2000);
    // Paths from each point's root to a tree, memoised per search: unchanged folders are shared by many points.
    const memo = new Map<number, { root: number; prefix: string }[]>();
    const pathsTo = (tree: number, depth: number): { root: number; prefix: string }[] => {
      const m = memo.get(tree);
      if (m) return m;
      const out: { root: number; prefix: string }[] = [];
      memo.set(tree, out);
      if (byRoot.has(tree)) out.push({ root: tree, prefix: '' });
      if (depth < MAX_TREE_DEPTH) {
        for (const p of this.s.parents.all(tree)) {
          for (const up of pathsTo(p.tree, depth + 1)) {
            out.push({ root: up.root, prefix: `${up.prefix}/${p.display}` });
            if (out.length >= budget) break;
          }
          if (out.length >= budget) break;
        }
      }
      return out;
    };
    const hits: SearchHit[] = [];
    const times = new Map<SearchHit, number>();
    outer: for (const nm of this.matchingNames(tokens)) {
      for (const e of this.s.entriesByName.iterate(nm.id)) {
        for (const at of pathsTo(e.tree, 0)) {
          for (const p of byRoot.get(at.root) ?? []) {
            const hit: SearchHit = {
              pointId: p.id,
              time: p.time,
              path: `${at.prefix}/${nm.display}`,
              type: apiType(e.type),
              size: e.type === DIR ? (e.sub_bytes ?? 0) : e.size,
            };
            times.set(hit, p.timeMs);
            hits.push(hit);
          }
        }
        if (hits.length >= budget) break outer;
      }
    }
    hits.sort((a, b) => times.get(b)! - times.get(a)! || (a.path < b.path ? -1 : a.path > b.path ? 1 : 0) || (a.pointId < b.pointId ? -1 : 1));
    return hits.slice(0, limit);
  }

  /**
   * Every restore point (of a source, or all) where `path` exists, newest first, one per point (equal
   * contentKey = same bytes; consecutive equal versions are not collapsed).
   */
  versions(sourceId: string | undefined, path: string): FileVersion[] {
    const parts = splitPath(path);
    const out: FileVersion[] = [];
    const memo = new Map<string, ChildRow | null>();
    for (const p of this.pointsFor(sourceId)) {
      if (parts.length === 0) {
        out.push({ pointId: p.id, time: p.time, size: p.bytes, mtime: p.time, contentKey: `tree:${p.rootBlob.toString('hex')}` });
        continue;
      }
      let tree: number | null = p.root;
      let found: ChildRow | null = null;
      for (const part of parts) {
        if (tree === null) {
          found = null;
          break;
        }
        const k = `${tree}/${part}`;
        let e = memo.get(k);
        if (e === undefined) {
          e = this.findChild(tree, part) ?? null;
          memo.set(k, e);
        }
        found = e;
        if (!e) break;
        tree = e.type === DIR ? e.subtree : null;
      }
      if (!found) continue;
      out.push({
        pointId: p.id,
        time: p.time,
        size: found.type === DIR ? (found.sub_bytes ?? 0) : found.size,
        mtime: found.mtime,
        contentKey: found.type === DIR ? `tree:${found.sub_blob?.toString('hex') ?? ''}` : (found.content?.toString('hex') ?? ''),
      });
    }
    return out;
  }

  /** Snapshot IDs of one destination in the catalog. */
  snapshotsOf(destinationId: string): string[] {
    return this.s.snapshotsOf.all(destinationId).map((r) => r.snapshot);
  }

  stats(): CatalogStats {
    return {
      snapshots: this.s.count('snapshots'),
      points: this.pointRows().length,
      trees: this.s.count('trees'),
      entries: this.s.count('entries'),
      names: this.s.count('names'),
    };
  }
}
