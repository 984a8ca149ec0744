// A restic repository on one Backend: keys, config, unpacked files (index, snapshot, lock), and
// blobs stored in packs. Writes follow restic's durability order: a pack is stored before any index
// names it, and an index before any snapshot needs it, so a crash at any point leaves a repository
// that restic check accepts (at worst with unreferenced packs, which prune removes).
import { createHash, randomBytes } from 'node:crypto';
import { hostname as osHostname, userInfo } from 'node:os';
import { ErrorCode, MamoriError } from '../../../shared/errors';
import { parsePolynomial, randomPolynomial } from '../chunker';
import { systemClock, type Clock } from '../ports/clock';
import { BackendError, type Backend, type FileType } from '../storage/backend';
import { zstdCompress, zstdDecompress } from './compress';
import { CRYPTO_OVERHEAD, decrypt, encrypt, MacError, newMasterKey, type MasterKey } from './crypto';
import { formatGoTime, parseGoTime } from './gotime';
import { decodeIndex, encodeIndex, packedBlobs, type IndexPack } from './index-file';
import { createKeyFile, DEFAULT_KDF, openKeyFile, parseKeyFile, type KdfParams } from './keyfile';
import { acquireLock, removeStaleLocks, type Lock, type LockStore } from './lock';
import { MasterIndex } from './master-index';
import { PackBuilder, parsePackTail, type PackEntry } from './pack';
import { decodeSnapshot, encodeSnapshot } from './snapshot-json';
import { decodeTree, encodeTree } from './tree';
import type { BlobType, ID, RepoConfig, Snapshot, SnapshotWithId, TreeNode } from './types';

/** restic 0.14's default pack size: large enough for few files, small enough to upload and retry. */
export const DEFAULT_PACK_SIZE = 16 * 1024 * 1024;
/** restic flushes an index file after this many blobs so a long backup does not hold them all. */
const INDEX_FLUSH_BLOBS = 50_000;
const HEX64 = /^[0-9a-f]{64}$/;
/**
 * Packs written in the background while chunking goes on. Two keep the disk or network busy without
 * holding more than ~2 x 16 MiB of finished packs in memory.
 */
const MAX_PACK_UPLOADS = 2;

export interface RepositoryOptions {
  clock?: Clock;
  hostname?: string;
  username?: string;
  /** Target pack size in bytes (default 16 MiB). */
  packSize?: number;
}

export interface InitOptions extends RepositoryOptions {
  version?: 1 | 2;
  /** Reuse a chunker polynomial (several destinations chunk once). Default: a fresh random one. */
  chunkerPolynomial?: string;
  /** scrypt parameters for the first key (tests use cheap ones). */
  kdf?: KdfParams;
}

export interface KeyInfo {
  id: ID;
  current: boolean;
  username: string;
  hostname: string;
  created: string;
}

export interface IndexLoadProblem {
  index: ID;
  error: string;
}

export interface SaveBlobResult {
  id: ID;
  /** True when the repository (or this session) already had the blob: nothing was stored. */
  known: boolean;
  /** Bytes added to the pack (0 when known). */
  storedSize: number;
}

function sha256hex(b: Uint8Array): string {
  return createHash('sha256').update(b).digest('hex');
}

function defaultUser(): string {
  try {
    return userInfo().username;
  } catch {
    return '';
  }
}

export class Repository implements LockStore {
  readonly index = new MasterIndex();
  private readonly clock: Clock;
  private readonly hostname: string;
  private readonly username: string;
  private readonly packSize: number;
  private readonly builders: Partial<Record<BlobType, PackBuilder>> = {};
  /** Blobs added to a pack not yet stored, so a second copy in the same session is skipped. */
  private readonly pending = { data: new Set<ID>(), tree: new Set<ID>() };
  /** Packs stored but not yet named by an index file we wrote. */
  private unindexed: IndexPack[] = [];
  private unindexedBlobs = 0;
  /** Index files already merged into `index`, so loadIndex can be called again cheaply. */
  private readonly loadedIndexes = new Set<ID>();
  private readonly uploads = new Set<Promise<void>>();
  /** The first failed background pack write; every later save or flush rethrows it. */
  private uploadError: unknown;

