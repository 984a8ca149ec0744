// Export a restore point (or a selection of it) as a zip or tar.gz, streamed: file contents are read
// blob by blob from the repository and piped into the archive, so memory stays bounded whatever the
// size; zip64 is used as needed for files and archives over 4 GiB (archiver handles it).
// Names inside the archive are relative to the selection's parent ("Documents/a.txt"), never
// absolute and never with "..", so unpacking cannot write outside the chosen folder.
// The archive is written to a temporary name and renamed when complete.

import { randomBytes } from 'node:crypto';
import { createWriteStream } from 'node:fs';
import { lstat, rename, rm } from 'node:fs/promises';
import { basename, dirname, join, posix } from 'node:path';
import { Readable } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import { TarArchive, ZipArchive, type Archiver } from 'archiver';
import { ErrorCode, MamoriError } from '../../../shared/errors';
import { parseGoTime, type Repository, type SnapshotWithId, type TreeNode } from '../repo';
import { findNode, walkTree } from '../restore';

export interface ExportOptions {
  format: 'zip' | 'tar.gz';
  paths: string[];
  target: string;
  onProgress?: (p: { filesDone: number; bytesDone: number; currentPath?: string }) => void;
  signal?: AbortSignal;
}

function goTimeToDate(t: string): Date {
  try {
    return new Date(Number(parseGoTime(t) / 1_000_000n));
  } catch {
    return new Date(0);
  }
}

function fileStream(repo: Repository, node: TreeNode): Readable {
  const ids = node.content ?? [];
  let i = 0;
  return new Readable({
    async read() {
      try {
        if (i >= ids.length) {
          this.push(null);
          return;
        }
        this.push(await repo.loadBlob('data', ids[i++]));
      } catch (e) {
        this.destroy(e as Error);
      }
    },
  });
}

export async function exportArchive(repo: Repository, snapshot: SnapshotWithId, o: ExportOptions): Promise<{ files: number; bytes: number; target: string }> {
  const paths = o.paths.length ? o.paths : snapshot.paths;
  if (await lstat(o.target).then(() => true, () => false)) {
    throw new MamoriError(ErrorCode.InvalidRequest, `${o.target} already exists`, { subject: o.target, hint: 'Choose a new file name: an export never replaces a file.' });
  }
  const tmp = join(dirname(o.target), `.${basename(o.target)}.tmp-${randomBytes(6).toString('hex')}`);
  const archive: Archiver = o.format === 'zip' ? new ZipArchive({ zlib: { level: 6 } }) : new TarArchive({ gzip: true, gzipOptions: { level: 6 } });
  const out = createWriteStream(tmp, { flags: 'wx', mode: 0o600 });
  const done = pipeline(archive, out);
  let files = 0;
  let bytes = 0;
  try {
    for (const sel of paths) {
      const node = await findNode(repo, snapshot, sel);
      if (!node) throw new MamoriError(ErrorCode.PathNotFound, `${sel} is not in this restore point`, { subject: sel });
      const base = posix.dirname(sel);
      const rel = (p: string): string => posix.relative(base, p);
      const add = async (path: string, n: TreeNode): Promise<void> => {
        if (o.signal?.aborted) throw new MamoriError(ErrorCode.InvalidRequest, 'export cancelled');
        const name = rel(path);
        if (!name || name.startsWith('..')) return;
        const date = goTimeToDate(n.mtime);
        const mode = n.mode & 0o7777;
        if (n.type === 'dir') archive.append('', { name: `${name}/`, date, mode, type: 'directory' } as never);
        else if (n.type === 'symlink' && n.linktarget !== undefined) archive.symlink(name, n.linktarget.toString("utf8"), mode);
        else if (n.type === 'file') {
          const stream = fileStream(repo, n);
          archive.append(stream, { name, date, mode });
          // One file at a time: archiver reads entries in order; waiting keeps memory flat.
          await new Promise<void>((resolve, reject) => {
            stream.on('end', resolve);
            stream.on('error', reject);
          });
          files++;
          bytes += n.size ?? 0;
          o.onProgress?.({ filesDone: files, bytesDone: bytes, currentPath: path });
        }
      };
      await add(sel, node);
      if (node.type === 'dir' && node.subtree) {
        for await (const { path, node: child } of walkTree(repo, node.subtree, sel === '/' ? '' : sel)) await add(path, child);
      }
    }
    await archive.finalize();
    await done;
    await rename(tmp, o.target);
    return { files, bytes, target: o.target };
  } catch (e) {
    archive.abort();
    await done.catch(() => undefined);
    await rm(tmp, { force: true });
    throw e;
  }
}
