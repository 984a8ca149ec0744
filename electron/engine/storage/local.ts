// LocalBackend: a restic repository in a local folder (internal disk, external drive, NAS mount).
//
// It uses restic's default layout (config, keys/, snapshots/, index/, locks/, data/<2 hex>/) and
// behaves like restic 0.14's local backend where it matters for sharing a repository with restic:
// `create` makes all 256 data/XX folders, folders are 0700, files end read-only (0400), and files
// are written under `<name>-tmp-<random>` in their final folder and then moved into place.
//
// Where it deliberately differs from restic: it never overwrites an existing file. Repository
// files are content-addressed, so an existing name means either the same bytes (a retried save)
// or damage we must not paper over; and config must never be replaced behind the user's back.
// Errors are classified into BackendError kinds with messages that name the file and say what to
// do, because the most common failures here are physical (drive full, unplugged, mounted read-only).

import { randomBytes } from 'node:crypto';
import { promises as fsp } from 'node:fs';
import type { FileHandle } from 'node:fs/promises';
import { basename, dirname, join, resolve } from 'node:path';
import { BackendError, checkAppFileName } from './backend';
import type { Backend, BackendErrorKind, FileInfo, FileType, Handle } from './backend';

const ID_RE = /^[0-9a-f]{64}$/;
const DATA_SUBDIR_RE = /^[0-9a-f]{2}$/;

// restic 0.14 defaults; group-readable repositories are not supported yet.
const DIR_MODE = 0o700;
const TMP_FILE_MODE = 0o600;
const FINAL_FILE_MODE = 0o400;

// How many stat() calls list() keeps in flight: a data folder can hold thousands of packs, and on
// a NAS each stat is a network round trip.
const LIST_STAT_CONCURRENCY = 32;

const TYPE_DIRS: Record<Exclude<FileType, 'config'>, string> = {
  key: 'keys',
  snapshot: 'snapshots',
  index: 'index',
  lock: 'locks',
  data: 'data',
};

/** Maps a Node errno code to the kind of failure callers act on (retry, wait, give up). */
export function classifyErrno(code: string | undefined): BackendErrorKind {
  switch (code) {
    case 'ENOENT':
      return 'not-found';
    case 'EACCES':
    case 'EPERM':
    case 'EROFS':
      return 'permission';
    case 'ENOSPC':
    case 'EDQUOT':
      return 'no-space';
    // What an unplugged USB drive or a lost NFS/SMB mount looks like: worth retrying once the
    // user reconnects it.
    case 'EIO':
    case 'ENXIO':
    case 'ENODEV':
    case 'ETIMEDOUT':
    case 'ESTALE':
      return 'transient';
    default:
      return 'other';
  }
}

function errnoCode(err: unknown): string | undefined {
  const code = (err as { code?: unknown } | null)?.code;
  return typeof code === 'string' ? code : undefined;
}

/**
 * Wraps a Node fs error into a BackendError whose message names the path and says what to do.
 * `action` is a phrase such as "saving index <id>" or "listing"; BackendErrors pass through unchanged.
 */
export function toBackendError(err: unknown, action: string, path: string, h?: Handle): BackendError {
  if (err instanceof BackendError) return err;
  const code = errnoCode(err);
  const kind = classifyErrno(code);
  let message: string;
  switch (kind) {
    case 'not-found':
      message = `not found: ${path} (while ${action}): check that the destination is connected and the repository path is right`;
      break;
    case 'permission':
      message = `permission denied on ${path} (while ${action}${code === 'EROFS' ? ', file system is read-only' : ''}): `
        + 'make the destination writable for the user running Mamori, or check that it is not mounted read-only';
      break;
    case 'no-space':
      message = `no space left on ${path}${code === 'EDQUOT' ? ' (disk quota exceeded)' : ''}: `
        + 'free space on the destination or choose another one';
      break;
    case 'transient':
      message = `I/O error on ${path} (${code}, while ${action}): the drive may have been unplugged or the network `
        + 'mount lost; reconnect it and try again';
      break;
    default: {
      const detail = err instanceof Error ? err.message : String(err);
      message = `${action} failed at ${path}: ${detail}`;
    }
  }
  return new BackendError(kind, message, h, { cause: err });
}

function isId(name: string): boolean {
  return ID_RE.test(name);
}

function label(h: Handle): string {
  return h.type === 'config' ? 'config' : `${h.type} ${h.name}`;
}

export class LocalBackend implements Backend {
  readonly location: string;
  /** Set once link() turned out unsupported (FAT/exFAT, some SMB mounts) so we stop trying. */
  private noHardLinks = false;

  constructor(path: string) {
    this.location = resolve(path);
  }

