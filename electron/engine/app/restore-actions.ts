// One-click restores that never silently destroy current files:
// - beside (the default): each restored item lands next to its original as
//   "report (restored 2026-11-22).docx", never replacing anything;
// - folder: into a folder the user chose (restic's layout below it);
// - in place: only after explicit confirmation, and the current file or folder is first moved aside as
//   "report (before restore 2026-11-22).docx", then the restored one takes its name.
// Everything is first restored into a staging folder beside the originals (same file system, so the
// final step is a rename), which is removed afterwards whatever happens.

import { randomBytes } from 'node:crypto';
import { lstat, mkdir, rename, rm } from 'node:fs/promises';
import { basename, dirname, extname, join } from 'node:path';
import { ErrorCode, MamoriError } from '../../../shared/errors';
import type { Repository, SnapshotWithId } from '../repo';
import { restoreSnapshot } from '../restore';
import type { RestoreProgress, RestoreResult } from '../restore/types';

export type RestoreMode = 'beside' | 'folder' | 'in-place';

export interface RestoreActionOptions {
  mode: RestoreMode;
  /** Paths inside the snapshot; empty = every path the snapshot was taken of. */
  paths: string[];
  /** For mode 'folder'. */
  target?: string;
  /** Required for 'in-place'. */
  confirmInPlace?: boolean;
  /** The date used in names ("restored 2026-11-22"). */
  today: Date;
  onProgress?: (p: RestoreProgress) => void;
  signal?: AbortSignal;
}

export interface RestoreActionResult extends RestoreResult {
  /** Where each restored item ended up (original path -> new path). */
  placed: { path: string; to: string }[];
  /** In-place: where the current files were moved. */
  movedAside: { path: string; to: string }[];
  target: string;
}

async function exists(p: string): Promise<boolean> {
  try {
    await lstat(p);
    return true;
  } catch {
    return false;
  }
}

/** "report.docx" -> "report (restored 2026-11-22).docx", adding " 2", " 3" until the name is free. */
export async function freeSiblingName(path: string, label: string): Promise<string> {
  const dir = dirname(path);
  const base = basename(path);
  // A folder or a dot file keeps its whole name; otherwise the label goes before the extension.
  const ext = extname(base) && !base.startsWith('.') ? extname(base) : '';
  const stem = ext ? base.slice(0, -ext.length) : base;
  for (let i = 1; ; i++) {
    const candidate = join(dir, `${stem} (${label}${i > 1 ? ` ${i}` : ''})${ext}`);
    if (!(await exists(candidate))) return candidate;
  }
}

function dateLabel(d: Date): string {
  const pad = (n: number): string => String(n).padStart(2, '0');
  return `${d.getFullYear()}-${pad(d.getMonth() + 1)}-${pad(d.getDate())}`;
}

export async function restoreAction(repo: Repository, snapshot: SnapshotWithId, o: RestoreActionOptions): Promise<RestoreActionResult> {
  const paths = o.paths.length ? o.paths : snapshot.paths;
  for (const p of paths) {
    if (!p.startsWith('/') || p.split('/').includes('..')) {
      throw new MamoriError(ErrorCode.UnsafePath, `cannot restore "${p}": not an absolute path inside the restore point`, { subject: p });
    }
  }
  if (o.mode === 'folder') {
    if (!o.target) throw new MamoriError(ErrorCode.InvalidRequest, 'choose a folder to restore into');
    await mkdir(o.target, { recursive: true });
    const r = await restoreSnapshot(repo, snapshot, { target: o.target, include: paths, ...(o.onProgress ? { onProgress: o.onProgress } : {}), ...(o.signal ? { signal: o.signal } : {}) });
    return { ...r, placed: paths.map((p) => ({ path: p, to: join(o.target!, p) })), movedAside: [], target: o.target };
  }
  if (o.mode === 'in-place' && !o.confirmInPlace) {
    throw new MamoriError(ErrorCode.InvalidRequest, 'restoring in place needs your confirmation', {
      hint: 'Confirm that the current files may be moved aside (they are kept, renamed "(before restore …)").',
    });
  }
  // Every item's parent folder must exist: that is where it goes back.
  const parents = [...new Set(paths.map((p) => dirname(p)))];
  for (const parent of parents) {
    if (!(await exists(parent))) {
      throw new MamoriError(ErrorCode.PathNotFound, `the original folder ${parent} no longer exists`, {
        subject: parent,
        hint: 'Restore into a folder of your choice instead.',
      });
    }
  }
  const today = dateLabel(o.today);
  const result: RestoreActionResult = { filesRestored: 0, dirsRestored: 0, bytesRestored: 0, errors: [], placed: [], movedAside: [], target: parents[0] };
  for (const parent of parents) {
    const staging = join(parent, `.mamori-restore-${randomBytes(6).toString('hex')}`);
    await mkdir(staging, { mode: 0o700 });
    try {
      const mine = paths.filter((p) => dirname(p) === parent);
      const r = await restoreSnapshot(repo, snapshot, { target: staging, include: mine, ...(o.onProgress ? { onProgress: o.onProgress } : {}), ...(o.signal ? { signal: o.signal } : {}) });
      result.filesRestored += r.filesRestored;
      result.dirsRestored += r.dirsRestored;
      result.bytesRestored += r.bytesRestored;
      result.errors.push(...r.errors);
      for (const p of mine) {
        const staged = join(staging, p);
        if (!(await exists(staged))) continue;
        let to: string;
        if (o.mode === 'in-place') {
          if (await exists(p)) {
            const aside = await freeSiblingName(p, `before restore ${today}`);
            await rename(p, aside);
            result.movedAside.push({ path: p, to: aside });
          }
          to = p;
        } else {
          to = await freeSiblingName(p, `restored ${today}`);
        }
        await rename(staged, to);
        result.placed.push({ path: p, to });
      }
    } finally {
      await rm(staging, { recursive: true, force: true });
    }
  }
  return result;
}