  private constructor(
    readonly backend: Backend,
    private key: MasterKey,
    readonly config: RepoConfig,
    private keyId: ID,
    opts: RepositoryOptions,
  ) {
    this.clock = opts.clock ?? systemClock;
    this.hostname = opts.hostname ?? osHostname();
    this.username = opts.username ?? defaultUser();
    this.packSize = opts.packSize ?? DEFAULT_PACK_SIZE;
  }

  get location(): string {
    return this.backend.location;
  }
  get version(): 1 | 2 {
    return this.config.version;
  }
  get currentKeyId(): ID {
    return this.keyId;
  }

  private nowGo(): string {
    return formatGoTime(BigInt(this.clock.now().getTime()) * 1_000_000n);
  }

  // ---- creating and opening -------------------------------------------------------------------

  static async init(backend: Backend, password: string, opts: InitOptions = {}): Promise<Repository> {
    if (await backend.hasConfig()) {
      throw new MamoriError(ErrorCode.RepositoryExists, `${backend.location} already holds a repository`, {
        subject: backend.location,
        hint: 'Open it with its password, or choose an empty folder.',
      });
    }
    if (!password) throw new MamoriError(ErrorCode.InvalidRequest, 'an empty password is not allowed');
    const version = opts.version ?? 2;
    const pol = opts.chunkerPolynomial ?? randomPolynomial();
    parsePolynomial(pol);
    const config: RepoConfig = { version, id: randomBytes(32).toString('hex'), chunkerPolynomial: pol };
    await backend.create();
    const master = newMasterKey();
    const repo = new Repository(backend, master, config, '', opts);
    const created = repo.nowGo();
    const kf = await createKeyFile(password, master, { created, username: repo.username, hostname: repo.hostname }, opts.kdf ?? DEFAULT_KDF);
    await backend.save({ type: 'key', name: kf.id }, kf.bytes);
    repo.keyId = kf.id;
    const cfg = Buffer.from(JSON.stringify({ version, id: config.id, chunker_polynomial: pol }));
    await backend.save({ type: 'config', name: '' }, encrypt(master, cfg));
    return repo;
  }

  static async open(backend: Backend, password: string, opts: RepositoryOptions = {}): Promise<Repository> {
    let hasConfig: boolean;
    try {
      hasConfig = await backend.hasConfig();
    } catch (e) {
      throw mapBackendError(e, backend.location);
    }
    if (!hasConfig) {
      throw new MamoriError(ErrorCode.NotARepository, `${backend.location} is not a restic/Mamori repository (it has no config file)`, {
        subject: backend.location,
        hint: 'Check the path, or create a repository there with "mamori init".',
      });
    }
    const keyIds: ID[] = [];
    for await (const f of backend.list('key')) keyIds.push(f.name);
    if (keyIds.length === 0) {
      throw new MamoriError(ErrorCode.CorruptObject, `${backend.location} has no key files, so no password can open it`, {
        subject: `${backend.location}/keys`,
        hint: 'Restore the keys folder from another copy of this repository.',
      });
    }
    let found: { key: MasterKey; id: ID } | undefined;
    const damaged: string[] = [];
    for (const id of keyIds) {
      let master: MasterKey | null;
      try {
        const kf = parseKeyFile(await backend.load({ type: 'key', name: id }));
        master = await openKeyFile(password, kf);
      } catch (e) {
        damaged.push(`${id.slice(0, 8)}: ${(e as Error).message}`);
        continue;
      }
      if (master) {
        found = { key: master, id };
        break;
      }
    }
    if (!found) {
      throw new MamoriError(
        ErrorCode.WrongPassword,
        `wrong password: it opens none of the ${keyIds.length} key(s) of ${backend.location}` + (damaged.length ? ` (damaged keys: ${damaged.join('; ')})` : ''),
        { subject: backend.location, hint: 'Check the password (MAMORI_PASSWORD, --password-file) and try again.' },
      );
    }
    let cfgPlain: Buffer;
    try {
      cfgPlain = decrypt(found.key, await backend.load({ type: 'config', name: '' }));
    } catch (e) {
      if (e instanceof MacError) {
        throw new MamoriError(ErrorCode.CorruptObject, `the config file of ${backend.location} is damaged (MAC check failed)`, {
          subject: `${backend.location}/config`,
          hint: 'Restore the config file from another copy of this repository.',
        });
      }
      throw mapBackendError(e, backend.location);
    }
    const config = parseConfig(cfgPlain, backend.location);
    return new Repository(backend, found.key, config, found.id, opts);
  }