  /** The file's path in restic's default layout. Validates the handle so no name can escape the folder. */
  filename(h: Handle): string {
    if (h.type === 'config') {
      if (h.name !== '') throw new BackendError('other', `invalid handle: config must have an empty name, got "${h.name}"`, h);
      return join(this.location, 'config');
    }
    const dir = TYPE_DIRS[h.type];
    if (dir === undefined) throw new BackendError('other', `invalid handle: unknown file type "${String(h.type)}"`, h);
    if (!isId(h.name)) {
      throw new BackendError('other', `invalid handle: ${h.type} name must be 64 lowercase hex characters, got "${h.name}"`, h);
    }
    if (h.type === 'data') return join(this.location, dir, h.name.slice(0, 2), h.name);
    return join(this.location, dir, h.name);
  }

  async create(): Promise<void> {
    const configPath = join(this.location, 'config');
    try {
      await fsp.lstat(configPath);
      throw new BackendError('other', `a repository already exists at ${this.location} (it has a config file): `
        + 'open it instead, or choose an empty folder', { type: 'config', name: '' });
    } catch (err) {
      if (err instanceof BackendError) throw err;
      if (errnoCode(err) !== 'ENOENT') throw toBackendError(err, 'creating the repository', configPath);
    }
    let current = this.location;
    try {
      await fsp.mkdir(this.location, { recursive: true, mode: DIR_MODE });
      for (const dir of Object.values(TYPE_DIRS)) {
        current = join(this.location, dir);
        await fsp.mkdir(current, { recursive: true, mode: DIR_MODE });
      }
      const dataDir = join(this.location, 'data');
      // restic 0.14 init creates them all; tools that expect them (and restic's own list) then never
      // meet a missing folder.
      const subdirs = Array.from({ length: 256 }, (_, i) => join(dataDir, i.toString(16).padStart(2, '0')));
      await Promise.all(subdirs.map((d) => fsp.mkdir(d, { recursive: true, mode: DIR_MODE })));
      current = dataDir;
      await fsyncDir(dataDir);
      current = this.location;
      await fsyncDir(this.location);
      // Only matters when we created the root itself; the parent may not even be readable to us.
      await fsyncDir(dirname(this.location)).catch(() => undefined);
    } catch (err) {
      throw toBackendError(err, 'creating the repository folder', current);
    }
  }

  async save(h: Handle, data: Buffer): Promise<void> {
    const finalPath = this.filename(h);
    const dir = dirname(finalPath);
    // Same folder as the final name so the rename is atomic; the final name is embedded so a
    // leftover from a crash tells what it was.
    const tmpPath = join(dir, `${basename(finalPath)}-tmp-${randomBytes(8).toString('hex')}`);
    let fh: FileHandle | undefined;
    let tmpCreated = false;
    // Errors name the final path (what the user recognises), or the folder we failed to create.
    let current = finalPath;
    try {
      try {
        fh = await fsp.open(tmpPath, 'wx', TMP_FILE_MODE);
      } catch (err) {
        // Repositories made by other tools (or pruned by hand) may lack a data/XX folder. Not
        // recursive on purpose: if the repository folder itself is gone (drive unmounted), creating
        // it again would quietly write the backup onto the mount point's own disk.
        if (errnoCode(err) !== 'ENOENT') throw err;
        current = dir;
        await fsp.mkdir(dir, { mode: DIR_MODE }).catch((e: unknown) => {
          if (errnoCode(e) !== 'EEXIST') throw e;
        });
        await fsyncDir(dirname(dir));
        current = finalPath;
        fh = await fsp.open(tmpPath, 'wx', TMP_FILE_MODE);
      }
      tmpCreated = true;
      await fh.writeFile(data);
      await syncFile(fh);
      // Read-only before it becomes visible, so there is no moment where the final file is
      // writable. Some file systems (exFAT, certain NAS mounts) refuse chmod: keep going, as restic does.
      await fh.chmod(FINAL_FILE_MODE).catch((err: unknown) => {
        if (!['EPERM', 'ENOTSUP', 'EOPNOTSUPP', 'EINVAL'].includes(errnoCode(err) ?? '')) throw err;
      });
      const closing = fh;
      fh = undefined;
      await closing.close();

      await this.moveIntoPlace(tmpPath, finalPath, h);
      tmpCreated = false;
      current = dir;
      await fsyncDir(dir);
    } catch (err) {
      if (fh) await fh.close().catch(() => undefined);
      if (tmpCreated) await removeFile(tmpPath).catch(() => undefined);
      throw toBackendError(err, `saving ${label(h)}`, current, h);
    }
  }

