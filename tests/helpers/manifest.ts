// A manifest of a folder tree, for asserting that a restore reproduced a backup exactly: paths as raw
// bytes (names need not be UTF-8), type, size, permission bits incl. setuid/setgid/sticky, mtime,
// content hash, link target and hard-link grouping.
import { createHash } from 'node:crypto';
import { lstatSync, readdirSync, readFileSync, readlinkSync } from 'node:fs';

export interface ManifestEntry {
  type: 'file' | 'dir' | 'symlink' | 'fifo' | 'other';
  size?: number;
  mode: number;
  /** Modification time in microseconds (restores through Node's utimes keep about this much). */
  mtimeUs: bigint;
  sha256?: string;
  link?: string;
  /** For files with several links: the first path (in walk order) of the group. */
  hardlinkOf?: string;
}

/** Keys are paths relative to the root, as latin1 strings of their raw bytes (a 1:1 mapping). */
export type Manifest = Map<string, ManifestEntry>;

export function manifest(root: string, opts: { withRootMtime?: boolean } = {}): Manifest {
  const out: Manifest = new Map();
  const inodes = new Map<string, string>();
  const walk = (abs: Buffer, rel: string) => {
    const st = lstatSync(abs, { bigint: true });
    const e: ManifestEntry = { type: 'other', mode: Number(st.mode & 0o7777n), mtimeUs: st.mtimeNs / 1000n };
    if (st.isFile()) {
      e.type = 'file';
      e.size = Number(st.size);
      e.sha256 = createHash('sha256').update(readFileSync(abs)).digest('hex');
      if (st.nlink > 1n) {
        const key = `${st.dev}:${st.ino}`;
        const first = inodes.get(key);
        if (first === undefined) inodes.set(key, rel);
        else e.hardlinkOf = first;
      }
    } else if (st.isSymbolicLink()) {
      e.type = 'symlink';
      e.link = readlinkSync(abs, { encoding: 'buffer' }).toString('latin1');
      e.mode = 0;
    } else if (st.isFIFO()) {
      e.type = 'fifo';
    } else if (st.isDirectory()) {
      e.type = 'dir';
      const names = readdirSync(abs, { encoding: 'buffer' }).sort(Buffer.compare);
      for (const n of names) walk(Buffer.concat([abs, Buffer.from('/'), n]), rel === '' ? n.toString('latin1') : `${rel}/${n.toString('latin1')}`);
    }
    if (rel === '' && !opts.withRootMtime) e.mtimeUs = 0n;
    out.set(rel, e);
  };
  walk(Buffer.from(root), '');
  return out;
}

/** Lists the differences between two manifests (empty when equal). mtimes may differ by 1 us. */
export function diffManifests(expected: Manifest, actual: Manifest): string[] {
  const diffs: string[] = [];
  const show = (k: string) => JSON.stringify(Buffer.from(k, 'latin1').toString('utf8'));
  for (const [k, e] of expected) {
    const a = actual.get(k);
    if (!a) {
      diffs.push(`missing ${show(k)}`);
      continue;
    }
    const { mtimeUs: em, ...erest } = e;
    const { mtimeUs: am, ...arest } = a;
    if (JSON.stringify(erest) !== JSON.stringify(arest)) diffs.push(`${show(k)}: expected ${JSON.stringify(erest)} got ${JSON.stringify(arest)}`);
    const d = em > am ? em - am : am - em;
    if (e.type !== 'symlink' && d > 1n) diffs.push(`${show(k)}: mtime ${em} != ${am}`);
  }
  for (const k of actual.keys()) if (!expected.has(k)) diffs.push(`unexpected ${show(k)}`);
  return diffs;
}