  // ---- unpacked files: index, snapshot, lock ---------------------------------------------------

  private packUnpacked(json: Buffer): Buffer {
    if (this.version === 1) return encrypt(this.key, json);
    return encrypt(this.key, Buffer.concat([Buffer.from([2]), zstdCompress(json)]));
  }

  private unpackUnpacked(plain: Buffer): Buffer {
    if (plain.length === 0) throw new Error('empty file');
    const first = plain[0];
    if (first === 0x7b || first === 0x5b) return plain; // '{' or '[': uncompressed JSON (v1, or v2 written so)
    if (first === 2 && this.version === 2) return zstdDecompress(plain.subarray(1));
    throw new Error(`unsupported encoding byte 0x${first.toString(16)}`);
  }

  async saveUnpacked(type: 'snapshot' | 'index' | 'lock', json: Buffer): Promise<ID> {
    const file = this.packUnpacked(json);
    const id = sha256hex(file);
    try {
      await this.backend.save({ type, name: id }, file);
    } catch (e) {
      throw mapBackendError(e, this.location);
    }
    return id;
  }

  async loadUnpacked(type: 'snapshot' | 'index' | 'lock', id: ID): Promise<Buffer> {
    let file: Buffer;
    try {
      file = await this.backend.load({ type, name: id });
    } catch (e) {
      throw mapBackendError(e, this.location, `${type} ${id}`);
    }
    const subject = `${type} ${id}`;
    if (sha256hex(file) !== id) {
      throw new MamoriError(ErrorCode.CorruptObject, `${subject} is damaged: its content does not match its name`, {
        subject,
        hint: 'Run "mamori check" to see what is affected.',
      });
    }
    try {
      return this.unpackUnpacked(decrypt(this.key, file));
    } catch (e) {
      throw new MamoriError(ErrorCode.CorruptObject, `${subject} cannot be read: ${(e as Error).message}`, { subject });
    }
  }

  async listIds(type: FileType): Promise<ID[]> {
    const ids: ID[] = [];
    try {
      for await (const f of this.backend.list(type)) ids.push(f.name);
    } catch (e) {
      throw mapBackendError(e, this.location);
    }
    return ids;
  }

  // ---- index -----------------------------------------------------------------------------------

  /** Loads every index file. Damaged ones are reported, not fatal: what they listed is just unknown. */
  async loadIndex(): Promise<IndexLoadProblem[]> {
    const problems: IndexLoadProblem[] = [];
    const ids = (await this.listIds('index')).filter((id) => !this.loadedIndexes.has(id));
    await mapLimit(ids, 8, async (id) => {
      try {
        const idx = decodeIndex(await this.loadUnpacked('index', id));
        for (const b of packedBlobs(idx)) this.index.add(b);
        this.loadedIndexes.add(id);
      } catch (e) {
        problems.push({ index: id, error: (e as Error).message });
      }
    });
    return problems;
  }

  /**
   * Finds packs that landed but that no index names (a run killed, a network drop or an unplugged
   * drive between a pack upload and its index), reads their headers and indexes their blobs, so a
   * resumed backup does not upload them again. The new index is written with the run's next flush.
   * Packs whose header cannot be read are left alone (prune's business, not ours). Call after
   * loadIndex, holding a lock.
   */
  async adoptUnindexedPacks(onPack?: (pack: ID) => void): Promise<{ packs: number; blobs: number }> {
    const orphans: ID[] = [];
    try {
      for await (const f of this.backend.list('data')) {
        if (!this.index.hasPack(f.name) && !this.unindexed.some((p) => p.id === f.name)) orphans.push(f.name);
      }
    } catch (e) {
      throw mapBackendError(e, this.location);
    }
    let blobs = 0;
    let packs = 0;
    await mapLimit(orphans, 4, async (pack) => {
      let entries: PackEntry[];
      try {
        ({ entries } = await this.loadPackHeader(pack));
      } catch (e) {
        if (e instanceof BackendError && (e.kind === 'transient' || e.kind === 'permission')) throw mapBackendError(e, this.location, `pack ${pack}`);
        return;
      }
      for (const en of entries) this.index.add({ ...en, pack });
      this.unindexed.push({ id: pack, blobs: entries.map((e) => ({ id: e.id, type: e.type, offset: e.offset, length: e.length, uncompressedLength: e.uncompressedLength })) });
      this.unindexedBlobs += entries.length;
      blobs += entries.length;
      packs++;
      onPack?.(pack);
    });
    return { packs, blobs };
  }