  /**
   * Moves the finished temporary file to its final name without ever replacing an existing file.
   * rename() would silently overwrite, so we hard-link (which fails with EEXIST) and then drop the
   * temporary name; on file systems without hard links we fall back to check-then-rename, whose race
   * only matters for two concurrent saves of the same content-addressed name, i.e. the same bytes.
   */
  private async moveIntoPlace(tmpPath: string, finalPath: string, h: Handle): Promise<void> {
    if (!this.noHardLinks) {
      try {
        await fsp.link(tmpPath, finalPath);
        // The file is saved once linked: a leftover temporary name is harmless (list skips it).
        await removeFile(tmpPath).catch(() => undefined);
        return;
      } catch (err) {
        const code = errnoCode(err);
        if (code === 'EEXIST') throw existsError(finalPath, h);
        if (!['EPERM', 'ENOTSUP', 'EOPNOTSUPP', 'ENOSYS'].includes(code ?? '')) throw err;
        this.noHardLinks = true;
      }
    }
    if (await pathExists(finalPath)) throw existsError(finalPath, h);
    await fsp.rename(tmpPath, finalPath);
  }

  async load(h: Handle, offset = 0, length?: number): Promise<Buffer> {
    const path = this.filename(h);
    if (!Number.isSafeInteger(offset) || offset < 0 || (length !== undefined && (!Number.isSafeInteger(length) || length < 0))) {
      throw new BackendError('other', `invalid range for ${path}: offset ${offset}, length ${String(length)}`, h);
    }
    let fh: FileHandle | undefined;
    try {
      fh = await fsp.open(path, 'r');
      const size = (await fh.stat()).size;
      const want = length ?? Math.max(0, size - offset);
      if (offset + want > size) throw shortRead(path, h, offset, want, size);
      const buf = Buffer.allocUnsafe(want);
      let filled = 0;
      while (filled < want) {
        const { bytesRead } = await fh.read(buf, filled, want - filled, offset + filled);
        // The file shrank under us (or the network mount lied about its size).
        if (bytesRead === 0) throw shortRead(path, h, offset, want, offset + filled);
        filled += bytesRead;
      }
      return buf;
    } catch (err) {
      throw toBackendError(err, `reading ${label(h)}`, path, h);
    } finally {
      if (fh) await fh.close().catch(() => undefined);
    }
  }

  async stat(h: Handle): Promise<FileInfo> {
    const path = this.filename(h);
    try {
      const st = await fsp.stat(path);
      return { name: h.name, size: st.size };
    } catch (err) {
      throw toBackendError(err, `checking ${label(h)}`, path, h);
    }
  }

  async *list(type: FileType): AsyncIterable<FileInfo> {
    if (type === 'config') {
      // Listing config is meaningless in restic too; answer with what exists so callers need no special case.
      try {
        const st = await fsp.stat(join(this.location, 'config'));
        if (st.isFile()) yield { name: '', size: st.size };
      } catch (err) {
        if (errnoCode(err) !== 'ENOENT') throw toBackendError(err, 'listing', join(this.location, 'config'));
      }
      return;
    }
    const base = join(this.location, TYPE_DIRS[type]);
    if (type !== 'data') {
      yield* this.listFolder(base, null);
      return;
    }
    const subdirs = await this.readdirOrEmpty(base);
    for (const sub of subdirs.sort()) {
      // Foreign folders under data/ (and stray files) are not ours to read.
      if (!DATA_SUBDIR_RE.test(sub)) continue;
      yield* this.listFolder(join(base, sub), sub);
    }
  }

  /** Files of one folder whose names are IDs; with `prefix`, only those that load() could reach there. */
  private async *listFolder(dir: string, prefix: string | null): AsyncIterable<FileInfo> {
    let names: string[];
    try {
      names = await fsp.readdir(dir);
    } catch (err) {
      const code = errnoCode(err);
      if (prefix !== null && (code === 'ENOTDIR' || code === 'ENOENT')) return;
      if (code === 'ENOENT') {
        await this.assertRootExists(dir);
        return;
      }
      throw toBackendError(err, 'listing', dir);
    }
    const ids = names.filter((n) => isId(n) && (prefix === null || n.startsWith(prefix)));
    for (let i = 0; i < ids.length; i += LIST_STAT_CONCURRENCY) {
      const batch = ids.slice(i, i + LIST_STAT_CONCURRENCY);
      const infos = await Promise.all(batch.map(async (name): Promise<FileInfo | null> => {
        const path = join(dir, name);
        try {
          const st = await fsp.stat(path);
          return st.isFile() ? { name, size: st.size } : null;
        } catch (err) {
          // Removed between readdir and stat (a concurrent prune or lock release): not an error.
          if (errnoCode(err) === 'ENOENT') return null;
          throw toBackendError(err, 'listing', path);
        }
      }));
      for (const info of infos) if (info) yield info;
    }
  }

  private async readdirOrEmpty(dir: string): Promise<string[]> {
    try {
      return await fsp.readdir(dir);
    } catch (err) {
      if (errnoCode(err) === 'ENOENT') {
        await this.assertRootExists(dir);
        return [];
      }
      throw toBackendError(err, 'listing', dir);
    }
  }

