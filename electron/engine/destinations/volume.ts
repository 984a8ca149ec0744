// Recognising a removable drive wherever it is mounted. A destination on a drive remembers the
// volume's UUID (where the OS gives one) and the repository folder's path inside the volume; when
// the remembered path holds no repository, every mounted volume with that UUID is tried, and the
// marker in app/ confirms it is the same destination. Linux reads /proc/self/mountinfo and
// /dev/disk/by-uuid; elsewhere the remembered path and the well-known mount folders are searched.

import { readdirSync, readFileSync, readlinkSync, realpathSync, statSync } from 'node:fs';
import { isAbsolute, join, relative, resolve, sep } from 'node:path';

export interface Mount {
  /** Mount point, e.g. /media/me/USB. */
  point: string;
  /** Major:minor of the device, as in mountinfo. */
  dev: string;
  /** Filesystem UUID if known. */
  uuid?: string;
  /**
   * The folder of the filesystem that is mounted there ("/" for the whole volume; "/backup" for a
   * bind mount of that folder), so that paths are kept relative to the volume's root, not the mount.
   */
  root?: string;
}

/** Undoes mountinfo's octal escapes (\040 for a space). */
function unescapeMount(s: string): string {
  return s.replace(/\\([0-7]{3})/g, (_, o: string) => String.fromCharCode(parseInt(o, 8)));
}

/** Parses /proc/self/mountinfo text; `uuids` maps "major:minor" to a filesystem UUID. */
export function parseMountinfo(text: string, uuids: Map<string, string>): Mount[] {
  const out: Mount[] = [];
  for (const line of text.split('\n')) {
    const f = line.split(' ');
    if (f.length < 5) continue;
    const dev = f[2];
    const point = unescapeMount(f[4]);
    out.push({ point, dev, uuid: uuids.get(dev), root: unescapeMount(f[3]) });
  }
  return out;
}

/** "major:minor" -> UUID from /dev/disk/by-uuid (each entry is a symlink to the device node). */
function readUuids(): Map<string, string> {
  const m = new Map<string, string>();
  let names: string[] = [];
  try {
    names = readdirSync('/dev/disk/by-uuid');
  } catch {
    return m;
  }
  for (const n of names) {
    try {
      const target = resolve('/dev/disk/by-uuid', readlinkSync(join('/dev/disk/by-uuid', n)));
      const st = statSync(target);
      m.set(`${Math.floor(st.rdev / 256) & 0xfff}:${(st.rdev & 0xff) | ((st.rdev >> 12) & 0xfff00)}`, n);
    } catch {
      /* a vanished device */
    }
  }
  return m;
}

export function currentMounts(): Mount[] {
  if (process.platform !== 'linux') return [];
  try {
    return parseMountinfo(readFileSync('/proc/self/mountinfo', 'utf8'), readUuids());
  } catch {
    return [];
  }
}

/** The mount holding `path` (the longest mount point that is a prefix of it). */
export function mountOf(path: string, mounts: Mount[]): Mount | undefined {
  let best: Mount | undefined;
  for (const m of mounts) {
    const rel = relative(m.point, path);
    // "..backup" is a folder inside the mount; only ".." itself or "../" leads out of it.
    const inside = rel !== '..' && !rel.startsWith(`..${sep}`) && !isAbsolute(rel);
    // On equal points the later line wins: it was mounted over the earlier one and is what the path shows.
    if (inside && (!best || m.point.length >= best.point.length)) best = m;
  }
  return best;
}

/** Volume identity of a local repository folder, to store with the destination. */
export function volumeIdentity(path: string, mounts: Mount[] = currentMounts()): { volumeUuid?: string; volumePath?: string } {
  let real = path;
  try {
    real = realpathSync(path);
  } catch {
    /* not there yet: use the path as given */
  }
  const m = mountOf(real, mounts);
  if (!m?.uuid) return {};
  const inMount = relative(m.point, real).split(sep).filter(Boolean);
  return { volumeUuid: m.uuid, volumePath: [...rootParts(m), ...inMount].join('/') };
}

function rootParts(m: Mount): string[] {
  return (m.root ?? '/').split('/').filter(Boolean);
}

/** Where the same volume's repository folder is now, for each mount of that UUID (usually one). */
export function candidatePaths(volumeUuid: string, volumePath: string, mounts: Mount[] = currentMounts()): string[] {
  const want = volumePath.split('/').filter(Boolean);
  const out: string[] = [];
  for (const m of mounts) {
    if (m.uuid !== volumeUuid) continue;
    // A bind mount of another folder of the volume does not show the repository folder.
    const root = rootParts(m);
    if (root.length > want.length || root.some((p, i) => p !== want[i])) continue;
    out.push(join(m.point, ...want.slice(root.length)));
  }
  return out;
}