  // ---- blobs -----------------------------------------------------------------------------------

  hasBlob(type: BlobType, id: ID): boolean {
    return this.index.has(type, id) || this.pending[type].has(id);
  }

  /**
   * Stores a blob unless the repository already has it. Data blobs are compressed only when that
   * shrinks them, so incompressible media costs nothing to restore; trees always compress well.
   */
  async saveBlob(type: BlobType, plaintext: Buffer, knownId?: ID): Promise<SaveBlobResult> {
    this.throwUploadError();
    const id = knownId ?? sha256hex(plaintext);
    if (this.hasBlob(type, id)) return { id, known: true, storedSize: 0 };
    let body: Buffer = plaintext;
    let ulen = 0;
    if (this.version === 2 && plaintext.length > 0) {
      const c = zstdCompress(plaintext);
      if (c.length < plaintext.length) {
        body = c;
        ulen = plaintext.length;
      }
    }
    const stored = encrypt(this.key, body);
    const b = (this.builders[type] ??= new PackBuilder());
    b.add(type, id, stored, ulen);
    this.pending[type].add(id);
    if (b.size >= this.packSize) await this.startPack(type);
    return { id, known: false, storedSize: stored.length };
  }

  /**
   * Waits for every background pack write to end, ignoring their errors. A run that fails or is
   * cancelled calls this before releasing its lock, so no write outlives the lock that covers it.
   */
  async settle(): Promise<void> {
    while (this.uploads.size) await Promise.all(this.uploads);
  }

  private throwUploadError(): void {
    if (this.uploadError !== undefined) throw this.uploadError;
  }

  /** Seals the open pack of a type and writes it in the background, waiting while too many are in flight. */
  private async startPack(type: BlobType): Promise<void> {
    while (this.uploads.size >= MAX_PACK_UPLOADS) await Promise.race(this.uploads);
    this.throwUploadError();
    const tracked: Promise<void> = this.writePack(type)
      .catch((e: unknown) => {
        this.uploadError ??= e;
      })
      .finally(() => this.uploads.delete(tracked));
    this.uploads.add(tracked);
  }

  private async writePack(type: BlobType): Promise<void> {
    const b = this.builders[type];
    if (!b || b.count === 0) return;
    this.builders[type] = undefined;
    const { id, bytes, entries } = b.finish(this.key);
    try {
      await this.backend.save({ type: 'data', name: id }, bytes);
    } catch (e) {
      for (const en of entries) this.pending[type].delete(en.id);
      throw mapBackendError(e, this.location, `pack ${id}`);
    }
    for (const en of entries) {
      this.index.add({ ...en, pack: id });
      this.pending[type].delete(en.id);
    }
    this.unindexed.push({ id, blobs: entries.map((e) => ({ id: e.id, type: e.type, offset: e.offset, length: e.length, uncompressedLength: e.uncompressedLength })) });
    this.unindexedBlobs += entries.length;
    if (this.unindexedBlobs >= INDEX_FLUSH_BLOBS) await this.writeIndex();
  }

  private async writeIndex(): Promise<void> {
    if (this.unindexed.length === 0) return;
    const packs = this.unindexed;
    this.unindexed = [];
    this.unindexedBlobs = 0;
    const id = await this.saveUnpacked('index', encodeIndex({ supersedes: [], packs }));
    this.loadedIndexes.add(id);
  }

  /** Stores any partly filled packs, then an index naming them. Call before saving a snapshot. */
  async flush(): Promise<void> {
    try {
      this.throwUploadError();
      await this.startPack('data');
      await this.startPack('tree');
      await this.settle();
      this.throwUploadError();
    } catch (e) {
      await this.settle();
      throw e;
    }
    await this.writeIndex();
  }

