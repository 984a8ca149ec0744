// Tree blobs: restic 0.14's `{"nodes":[...]}` + "\n" (Go json.Marshal of restic.Tree, nodes sorted by
// raw name bytes), see ../shared/docs/restic-format.md "Tree blobs".
//
// Why byte-exact: a tree blob's ID is the SHA-256 of this plaintext. When Mamori encodes a directory
// exactly as restic would, a restic backup after a Mamori backup (and the reverse) finds every tree
// already stored and adds 0 bytes. restic itself reads any field order, whitespace or escaping, so
// decodeTree is tolerant in the same way; only the encoder has to be exact.
//
// Precision: JSON.parse reads numbers as doubles, so an inode, device_id, size or device above 2^53
// loses its low bits on decode (and then re-encodes differently). Real st_dev values and inode numbers
// stay far below that on common Linux filesystems; TreeNode keeps them as numbers for that reason.

import type { ExtendedAttribute, ID, NodeType, TreeNode } from './types';
import { goJSONString, goQuoteBytes, goUnquoteToBytes } from './gojson';
import { parseGoTime } from './gotime';

const NODE_TYPES: readonly NodeType[] = ['file', 'dir', 'symlink', 'dev', 'chardev', 'fifo', 'socket'];
const ID_RE = /^[0-9a-f]{64}$/;
/** What Go writes for a zero time.Time, i.e. for a node time that was missing when decoded. */
const GO_ZERO_TIME = '0001-01-01T00:00:00Z';

const UINT32_MAX = 0xffffffff;
/** Largest double below 2^64: the top of Go's uint64 range as far as a JS number can say. */
const UINT64_MAX = 2 ** 64 - 2048;

function checkUint(v: number | undefined, field: string, max = UINT64_MAX): void {
  if (v === undefined) return;
  if (!Number.isInteger(v) || v < 0 || v > max) throw new Error(`tree node: ${field} must be an unsigned integer, got ${v}`);
}

function encodeID(id: ID, field: string): string {
  if (!ID_RE.test(id)) throw new Error(`tree node: ${field} is not a 64-character lowercase hex ID: ${JSON.stringify(id)}`);
  return '"' + id + '"';
}

/** Go's json.Marshal of one restic.Node, fields in struct order, omitempty as restic 0.14 declares. */
export function encodeNode(n: TreeNode): string {
  if (!NODE_TYPES.includes(n.type)) throw new Error(`tree node: invalid type ${JSON.stringify(n.type)}`);
  checkUint(n.mode, 'mode', UINT32_MAX);
  checkUint(n.uid, 'uid', UINT32_MAX);
  checkUint(n.gid, 'gid', UINT32_MAX);
  checkUint(n.inode, 'inode');
  checkUint(n.deviceId, 'deviceId');
  checkUint(n.size, 'size');
  checkUint(n.links, 'links');
  checkUint(n.device, 'device');

  let s = '{"name":' + goJSONString(goQuoteBytes(n.name)) + ',"type":' + goJSONString(n.type);
  if (n.mode) s += ',"mode":' + n.mode;
  // Times have no omitempty effect in Go (a struct is never "empty"), so all three are always there.
  s += ',"mtime":' + goJSONString(n.mtime) + ',"atime":' + goJSONString(n.atime) + ',"ctime":' + goJSONString(n.ctime);
  s += ',"uid":' + n.uid + ',"gid":' + n.gid;
  if (n.user) s += ',"user":' + goJSONString(n.user);
  if (n.group) s += ',"group":' + goJSONString(n.group);
  if (n.inode) s += ',"inode":' + n.inode;
  if (n.deviceId) s += ',"device_id":' + n.deviceId;
  if (n.size) s += ',"size":' + n.size;
  if (n.links) s += ',"links":' + n.links;
  // restic 0.14 keeps the link target in a Go string, so json.Marshal turns invalid UTF-8 into
  // U+FFFD: lossy, but that is what restic stores and what must be reproduced.
  if (n.linktarget && n.linktarget.length > 0) s += ',"linktarget":' + goJSONString(n.linktarget);
  if (n.extendedAttributes && n.extendedAttributes.length > 0) {
    s += ',"extended_attributes":[' + n.extendedAttributes
      .map((a) => '{"name":' + goJSONString(a.name) + ',"value":' + (a.value ? '"' + a.value.toString('base64') + '"' : 'null') + '}')
      .join(',') + ']';
  }
  if (n.device) s += ',"device":' + n.device;
  // content has no omitempty: nil IDs marshal as null, an empty file's empty slice as [].
  s += ',"content":' + (n.content === null ? 'null' : '[' + n.content.map((id, i) => encodeID(id, `content[${i}]`)).join(',') + ']');
  if (n.subtree !== undefined) s += ',"subtree":' + encodeID(n.subtree, 'subtree');
  if (n.error) s += ',"error":' + goJSONString(n.error);
  return s + '}';
}

