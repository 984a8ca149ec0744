import { test } from 'node:test';
import assert from 'node:assert/strict';
import { decodeSnapshot, encodeSnapshot } from './snapshot-json';
import type { Snapshot } from './types';

// Decrypted snapshot files exactly as restic 0.14 stored them (no trailing newline).
const RESTIC_SNAPSHOTS = [
  '{"time":"2026-11-22T14:08:44.482089956+09:00","parent":"bcb8790b6183a1ca8fa9592583c8984190304f9ad9cd41a3a24877acdb762c9a","tree":"2908e0c9f1eef6c071037c85434a979082fc450188c63533131b858f58116807","paths":["/tmp/gp/fx"],"hostname":"h\\u0026st","username":"root","excludes":["*.bak"],"tags":["t1","a\\u003cb","x"],"original":"68dd208b6d8e353645d30c8912ab255d804d11633b30c58e37784ec5d5c7e29a"}',
  '{"time":"2026-11-22T14:08:43.46679286+09:00","tree":"2908e0c9f1eef6c071037c85434a979082fc450188c63533131b858f58116807","paths":["/tmp/gp/fx"],"hostname":"h\\u0026st","username":"root","excludes":["*.bak"],"tags":["t1","a\\u003cb"]}',
  '{"time":"2026-11-22T04:58:10.642627311Z","tree":"f36567f62a56f424cb93384cf96782d064dd1e0b9f6bc9bf408d7cf966e2e1ce","paths":["/tmp/gp/src"],"hostname":"vm","username":"root"}',
];

const TREE = 'f36567f62a56f424cb93384cf96782d064dd1e0b9f6bc9bf408d7cf966e2e1ce';

test('snapshots restic 0.14 stored decode and re-encode byte for byte', () => {
  for (const raw of RESTIC_SNAPSHOTS) assert.equal(encodeSnapshot(decodeSnapshot(Buffer.from(raw))).toString('utf8'), raw);
  const sn = decodeSnapshot(Buffer.from(RESTIC_SNAPSHOTS[0]));
  assert.equal(sn.hostname, 'h&st');
  assert.deepEqual(sn.tags, ['t1', 'a<b', 'x']);
  assert.equal(sn.original, '68dd208b6d8e353645d30c8912ab255d804d11633b30c58e37784ec5d5c7e29a');
});

test('Go struct order and omitempty; paths and tree always present', () => {
  const full: Snapshot = {
    original: 'b'.repeat(64), tags: ['x'], excludes: ['e'], gid: 20, uid: 501, username: 'me', hostname: 'h',
    paths: ['/a', '/b "q"'], tree: TREE, parent: 'c'.repeat(64), time: '2021-03-04T05:06:07Z',
  };
  assert.equal(encodeSnapshot(full).toString(),
    `{"time":"2021-03-04T05:06:07Z","parent":"${'c'.repeat(64)}","tree":"${TREE}","paths":["/a","/b \\"q\\""],`
    + `"hostname":"h","username":"me","uid":501,"gid":20,"excludes":["e"],"tags":["x"],"original":"${'b'.repeat(64)}"}`);
  assert.equal(encodeSnapshot({ time: '2021-03-04T05:06:07Z', tree: TREE, paths: [], uid: 0, gid: 0, tags: [], excludes: [], hostname: '' }).toString(),
    `{"time":"2021-03-04T05:06:07Z","tree":"${TREE}","paths":[]}`);
});

test('decoding tolerates order, whitespace, unknown fields (newer restic) and nulls', () => {
  const pretty = `{
  "summary": {"files_new": 3},
  "program_version": "restic 0.17.0",
  "username": "root",
  "hostname": "vm",
  "paths": [ "/tmp/gp/src" ],
  "tree": "${TREE.toUpperCase()}",
  "parent": null,
  "Time": "2026-11-22T04:58:10.642627311Z",
  "id": "${'d'.repeat(64)}"
}`;
  assert.equal(encodeSnapshot(decodeSnapshot(Buffer.from(pretty))).toString(), RESTIC_SNAPSHOTS[2]);
  assert.deepEqual(decodeSnapshot(Buffer.from(`{"time":"2021-03-04T05:06:07Z","tree":"${TREE}","paths":null}`)).paths, []);
});

test('decoding validates tree and time and names the field', () => {
  const t = '"time":"2021-03-04T05:06:07Z"';
  assert.throws(() => decodeSnapshot(Buffer.from('{')), /snapshot: not valid JSON/);
  assert.throws(() => decodeSnapshot(Buffer.from(`{${t}}`)), /field "tree" is missing/);
  assert.throws(() => decodeSnapshot(Buffer.from(`{${t},"tree":"abc"}`)), /field "tree" must be a 64-character hex ID/);
  assert.throws(() => decodeSnapshot(Buffer.from(`{"tree":"${TREE}"}`)), /field "time" is missing/);
  assert.throws(() => decodeSnapshot(Buffer.from(`{"time":"now","tree":"${TREE}"}`)), /field "time" is not an RFC3339 time/);
  assert.throws(() => decodeSnapshot(Buffer.from(`{${t},"tree":"${TREE}","paths":"/"}`)), /field "paths"/);
  assert.throws(() => decodeSnapshot(Buffer.from(`{${t},"tree":"${TREE}","uid":-1}`)), /field "uid"/);
  assert.throws(() => encodeSnapshot({ time: 'x', tree: TREE, paths: [] }), /RFC3339/);
  assert.throws(() => encodeSnapshot({ time: '2021-03-04T05:06:07Z', tree: 'X', paths: [] }), /tree/);
});