  /** Reads, decrypts, decompresses and verifies one blob, trying each stored copy in turn. */
  async loadBlob(type: BlobType, id: ID): Promise<Buffer> {
    const locations = this.index.lookup(type, id);
    if (locations.length === 0) {
      throw new MamoriError(ErrorCode.MissingObject, `${type} blob ${id} is not in any index`, {
        subject: `${type} blob ${id}`,
        hint: 'The repository is damaged: run "mamori check" to see what is affected.',
      });
    }
    const errors: string[] = [];
    for (const loc of locations) {
      try {
        const raw = await this.backend.load({ type: 'data', name: loc.pack }, loc.offset, loc.length);
        return this.openBlob(raw, { type, id, uncompressedLength: loc.uncompressedLength });
      } catch (e) {
        // An unplugged drive or a network drop is not damage: say so instead of blaming the data.
        if (e instanceof BackendError && (e.kind === 'transient' || e.kind === 'permission')) throw mapBackendError(e, this.location, `pack ${loc.pack}`);
        errors.push(`pack ${loc.pack}: ${e instanceof BackendError && e.kind === 'not-found' ? 'pack file is missing' : (e as Error).message}`);
      }
    }
    const missing = errors.every((m) => m.endsWith('pack file is missing'));
    throw new MamoriError(
      missing ? ErrorCode.MissingObject : ErrorCode.CorruptObject,
      `${type} blob ${id} cannot be read: ${errors.join('; ')}`,
      { subject: `${type} blob ${id}`, hint: 'Run "mamori check --read-data"; restore the file from another destination if you have one.' },
    );
  }

  /** Decrypts a stored blob and checks it against its ID. Used by restore and check on whole packs too. */
  openBlob(stored: Buffer, e: { type: BlobType; id: ID; uncompressedLength: number }): Buffer {
    let plain: Buffer;
    try {
      plain = decrypt(this.key, stored);
    } catch (err) {
      throw new Error(err instanceof MacError ? 'MAC check failed (data damaged)' : (err as Error).message);
    }
    if (e.uncompressedLength) {
      try {
        plain = zstdDecompress(plain, e.uncompressedLength);
      } catch (err) {
        throw new Error(`decompression failed: ${(err as Error).message}`);
      }
    }
    if (sha256hex(plain) !== e.id) throw new Error('content hash does not match the blob ID');
    return plain;
  }

  /** Reads the header of a pack file. */
  async loadPackHeader(pack: ID): Promise<{ entries: PackEntry[]; size: number }> {
    const h = { type: 'data' as const, name: pack };
    const { size } = await this.backend.stat(h);
    let want = Math.min(size, 64 * 1024);
    for (;;) {
      const tail = await this.backend.load(h, size - want, want);
      const r = parsePackTail(this.key, tail, size);
      if (!('need' in r)) return { entries: r, size };
      if (r.need > size) throw new Error(`pack header length exceeds the pack size`);
      want = r.need;
    }
  }

  get cryptoOverhead(): number {
    return CRYPTO_OVERHEAD;
  }

  // ---- trees and snapshots ---------------------------------------------------------------------

  async loadTree(id: ID): Promise<TreeNode[]> {
    const buf = await this.loadBlob('tree', id);
    try {
      return decodeTree(buf);
    } catch (e) {
      throw new MamoriError(ErrorCode.CorruptObject, `tree ${id} cannot be decoded: ${(e as Error).message}`, { subject: `tree ${id}` });
    }
  }

  async saveTree(nodes: TreeNode[]): Promise<ID> {
    return (await this.saveBlob('tree', encodeTree(nodes))).id;
  }

  async saveSnapshot(sn: Snapshot): Promise<ID> {
    return this.saveUnpacked('snapshot', encodeSnapshot(sn));
  }

  async loadSnapshot(id: ID): Promise<SnapshotWithId> {
    const buf = await this.loadUnpacked('snapshot', id);
    try {
      return { ...decodeSnapshot(buf), id };
    } catch (e) {
      throw new MamoriError(ErrorCode.CorruptObject, `snapshot ${id} cannot be decoded: ${(e as Error).message}`, { subject: `snapshot ${id}` });
    }
  }

