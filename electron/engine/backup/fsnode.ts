// A tree node for one file system entry, filled exactly as restic 0.14's archiver does on Linux
// (restic.NodeFromFileInfo + fillExtra, then atime := mtime unless --with-atime), together with the
// Go os.FileMode conversions both directions.
//
// Why exact: the node's JSON goes into a tree blob whose ID is the SHA-256 of that JSON. Only when
// every field (mode bits, ns timestamps in the local zone, user and group names, inode, device,
// links) matches what restic would record does a restic backup after a Mamori backup of the same
// folder add 0 bytes: identical tree JSON dedups.
//
// Known differences from restic, by necessity:
// - Extended attributes: restic lists and stores them (llistxattr/lgetxattr); Node has no xattr API,
//   so none are recorded. Files without xattrs (the usual case) encode identically; files carrying
//   some (SELinux labels, user.* attributes, ACLs) get a tree ID different from restic's.
// - User and group names: restic (built with cgo) asks NSS; we read /etc/passwd and /etc/group, which
//   is NSS's "files" source. Accounts that only exist in LDAP, sssd or systemd-userdb get no name here.
// - inode, st_dev and st_rdev above 2^53 lose precision in TreeNode's numbers (see ../repo/tree.ts).

import { lstat, readFile, readlink } from 'node:fs/promises';
import type { NodeType, TreeNode } from '../repo/types';
import { fixGoTime, formatGoTime } from '../repo/gotime';

// Go os.FileMode bits.
export const GO_MODE_DIR = 2 ** 31;
export const GO_MODE_SYMLINK = 2 ** 27;
export const GO_MODE_DEVICE = 2 ** 26;
export const GO_MODE_NAMED_PIPE = 2 ** 25;
export const GO_MODE_SOCKET = 2 ** 24;
export const GO_MODE_SETUID = 2 ** 23;
export const GO_MODE_SETGID = 2 ** 22;
export const GO_MODE_CHAR_DEVICE = 2 ** 21;
export const GO_MODE_STICKY = 2 ** 20;
export const GO_MODE_PERM = 0o777;

// st_mode bits (Linux).
const S_IFMT = 0o170000;
const S_IFSOCK = 0o140000;
const S_IFLNK = 0o120000;
const S_IFREG = 0o100000;
const S_IFBLK = 0o060000;
const S_IFDIR = 0o040000;
const S_IFCHR = 0o020000;
const S_IFIFO = 0o010000;
const S_ISUID = 0o4000;
const S_ISGID = 0o2000;
const S_ISVTX = 0o1000;

/**
 * Go's os.FileMode for an st_mode, as os.Lstat builds it on Linux. An unknown S_IFMT gets no type
 * bit, so it reads as a regular file, as it does in Go 1.19 on Linux.
 */
export function goFileModeFromStat(stMode: number): number {
  let m = stMode & 0o777;
  switch (stMode & S_IFMT) {
    case S_IFBLK: m += GO_MODE_DEVICE; break;
    case S_IFCHR: m += GO_MODE_DEVICE + GO_MODE_CHAR_DEVICE; break;
    case S_IFDIR: m += GO_MODE_DIR; break;
    case S_IFIFO: m += GO_MODE_NAMED_PIPE; break;
    case S_IFLNK: m += GO_MODE_SYMLINK; break;
    case S_IFSOCK: m += GO_MODE_SOCKET; break;
  }
  if (stMode & S_ISGID) m += GO_MODE_SETGID;
  if (stMode & S_ISUID) m += GO_MODE_SETUID;
  if (stMode & S_ISVTX) m += GO_MODE_STICKY;
  return m;
}

function has(mode: number, bit: number): boolean {
  return Math.floor(mode / bit) % 2 === 1;
}

/**
 * The st_mode (type bits included) for a Go FileMode, for restore: mkdir/mknod take the type, chmod
 * takes `& 0o7777` (permissions plus setuid, setgid and sticky, which Go's os.Chmod passes through).
 */
export function unixModeFromGoFileMode(mode: number): number {
  let m = mode & GO_MODE_PERM;
  if (has(mode, GO_MODE_SETUID)) m |= S_ISUID;
  if (has(mode, GO_MODE_SETGID)) m |= S_ISGID;
  if (has(mode, GO_MODE_STICKY)) m |= S_ISVTX;
  if (has(mode, GO_MODE_DIR)) m |= S_IFDIR;
  else if (has(mode, GO_MODE_SYMLINK)) m |= S_IFLNK;
  else if (has(mode, GO_MODE_DEVICE)) m |= has(mode, GO_MODE_CHAR_DEVICE) ? S_IFCHR : S_IFBLK;
  else if (has(mode, GO_MODE_NAMED_PIPE)) m |= S_IFIFO;
  else if (has(mode, GO_MODE_SOCKET)) m |= S_IFSOCK;
  else m |= S_IFREG;
  return m;
}

