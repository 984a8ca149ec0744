import { test } from 'node:test';
import assert from 'node:assert/strict';
import { decodeTree, encodeNode, encodeTree } from './tree';
import type { TreeNode } from './types';

/** A tree blob exactly as restic 0.14 stored it (TZ=Asia/Tokyo): file, symlink, dir, awkward name. */
const RESTIC_TREE = Buffer.from(
  '{"nodes":[{"name":"hello.txt","type":"file","mode":420,"mtime":"2021-03-04T14:06:07.1+09:00","atime":"2021-03-04T14:06:07.1+09:00","ctime":"2026-11-22T14:08:43.389353821+09:00","uid":0,"gid":0,"user":"root","group":"root","inode":2220078,"device_id":65024,"size":5,"links":1,"content":["2cf24dba5fb0a30e26e83b2ac5b9e29e1b161e5c1fa7425e73043362938b9824"]},'
  + '{"name":"link","type":"symlink","mode":134218239,"mtime":"2021-03-04T14:06:07.25+09:00","atime":"2021-03-04T14:06:07.25+09:00","ctime":"2026-11-22T14:08:43.405353821+09:00","uid":0,"gid":0,"user":"root","group":"root","inode":2220079,"device_id":65024,"links":1,"linktarget":"hello.txt","content":null},'
  + '{"name":"sub","type":"dir","mode":2147484141,"mtime":"2021-03-04T14:06:07+09:00","atime":"2021-03-04T14:06:07+09:00","ctime":"2026-11-22T14:08:43.413353822+09:00","uid":0,"gid":0,"user":"root","group":"root","inode":2220077,"device_id":65024,"content":null,"subtree":"ac08ce34ba4f8123618661bef2425f7028ffb9ac740578a3ee88684d2523fee8"},'
  + '{"name":"we\\\\\\"ird\\\\\\\\ näme\\\\u00a0\\\\x01.txt","type":"file","mode":420,"mtime":"2021-03-04T14:06:07.123456789+09:00","atime":"2021-03-04T14:06:07.123456789+09:00","ctime":"2026-11-22T14:08:43.413353822+09:00","uid":0,"gid":0,"user":"root","group":"root","inode":2220080,"device_id":65024,"size":1,"links":1,"content":["2d711642b726b04401627ca9fbac32f5c8530fb1903cc4db02258717921a4881"]}]}\n',
  'utf8',
);

const T = '2021-03-04T05:06:07Z';
const ID_A = 'a'.repeat(64);

function node(name: string | Buffer, extra: Partial<TreeNode> = {}): TreeNode {
  return {
    name: typeof name === 'string' ? Buffer.from(name) : name,
    type: 'file', mode: 0o644, mtime: T, atime: T, ctime: T, uid: 1000, gid: 1000, content: [], ...extra,
  };
}

test('a tree restic 0.14 stored decodes to raw names and re-encodes byte for byte', () => {
  const nodes = decodeTree(RESTIC_TREE);
  assert.deepEqual(nodes.map((n) => n.name), [
    Buffer.from('hello.txt'), Buffer.from('link'), Buffer.from('sub'), Buffer.from('we"ird\\ näme\u00a0\x01.txt'),
  ]);
  assert.deepEqual(nodes[1].linktarget, Buffer.from('hello.txt'));
  assert.equal(nodes[1].content, null);
  assert.equal(nodes[2].subtree, 'ac08ce34ba4f8123618661bef2425f7028ffb9ac740578a3ee88684d2523fee8');
  assert.equal(nodes[0].size, 5);
  assert.equal(nodes[2].links, undefined);
  assert.deepEqual(encodeTree(nodes), RESTIC_TREE);
  assert.deepEqual(encodeTree([...nodes].reverse()), RESTIC_TREE);
});

test('omitempty: zero and empty fields vanish; times, uid, gid and content never do', () => {
  assert.equal(
    encodeNode(node('z', { mode: 0, uid: 0, gid: 0, size: 0, links: 0, inode: 0, deviceId: 0, user: '', group: '', error: '', extendedAttributes: [] })),
    '{"name":"z","type":"file","mtime":"2021-03-04T05:06:07Z","atime":"2021-03-04T05:06:07Z","ctime":"2021-03-04T05:06:07Z","uid":0,"gid":0,"content":[]}',
  );
  assert.equal(
    encodeNode(node('d', { type: 'dir', mode: 2147484141, content: null, subtree: ID_A })),
    `{"name":"d","type":"dir","mode":2147484141,"mtime":"${T}","atime":"${T}","ctime":"${T}","uid":1000,"gid":1000,"content":null,"subtree":"${ID_A}"}`,
  );
});

test('every field in Go struct order, with Go escaping in strings', () => {
  const full = node('all', {
    type: 'chardev', mode: 69206436, user: 'u<1>', group: 'g&g', inode: 7, deviceId: 65024, size: 3, links: 2,
    linktarget: Buffer.from([0x74, 0xff]), extendedAttributes: [{ name: 'user.k', value: Buffer.from('v\x00') }],
    device: 259, content: [ID_A], subtree: ID_A, error: 'oops\n',
  });
  assert.equal(encodeNode(full),
    '{"name":"all","type":"chardev","mode":69206436,'
    + `"mtime":"${T}","atime":"${T}","ctime":"${T}","uid":1000,"gid":1000,"user":"u\\u003c1\\u003e","group":"g\\u0026g",`
    + '"inode":7,"device_id":65024,"size":3,"links":2,"linktarget":"t\\ufffd",'
    + '"extended_attributes":[{"name":"user.k","value":"dgA="}],"device":259,'
    + `"content":["${ID_A}"],"subtree":"${ID_A}","error":"oops\\n"}`);
  const back = decodeTree(encodeTree([full]))[0];
  assert.deepEqual(back.extendedAttributes, full.extendedAttributes);
  assert.deepEqual(back.linktarget, Buffer.from('t\ufffd')); // restic 0.14 itself loses non-UTF-8 link targets
});