  /** All snapshots, oldest first. */
  async listSnapshots(): Promise<SnapshotWithId[]> {
    const ids = await this.listIds('snapshot');
    const out: SnapshotWithId[] = [];
    await mapLimit(ids, 8, async (id) => {
      out.push(await this.loadSnapshot(id));
    });
    return sortSnapshots(out);
  }

  /** Resolves "latest", a full ID or a unique ID prefix. */
  async resolveSnapshot(ref: string, filter?: { paths?: string[]; hostname?: string }): Promise<SnapshotWithId> {
    if (ref === 'latest') {
      let all = await this.listSnapshots();
      if (filter?.hostname) all = all.filter((s) => s.hostname === filter.hostname);
      if (filter?.paths?.length) all = all.filter((s) => sameSet(s.paths, filter.paths!));
      const last = all[all.length - 1];
      if (!last) throw new MamoriError(ErrorCode.SnapshotNotFound, `no snapshot in ${this.location}${filter ? ' matches' : ''}`, { subject: this.location, hint: 'Run a backup first.' });
      return last;
    }
    if (!/^[0-9a-f]{1,64}$/.test(ref)) {
      throw new MamoriError(ErrorCode.InvalidRequest, `"${ref}" is not a snapshot ID: use an ID, an ID prefix or "latest"`);
    }
    const ids = (await this.listIds('snapshot')).filter((id) => id.startsWith(ref));
    if (ids.length === 0) throw new MamoriError(ErrorCode.SnapshotNotFound, `no snapshot ${ref} in ${this.location}`, { subject: ref, hint: 'List them with "mamori snapshots".' });
    if (ids.length > 1) throw new MamoriError(ErrorCode.AmbiguousSnapshot, `"${ref}" matches ${ids.length} snapshots: give more characters`, { subject: ref });
    return this.loadSnapshot(ids[0]);
  }

  // ---- locks -----------------------------------------------------------------------------------

  saveLock(json: Buffer): Promise<string> {
    return this.saveUnpacked('lock', json);
  }
  loadLock(id: string): Promise<Buffer> {
    return this.loadUnpacked('lock', id);
  }
  async *listLocks(): AsyncIterable<string> {
    for await (const f of this.backend.list('lock')) yield f.name;
  }
  removeLock(id: string): Promise<void> {
    return this.backend.remove({ type: 'lock', name: id });
  }

  lock(exclusive: boolean): Promise<Lock> {
    return acquireLock(this, { exclusive, clock: this.clock, hostname: this.hostname, username: this.username });
  }

  /** Removes locks left by processes that are gone (all locks with removeAll). Returns their IDs. */
  unlock(removeAll = false): Promise<string[]> {
    return removeStaleLocks(this, { clock: this.clock, hostname: this.hostname, removeAll });
  }

  /** Runs fn under a lock; the lock is released whatever happens. */
  async withLock<T>(exclusive: boolean, fn: () => Promise<T>): Promise<T> {
    const l = await this.lock(exclusive);
    try {
      return await fn();
    } finally {
      await l.release().catch(() => undefined);
    }
  }

  // ---- keys ------------------------------------------------------------------------------------

  async listKeys(): Promise<KeyInfo[]> {
    const out: KeyInfo[] = [];
    for (const id of await this.listIds('key')) {
      try {
        const kf = parseKeyFile(await this.backend.load({ type: 'key', name: id }));
        out.push({ id, current: id === this.keyId, username: kf.username, hostname: kf.hostname, created: kf.created });
      } catch (e) {
        out.push({ id, current: id === this.keyId, username: '', hostname: '', created: `unreadable: ${(e as Error).message}` });
      }
    }
    return out.sort((a, b) => a.created.localeCompare(b.created));
  }

  /** Adds a key file for the same master key, opened by another password. */
  async addKey(password: string, kdf: KdfParams = DEFAULT_KDF): Promise<ID> {
    if (!password) throw new MamoriError(ErrorCode.InvalidRequest, 'an empty password is not allowed');
    const kf = await createKeyFile(password, this.key, { created: this.nowGo(), username: this.username, hostname: this.hostname }, kdf);
    await this.backend.save({ type: 'key', name: kf.id }, kf.bytes);
    return kf.id;
  }