/**
 * A tree blob's plaintext. Sorts a copy by raw name bytes (Go compares strings bytewise, unlike JS's
 * UTF-16 order) and refuses duplicate or empty names, which restic would reject on check or restore.
 */
export function encodeTree(nodes: TreeNode[]): Buffer {
  const sorted = [...nodes].sort((a, b) => Buffer.compare(a.name, b.name));
  for (let i = 0; i < sorted.length; i++) {
    if (sorted[i].name.length === 0) throw new Error('tree: node with an empty name');
    if (i > 0 && sorted[i - 1].name.equals(sorted[i].name)) {
      throw new Error(`tree: duplicate node name ${JSON.stringify(goQuoteBytes(sorted[i].name))}`);
    }
  }
  return Buffer.from('{"nodes":[' + sorted.map(encodeNode).join(',') + ']}\n', 'utf8');
}

type JSONObject = Record<string, unknown>;

const NODE_FIELDS = new Set([
  'name', 'type', 'mode', 'mtime', 'atime', 'ctime', 'uid', 'gid', 'user', 'group', 'inode', 'device_id',
  'size', 'links', 'linktarget', 'linktarget_raw', 'extended_attributes', 'device', 'content', 'subtree', 'error',
]);

/**
 * Go's encoding/json matches keys case-insensitively and the last matching key wins; doing the same
 * keeps decoding as lenient as restic's own reader. Unknown keys are dropped, as restic drops them.
 */
function goFields(o: JSONObject, known: Set<string>): Map<string, unknown> {
  const m = new Map<string, unknown>();
  for (const [k, v] of Object.entries(o)) {
    const key = known.has(k) ? k : k.toLowerCase();
    if (known.has(key)) m.set(key, v);
  }
  return m;
}

function isObject(v: unknown): v is JSONObject {
  return typeof v === 'object' && v !== null && !Array.isArray(v);
}

class Fields {
  constructor(private readonly m: Map<string, unknown>, private readonly where: string) {}

  fail(field: string, why: string): never {
    throw new Error(`${this.where}: field "${field}" ${why}`);
  }

  /** Go leaves a field at its zero value for a missing key and for null. */
  raw(field: string): unknown {
    const v = this.m.get(field);
    return v === null ? undefined : v;
  }

  string(field: string): string | undefined {
    const v = this.raw(field);
    if (v === undefined) return undefined;
    if (typeof v !== 'string') this.fail(field, `must be a string, got ${JSON.stringify(v)}`);
    return v;
  }

  /** Decoding accepts 2^64 itself: it is what any uint64 near the top of the range rounds to. */
  uint(field: string, max = 2 ** 64): number | undefined {
    const v = this.raw(field);
    if (v === undefined) return undefined;
    if (typeof v !== 'number' || !Number.isInteger(v) || v < 0 || v > max) {
      this.fail(field, `must be an unsigned integer, got ${JSON.stringify(v)}`);
    }
    return v;
  }

  id(field: string, v: unknown = this.raw(field)): ID {
    if (typeof v !== 'string' || !/^[0-9a-fA-F]{64}$/.test(v)) this.fail(field, `must be a 64-character hex ID, got ${JSON.stringify(v)}`);
    return v.toLowerCase();
  }

  time(field: string): string {
    const v = this.string(field);
    if (v === undefined) return GO_ZERO_TIME;
    try {
      parseGoTime(v);
    } catch {
      this.fail(field, `is not an RFC3339 time: ${JSON.stringify(v)}`);
    }
    return v;
  }
}