/** restic's node type for a Go FileMode (restic's nodeTypeFromFileInfo). */
export function nodeTypeFromGoFileMode(mode: number): NodeType {
  if (has(mode, GO_MODE_DIR)) return 'dir';
  if (has(mode, GO_MODE_SYMLINK)) return 'symlink';
  if (has(mode, GO_MODE_DEVICE)) return has(mode, GO_MODE_CHAR_DEVICE) ? 'chardev' : 'dev';
  if (has(mode, GO_MODE_NAMED_PIPE)) return 'fifo';
  if (has(mode, GO_MODE_SOCKET)) return 'socket';
  return 'file';
}

type IdNames = Map<number, string>;
let passwdNames: Promise<IdNames> | undefined;
let groupNames: Promise<IdNames> | undefined;

/**
 * id → name from a colon file (name is field 0, id field 2). The first entry wins, comment lines
 * and NIS compat entries (+/-) are skipped, as glibc's "files" NSS source does.
 */
async function readColonFile(path: string): Promise<IdNames> {
  const m: IdNames = new Map();
  let text: string;
  try {
    text = await readFile(path, 'utf8');
  } catch {
    return m;
  }
  for (const line of text.split('\n')) {
    if (line === '' || line[0] === '#' || line[0] === '+' || line[0] === '-') continue;
    const parts = line.split(':');
    if (parts.length < 3 || !/^\d+$/.test(parts[2])) continue;
    const id = Number(parts[2]);
    if (!m.has(id)) m.set(id, parts[0]);
  }
  return m;
}

/**
 * Names are read once per process, as restic caches each lookup for its whole run; call this to
 * see accounts created since (e.g. before each backup run of a long-lived app).
 */
export function clearIdNameCache(): void {
  passwdNames = undefined;
  groupNames = undefined;
}

/** restic's lookupUsername: the name, or '' (then omitted from the JSON) when there is none. */
export async function lookupUserName(uid: number): Promise<string> {
  passwdNames ??= readColonFile('/etc/passwd');
  return (await passwdNames).get(uid) ?? '';
}

/** restic's lookupGroup: the name, or '' when there is none. */
export async function lookupGroupName(gid: number): Promise<string> {
  groupNames ??= readColonFile('/etc/group');
  return (await groupNames).get(gid) ?? '';
}

function goTime(ns: bigint): string {
  // restic's Node.MarshalJSON clamps years outside 0..9999 (FixTime) before Go formats the time.
  return formatGoTime(fixGoTime(ns));
}

export interface NodeFromPathOptions {
  /** restic's --with-atime: keep the real atime instead of storing mtime in its place. */
  withAtime?: boolean;
}

/**
 * The tree node restic 0.14 would record for `path` (never following a final symlink), named `name`
 * (raw bytes, the last path component as it should appear in the tree). Files get `content: []` for
 * the caller to fill with blob IDs; every other type gets null. Dirs get no subtree here either.
 * Only non-zero optional fields are set, mirroring Go's omitempty, so the node compares equal to the
 * same node decoded from a tree.
 */
export async function nodeFromPath(path: string | Buffer, name: Buffer, opts: NodeFromPathOptions = {}): Promise<TreeNode> {
  const st = await lstat(path, { bigint: true });
  const mode = goFileModeFromStat(Number(st.mode));
  const type = nodeTypeFromGoFileMode(mode);
  const mtime = goTime(st.mtimeNs);
  const uid = Number(st.uid);
  const gid = Number(st.gid);
  const node: TreeNode = {
    name: Buffer.from(name),
    type,
    mode,
    mtime,
    atime: opts.withAtime ? goTime(st.atimeNs) : mtime,
    ctime: goTime(st.ctimeNs),
    uid,
    gid,
    content: type === 'file' ? [] : null,
  };
  const [user, group] = await Promise.all([lookupUserName(uid), lookupGroupName(gid)]);
  if (user) node.user = user;
  if (group) node.group = group;
  if (st.ino) node.inode = Number(st.ino);
  if (st.dev) node.deviceId = Number(st.dev);

  // restic 0.14's fillExtra records links (and size, rdev, link target) per type: dirs, fifos and
  // sockets get none, so their st_nlink must not leak into the JSON.
  switch (type) {
    case 'file':
      if (st.size) node.size = Number(st.size);
      if (st.nlink) node.links = Number(st.nlink);
      break;
    case 'symlink': {
      const target = await readlink(path, { encoding: 'buffer' });
      if (target.length > 0) node.linktarget = target;
      if (st.nlink) node.links = Number(st.nlink);
      break;
    }
    case 'dev':
    case 'chardev':
      if (st.rdev) node.device = Number(st.rdev);
      if (st.nlink) node.links = Number(st.nlink);
      break;
    default:
      break;
  }
  return node;
}
