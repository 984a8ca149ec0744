import { test } from 'node:test';
import assert from 'node:assert/strict';
import type { ID, SnapshotWithId, TreeNode } from '../repo';
import { findNode, walkTree, type TreeLoader } from './walk';

const T = '2020-01-01T00:00:00Z';
const id = (s: string): ID => Buffer.from(s).toString('hex').padEnd(64, '0');
const n = (name: string | Buffer, type: TreeNode['type'], extra: Partial<TreeNode> = {}): TreeNode => ({
  name: Buffer.isBuffer(name) ? name : Buffer.from(name),
  type,
  mode: 0,
  mtime: T,
  atime: T,
  ctime: T,
  uid: 0,
  gid: 0,
  content: type === 'file' ? [] : null,
  ...extra,
});

const trees = new Map<ID, TreeNode[]>([
  [id('root'), [n('home', 'dir', { subtree: id('home') }), n('z', 'file')]],
  [id('home'), [n('a', 'file'), n(Buffer.from('bad-\xff', 'latin1'), 'file'), n('gone', 'dir', { subtree: id('missing') }), n('me', 'dir', { subtree: id('me') })]],
  [id('me'), [n('x.txt', 'file')]],
]);
const loader: TreeLoader = {
  loadTree: async (t) => {
    const nodes = trees.get(t);
    if (!nodes) throw new Error(`tree ${t.slice(0, 8)} missing`);
    return nodes;
  },
};
const snap: SnapshotWithId = { id: id('snap'), time: T, tree: id('root'), paths: ['/home'] };

test('walkTree yields depth-first in tree order, reports unreadable subtrees and goes on', async () => {
  const seen: string[] = [];
  const errors: string[] = [];
  for await (const { path } of walkTree(loader, id('root'), '', { onError: (p, e) => errors.push(`${p}: ${e.message}`) })) seen.push(path);
  assert.deepEqual(seen, ['/home', '/home/a', '/home/bad-\ufffd', '/home/gone', '/home/me', '/home/me/x.txt', '/z']);
  assert.deepEqual(errors, [`/home/gone: tree ${id('missing').slice(0, 8)} missing`]);
  const below: string[] = [];
  for await (const { path } of walkTree(loader, id('me'), '/home/me/', { onError: () => undefined })) below.push(path);
  assert.deepEqual(below, ['/home/me/x.txt']);
  await assert.rejects(async () => {
    for await (const _ of walkTree(loader, id('root'))) void _;
  }, /missing/);
});

test('findNode finds files and folders by absolute path, and the root', async () => {
  assert.equal((await findNode(loader, snap, '/home/me/x.txt'))?.name.toString(), 'x.txt');
  assert.equal((await findNode(loader, snap, '/home/me/'))?.subtree, id('me'));
  assert.equal((await findNode(loader, snap, '/'))?.subtree, id('root'));
  assert.equal(await findNode(loader, snap, '/home/nope'), undefined);
  assert.equal(await findNode(loader, snap, '/z/below-a-file'), undefined);
});
