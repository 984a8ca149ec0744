// Snapshot files' JSON: Go json.Marshal of restic 0.14's Snapshot struct, see
// ../shared/docs/restic-format.md "Snapshot JSON". restic writes it with no trailing newline
// (checked by decrypting a snapshot restic 0.14 wrote).
//
// Why byte-exact: less critical than for trees (a snapshot's ID is the hash of the encrypted file,
// so it never dedups), but producing restic's exact bytes means a snapshot Mamori writes cannot be
// told apart from one restic wrote, and re-encoding a decoded snapshot changes nothing.
// Unknown fields (newer restic's program_version, summary) are dropped, as restic 0.14 drops them.

import type { ID, Snapshot } from './types';
import { goJSONString } from './gojson';
import { parseGoTime } from './gotime';

const ID_RE = /^[0-9a-f]{64}$/;

function id(v: ID, field: string): string {
  if (!ID_RE.test(v)) throw new Error(`snapshot: ${field} is not a 64-character lowercase hex ID: ${JSON.stringify(v)}`);
  return '"' + v + '"';
}

function strings(list: string[]): string {
  return '[' + list.map((s) => goJSONString(s)).join(',') + ']';
}

function uint32(v: number, field: string): number {
  if (!Number.isInteger(v) || v < 0 || v > 0xffffffff) throw new Error(`snapshot: ${field} must be a uint32, got ${v}`);
  return v;
}

/** Fields in Go struct order; omitempty as restic 0.14 declares it (paths and tree never omitted). */
export function encodeSnapshot(s: Snapshot): Buffer {
  parseGoTime(s.time);
  let out = '{"time":' + goJSONString(s.time);
  if (s.parent) out += ',"parent":' + id(s.parent, 'parent');
  out += ',"tree":' + id(s.tree, 'tree');
  out += ',"paths":' + strings(s.paths);
  if (s.hostname) out += ',"hostname":' + goJSONString(s.hostname);
  if (s.username) out += ',"username":' + goJSONString(s.username);
  if (s.uid) out += ',"uid":' + uint32(s.uid, 'uid');
  if (s.gid) out += ',"gid":' + uint32(s.gid, 'gid');
  if (s.excludes && s.excludes.length > 0) out += ',"excludes":' + strings(s.excludes);
  if (s.tags && s.tags.length > 0) out += ',"tags":' + strings(s.tags);
  if (s.original) out += ',"original":' + id(s.original, 'original');
  return Buffer.from(out + '}', 'utf8');
}

const FIELDS = new Set(['time', 'parent', 'tree', 'paths', 'hostname', 'username', 'uid', 'gid', 'excludes', 'tags', 'original']);

/**
 * Parses a snapshot in any field order or spacing. Requires a valid tree ID and time (restic cannot
 * use a snapshot without them); every other field may be missing or null, as Go allows. Keys match
 * case-insensitively, the last one winning, as in Go's encoding/json.
 */
export function decodeSnapshot(buf: Buffer): Snapshot {
  let doc: unknown;
  try {
    doc = JSON.parse(buf.toString('utf8'));
  } catch (e) {
    throw new Error(`snapshot: not valid JSON: ${(e as Error).message}`);
  }
  if (typeof doc !== 'object' || doc === null || Array.isArray(doc)) throw new Error('snapshot: must be a JSON object');
  const f = new Map<string, unknown>();
  for (const [k, v] of Object.entries(doc)) {
    const key = FIELDS.has(k) ? k : k.toLowerCase();
    if (FIELDS.has(key) && v !== null) f.set(key, v);
  }
  const fail = (field: string, why: string): never => {
    throw new Error(`snapshot: field "${field}" ${why}`);
  };
  const str = (field: string): string | undefined => {
    const v = f.get(field);
    if (v !== undefined && typeof v !== 'string') fail(field, `must be a string, got ${JSON.stringify(v)}`);
    return v as string | undefined;
  };
  const optId = (field: string): ID | undefined => {
    const v = str(field);
    if (v === undefined) return undefined;
    if (!/^[0-9a-fA-F]{64}$/.test(v)) fail(field, `must be a 64-character hex ID, got ${JSON.stringify(v)}`);
    return v.toLowerCase();
  };
  const list = (field: string): string[] | undefined => {
    const v = f.get(field);
    if (v === undefined) return undefined;
    if (!Array.isArray(v) || v.some((x) => typeof x !== 'string')) fail(field, 'must be an array of strings');
    return v as string[];
  };
  const uint = (field: string): number | undefined => {
    const v = f.get(field);
    if (v === undefined) return undefined;
    if (typeof v !== 'number' || !Number.isInteger(v) || v < 0 || v > 0xffffffff) fail(field, `must be a uint32, got ${JSON.stringify(v)}`);
    return v as number;
  };

  const time = str('time');
  if (time === undefined) return fail('time', 'is missing');
  try {
    parseGoTime(time);
  } catch {
    fail('time', `is not an RFC3339 time: ${JSON.stringify(time)}`);
  }
  const tree = optId('tree');
  if (tree === undefined) return fail('tree', 'is missing');

  const sn: Snapshot = { time, tree, paths: list('paths') ?? [] };
  // Set only what Go would not omit, so that decode → encode reproduces the stored bytes.
  const parent = optId('parent');
  if (parent) sn.parent = parent;
  const hostname = str('hostname');
  if (hostname) sn.hostname = hostname;
  const username = str('username');
  if (username) sn.username = username;
  const uid = uint('uid');
  if (uid) sn.uid = uid;
  const gid = uint('gid');
  if (gid) sn.gid = gid;
  const excludes = list('excludes');
  if (excludes && excludes.length > 0) sn.excludes = excludes;
  const tags = list('tags');
  if (tags && tags.length > 0) sn.tags = tags;
  const original = optId('original');
  if (original) sn.original = original;
  return sn;
}