test('empty tree, and nodes sorted by raw bytes rather than UTF-16 order', () => {
  assert.equal(encodeTree([]).toString(), '{"nodes":[]}\n');
  const names = ['😀', '\ufffd', 'B', 'a', 'ä', '日本'];
  const order = decodeTree(encodeTree(names.map((n) => node(n)))).map((n) => n.name.toString());
  // U+FFFD (EF BF BD) sorts before U+1F600 (F0 ...) in bytes, although '😀' < '\ufffd' in JS.
  assert.deepEqual(order, ['B', 'a', 'ä', '日本', '\ufffd', '😀']);
  assert.deepEqual(decodeTree(encodeTree([node(Buffer.from([0xff])), node(Buffer.from([0x66, 0xff]))])).map((n) => n.name),
    [Buffer.from([0x66, 0xff]), Buffer.from([0xff])]);
});

test('encodeTree refuses duplicate and empty names and malformed fields', () => {
  assert.throws(() => encodeTree([node('x'), node('y'), node('x')]), /duplicate node name "x"/);
  assert.throws(() => encodeTree([node('')]), /empty name/);
  assert.throws(() => encodeTree([node('x', { content: ['ABC'] })]), /content\[0\]/);
  assert.throws(() => encodeTree([node('x', { uid: -1 })]), /uid/);
  assert.throws(() => encodeTree([node('x', { type: 'door' as TreeNode['type'] })]), /type/);
});

test('decoding tolerates any field order, whitespace, key case, unknown fields and nulls', () => {
  const canonical = decodeTree(RESTIC_TREE);
  const shuffled = {
    extra: true,
    nodes: canonical.map((_, i) => {
      const o = JSON.parse(RESTIC_TREE.toString()).nodes[i] as Record<string, unknown>;
      const entries = Object.entries(o).reverse();
      entries.push(['program_version', 'restic 9.9']);
      if (i === 0) entries.push(['subtree', null], ['error', null]);
      return Object.fromEntries(entries.map(([k, v]) => [k === 'mode' ? 'Mode' : k, v]));
    }),
  };
  const text = JSON.stringify(shuffled, null, 3).replace(/\n/g, '\r\n\t');
  assert.deepEqual(decodeTree(Buffer.from(text)), canonical);
  assert.deepEqual(encodeTree(decodeTree(Buffer.from(text))), RESTIC_TREE);
});

test('decoding reads newer restic fields and Go zero values', () => {
  const [n] = decodeTree(Buffer.from(JSON.stringify({
    nodes: [{ name: 'l', type: 'symlink', linktarget: 't\ufffd', linktarget_raw: Buffer.from([0x74, 0xff]).toString('base64'), content: null }],
  })));
  assert.deepEqual(n.linktarget, Buffer.from([0x74, 0xff]));
  assert.equal(n.mtime, '0001-01-01T00:00:00Z');
  assert.equal(n.uid, 0);
  assert.deepEqual(decodeTree(Buffer.from('{"nodes":null}')), []);
  assert.deepEqual(decodeTree(Buffer.from('{"nodes":[{"name":"x","type":"file","content":["' + 'AB'.repeat(32) + '"]}]}'))[0].content, ['ab'.repeat(32)]);
});

test('decoding names the bad field', () => {
  const bad = (n: Record<string, unknown>) => Buffer.from(JSON.stringify({ nodes: [{ name: 'x', type: 'file', content: null, ...n }] }));
  assert.throws(() => decodeTree(Buffer.from('not json')), /tree: not valid JSON/);
  assert.throws(() => decodeTree(Buffer.from('[]')), /must be a JSON object/);
  assert.throws(() => decodeTree(Buffer.from('{"nodes":{}}')), /"nodes" must be an array/);
  assert.throws(() => decodeTree(bad({ name: '' })), /field "name"/);
  assert.throws(() => decodeTree(bad({ name: 'a\\qb' })), /field "name".*unknown escape/);
  assert.throws(() => decodeTree(bad({ type: 'door' })), /field "type"/);
  assert.throws(() => decodeTree(bad({ mode: -1 })), /field "mode"/);
  assert.throws(() => decodeTree(bad({ mtime: 'yesterday' })), /field "mtime"/);
  assert.throws(() => decodeTree(bad({ uid: '0' })), /field "uid"/);
  assert.throws(() => decodeTree(bad({ content: ['xyz'] })), /field "content\[0\]"/);
  assert.throws(() => decodeTree(bad({ subtree: 12 })), /field "subtree"/);
  assert.throws(() => decodeTree(bad({ extended_attributes: [{ name: 'a', value: '%%' }] })), /extended_attributes\[0\]: field "value"/);
  assert.throws(() => decodeTree(Buffer.from('{"nodes":[{"type":"file"}, 3]}')), /tree node 0: field "name"/);
});