  async removeKey(id: ID): Promise<void> {
    if (id === this.keyId) {
      throw new MamoriError(ErrorCode.KeyError, 'refusing to remove the key in use', { subject: id, hint: 'Open the repository with another password to remove this key, or use "key passwd".' });
    }
    const ids = await this.listIds('key');
    if (!ids.includes(id)) throw new MamoriError(ErrorCode.KeyError, `no key ${id}`, { subject: id });
    await this.backend.remove({ type: 'key', name: id });
  }

  /** Changes the password: a new key file for the same master key, then the old one removed. */
  async changePassword(newPassword: string, kdf: KdfParams = DEFAULT_KDF): Promise<ID> {
    const old = this.keyId;
    const id = await this.addKey(newPassword, kdf);
    this.keyId = id;
    await this.backend.remove({ type: 'key', name: old });
    return id;
  }
}

function parseConfig(plain: Buffer, location: string): RepoConfig {
  let j: { version?: unknown; id?: unknown; chunker_polynomial?: unknown };
  try {
    j = JSON.parse(plain.toString('utf8'));
  } catch {
    throw new MamoriError(ErrorCode.CorruptObject, `the config file of ${location} is not valid JSON`, { subject: `${location}/config` });
  }
  if (j.version !== 1 && j.version !== 2) {
    throw new MamoriError(ErrorCode.UnsupportedVersion, `${location} uses repository format version ${JSON.stringify(j.version)}, which this Mamori does not know (it reads versions 1 and 2)`, {
      subject: location,
      hint: 'Update Mamori, or use a restic release that supports this version.',
    });
  }
  if (typeof j.id !== 'string' || !HEX64.test(j.id) || typeof j.chunker_polynomial !== 'string') {
    throw new MamoriError(ErrorCode.CorruptObject, `the config file of ${location} lacks an id or chunker polynomial`, { subject: `${location}/config` });
  }
  try {
    parsePolynomial(j.chunker_polynomial);
  } catch (e) {
    throw new MamoriError(ErrorCode.CorruptObject, `the config file of ${location} has an invalid chunker polynomial: ${(e as Error).message}`, { subject: `${location}/config` });
  }
  return { version: j.version, id: j.id, chunkerPolynomial: j.chunker_polynomial };
}

/** Turns a backend failure into a MamoriError a user can act on. */
export function mapBackendError(e: unknown, location: string, subject?: string): unknown {
  if (!(e instanceof BackendError)) return e;
  const what = subject ?? location;
  switch (e.kind) {
    case 'not-found':
      return new MamoriError(ErrorCode.MissingObject, `${what} is missing in ${location}: ${e.message}`, { subject: what, hint: 'Check that the destination is connected, then run "mamori check".' }, { cause: e });
    case 'permission':
      return new MamoriError(ErrorCode.PermissionDenied, e.message, { subject: what, hint: 'Check the permissions of the destination.' }, { cause: e });
    case 'no-space':
      return new MamoriError(ErrorCode.NoSpace, e.message, { subject: what, hint: 'Free space on the destination or choose another one.' }, { cause: e });
    case 'transient':
      return new MamoriError(ErrorCode.Transient, e.message, { subject: what, hint: 'Check that the destination is connected and try again.' }, { cause: e });
    default:
      return new MamoriError(ErrorCode.Internal, e.message, { subject: what }, { cause: e });
  }
}

export function sortSnapshots<T extends Snapshot & { id: ID }>(list: T[]): T[] {
  return list.sort((a, b) => {
    const ta = snapshotTimeNs(a);
    const tb = snapshotTimeNs(b);
    return ta < tb ? -1 : ta > tb ? 1 : a.id.localeCompare(b.id);
  });
}

function snapshotTimeNs(s: Snapshot): bigint {
  try {
    return parseGoTime(s.time);
  } catch {
    return 0n;
  }
}

function sameSet(a: string[], b: string[]): boolean {
  return a.length === b.length && [...a].sort().join('\0') === [...b].sort().join('\0');
}

/** Runs fn over items with at most `limit` in flight. */
export async function mapLimit<T>(items: readonly T[], limit: number, fn: (item: T, i: number) => Promise<void>): Promise<void> {
  let next = 0;
  const workers = Array.from({ length: Math.min(limit, items.length) }, async () => {
    while (next < items.length) {
      const i = next++;
      await fn(items[i], i);
    }
  });
  await Promise.all(workers);
}