function decodeNode(o: unknown, where: string): TreeNode {
  if (!isObject(o)) throw new Error(`${where}: must be an object`);
  const f: Fields = new Fields(goFields(o, NODE_FIELDS), where);

  const quoted = f.string('name');
  if (quoted === undefined || quoted === '') f.fail('name', 'is missing or empty');
  let name: Buffer;
  try {
    name = goUnquoteToBytes(quoted);
  } catch (e) {
    f.fail('name', (e as Error).message);
  }
  const type = f.string('type');
  if (type === undefined || !NODE_TYPES.includes(type as NodeType)) f.fail('type', `must be one of ${NODE_TYPES.join(', ')}, got ${JSON.stringify(type)}`);

  const n: TreeNode = {
    name,
    type: type as NodeType,
    mode: f.uint('mode', UINT32_MAX) ?? 0,
    mtime: f.time('mtime'),
    atime: f.time('atime'),
    ctime: f.time('ctime'),
    uid: f.uint('uid', UINT32_MAX) ?? 0,
    gid: f.uint('gid', UINT32_MAX) ?? 0,
    content: null,
  };
  // Optional fields are set only when non-empty so that decode → encode reproduces Go's omitempty.
  const user = f.string('user');
  if (user) n.user = user;
  const group = f.string('group');
  if (group) n.group = group;
  const inode = f.uint('inode');
  if (inode) n.inode = inode;
  const deviceId = f.uint('device_id');
  if (deviceId) n.deviceId = deviceId;
  const size = f.uint('size');
  if (size) n.size = size;
  const links = f.uint('links');
  if (links) n.links = links;
  const linktarget = f.string('linktarget');
  if (linktarget) n.linktarget = Buffer.from(linktarget, 'utf8');
  // Newer restic (0.17+) stores non-UTF-8 link targets exactly, base64 in linktarget_raw.
  const raw = f.string('linktarget_raw');
  if (raw) n.linktarget = Buffer.from(raw, 'base64');

  const xattrs = f.raw('extended_attributes');
  if (xattrs !== undefined) {
    if (!Array.isArray(xattrs)) f.fail('extended_attributes', 'must be an array');
    const list: ExtendedAttribute[] = xattrs.map((a, i) => {
      if (!isObject(a)) f.fail(`extended_attributes[${i}]`, 'must be an object');
      const af: Fields = new Fields(goFields(a, new Set(['name', 'value'])), `${where}.extended_attributes[${i}]`);
      const value = af.string('value') ?? '';
      if (!/^[A-Za-z0-9+/]*={0,2}$/.test(value)) af.fail('value', 'must be base64');
      return { name: af.string('name') ?? '', value: Buffer.from(value, 'base64') };
    });
    if (list.length > 0) n.extendedAttributes = list;
  }
  const device = f.uint('device');
  if (device) n.device = device;

  const content = f.raw('content');
  if (content !== undefined) {
    if (!Array.isArray(content)) f.fail('content', 'must be an array of IDs or null');
    n.content = content.map((id, i) => f.id(`content[${i}]`, id));
  }
  if (f.raw('subtree') !== undefined) n.subtree = f.id('subtree');
  const error = f.string('error');
  if (error) n.error = error;
  return n;
}

/**
 * Parses a tree blob's plaintext in any field order, spacing or escaping restic accepts. Names come
 * back as raw bytes; times are kept as the stored text so that re-encoding reproduces the blob.
 * Throws an Error naming the node and field that does not fit restic's Node shape.
 */
export function decodeTree(buf: Buffer): TreeNode[] {
  let doc: unknown;
  try {
    doc = JSON.parse(buf.toString('utf8'));
  } catch (e) {
    throw new Error(`tree: not valid JSON: ${(e as Error).message}`);
  }
  if (!isObject(doc)) throw new Error('tree: must be a JSON object');
  const nodes = goFields(doc, new Set(['nodes'])).get('nodes');
  if (nodes === undefined || nodes === null) return [];
  if (!Array.isArray(nodes)) throw new Error('tree: field "nodes" must be an array');
  return nodes.map((o, i) => decodeNode(o, `tree node ${i}`));
}