  /**
   * A missing type folder just means "no files of that type", but a missing repository folder
   * usually means an unplugged drive or unmounted share: say so instead of listing nothing.
   */
  private async assertRootExists(missing: string): Promise<void> {
    try {
      await fsp.stat(this.location);
    } catch (err) {
      throw toBackendError(err, 'listing', errnoCode(err) === 'ENOENT' ? this.location : missing);
    }
  }

  async remove(h: Handle): Promise<void> {
    const path = this.filename(h);
    try {
      await removeFile(path);
    } catch (err) {
      throw toBackendError(err, `removing ${label(h)}`, path, h);
    }
  }

  async hasConfig(): Promise<boolean> {
    const path = join(this.location, 'config');
    try {
      return (await fsp.stat(path)).isFile();
    } catch (err) {
      const code = errnoCode(err);
      if (code === 'ENOENT' || code === 'ENOTDIR') return false;
      throw toBackendError(err, 'checking for a repository', path);
    }
  }

  async writeAppFile(name: string, data: Buffer): Promise<void> {
    checkAppFileName(name);
    const dir = join(this.location, 'app');
    const finalPath = join(dir, name);
    const tmpPath = join(dir, `.${name}-tmp-${randomBytes(8).toString('hex')}`);
    let current = dir;
    try {
      // Not recursive: a missing repository folder means the drive is not there.
      await fsp.mkdir(dir, { mode: DIR_MODE }).catch((e: unknown) => {
        if (errnoCode(e) !== 'EEXIST') throw e;
      });
      current = finalPath;
      const fh = await fsp.open(tmpPath, 'wx', TMP_FILE_MODE);
      try {
        await fh.writeFile(data);
        await syncFile(fh);
      } finally {
        await fh.close();
      }
      // Replacing is intended here: the marker's facts change (media kind, place, last check).
      await fsp.rename(tmpPath, finalPath);
      await fsyncDir(dir);
    } catch (err) {
      await removeFile(tmpPath).catch(() => undefined);
      throw toBackendError(err, `writing app/${name}`, current);
    }
  }

  async readAppFile(name: string): Promise<Buffer | undefined> {
    checkAppFileName(name);
    const path = join(this.location, 'app', name);
    try {
      return await fsp.readFile(path);
    } catch (err) {
      if (errnoCode(err) === 'ENOENT') return undefined;
      throw toBackendError(err, `reading app/${name}`, path);
    }
  }

  async close(): Promise<void> {
    // Nothing to release: every operation opens and closes its own file handles.
  }
}

function existsError(path: string, h: Handle): BackendError {
  return new BackendError('other', `refusing to overwrite ${path}: it already exists `
    + '(repository files are never replaced; if this follows an interrupted save, the file is already stored)', h);
}

function shortRead(path: string, h: Handle, offset: number, length: number, size: number): BackendError {
  return new BackendError('other', `short read: ${path} has ${size} bytes but bytes ${offset}..${offset + length} were `
    + 'requested: the file is truncated or damaged; run a check of this repository', h);
}

async function pathExists(path: string): Promise<boolean> {
  try {
    await fsp.lstat(path);
    return true;
  } catch (err) {
    if (errnoCode(err) === 'ENOENT') return false;
    throw err;
  }
}

/**
 * unlink() ignores a file's own mode on POSIX, but Windows refuses to delete read-only files:
 * there, clear the flag and try again.
 */
async function removeFile(path: string): Promise<void> {
  try {
    await fsp.unlink(path);
  } catch (err) {
    const code = errnoCode(err);
    if (code !== 'EPERM' && code !== 'EACCES') throw err;
    await fsp.chmod(path, 0o600).catch(() => undefined);
    await fsp.unlink(path);
  }
}

// fsync is not supported everywhere (some FUSE and SMB mounts): like restic, treat that as "no
// stronger guarantee available" rather than a failed save.
const SYNC_UNSUPPORTED = ['EINVAL', 'ENOTSUP', 'EOPNOTSUPP', 'ENOTTY'];

async function syncFile(fh: FileHandle): Promise<void> {
  try {
    await fh.sync();
  } catch (err) {
    if (!SYNC_UNSUPPORTED.includes(errnoCode(err) ?? '')) throw err;
  }
}

/** Makes a rename or a new entry in `dir` durable. Windows cannot open folders for fsync. */
async function fsyncDir(dir: string): Promise<void> {
  if (process.platform === 'win32') return;
  let fh: FileHandle | undefined;
  try {
    fh = await fsp.open(dir, 'r');
    await fh.sync();
  } catch (err) {
    if (![...SYNC_UNSUPPORTED, 'EISDIR', 'EBADF'].includes(errnoCode(err) ?? '')) throw err;
  } finally {
    if (fh) await fh.close().catch(() => undefined);
  }
}
