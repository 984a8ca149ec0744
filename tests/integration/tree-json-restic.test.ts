// Interop with restic 0.14 itself: the tree blobs restic stores for a folder must be byte-identical to
// what Mamori encodes from nodeFromPath for the same files, because identical tree JSON is what lets
// a restic backup after a Mamori backup add 0 bytes. Also checks snapshot JSON against the raw bytes
// restic stored (decrypted here with the master key restic prints), and restic's FixTime on tmpfs.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { execFileSync, spawnSync } from 'node:child_process';
import { createDecipheriv, randomBytes } from 'node:crypto';
import * as fs from 'node:fs';
import * as net from 'node:net';
import { tmpdir } from 'node:os';
import { basename, join } from 'node:path';
import { needTool } from '../helpers/tools';
import { decodeTree, encodeNode, encodeTree } from '../../electron/engine/repo/tree';
import { goQuoteBytes } from '../../electron/engine/repo/gojson';
import { decodeSnapshot, encodeSnapshot } from '../../electron/engine/repo/snapshot-json';
import { zstdDecompress } from '../../electron/engine/repo/compress';
import { nodeFromPath } from '../../electron/engine/backup/fsnode';
import type { TreeNode } from '../../electron/engine/repo/types';

const skip = needTool('restic');
const isRoot = process.getuid?.() === 0;

interface Repo {
  dir: string;
  env: NodeJS.ProcessEnv;
}

function newRepo(base: string, tz?: string): Repo {
  const dir = fs.mkdtempSync(join(base, 'repo-'));
  fs.rmdirSync(dir);
  const env: NodeJS.ProcessEnv = { ...process.env, RESTIC_PASSWORD: 'mamori-test', RESTIC_REPOSITORY: dir };
  if (tz !== undefined) env.TZ = tz;
  restic({ dir, env }, ['init', '--repository-version', '2']);
  return { dir, env };
}

function restic(repo: Repo, args: string[]): Buffer {
  const r = spawnSync('restic', ['--no-cache', '-q', ...args], { env: repo.env, maxBuffer: 256 << 20 });
  if (r.status !== 0) throw new Error(`restic ${args.join(' ')} failed (${r.status}): ${r.stderr.toString()}`);
  return r.stdout;
}

function backup(repo: Repo, paths: string[], extra: string[] = []): string {
  const out = restic(repo, ['backup', '--json', ...extra, ...paths]).toString('utf8');
  const summary = out.trim().split('\n').map((l) => JSON.parse(l)).find((m) => m.message_type === 'summary');
  assert.ok(summary?.snapshot_id, `no summary in restic backup output: ${out}`);
  return summary.snapshot_id as string;
}

/**
 * The tree IDs along `absPath` inside a snapshot of it, root first (restic 0.14 keeps the whole
 * absolute path): element k is the tree of the folder made of the first k components.
 */
function pathTrees(repo: Repo, snapshotId: string, absPath: string): string[] {
  const trees = [JSON.parse(restic(repo, ['cat', 'snapshot', snapshotId]).toString('utf8')).tree as string];
  for (const comp of absPath.split('/').filter(Boolean)) {
    const node = decodeTree(restic(repo, ['cat', 'blob', trees[trees.length - 1]])).find((n) => n.name.equals(Buffer.from(comp)));
    assert.ok(node?.subtree, `no dir ${comp} on the way to ${absPath}`);
    trees.push(node.subtree);
  }
  return trees;
}

function treeOf(repo: Repo, snapshotId: string, absPath: string): string {
  return pathTrees(repo, snapshotId, absPath).pop() as string;
}

function describe(n: TreeNode): string {
  return goQuoteBytes(n.name);
}

/**
 * Rebuilds each tree restic stored under `dirPath` from the file system and compares bytes, then
 * recurses into subtrees. Returns the number of trees compared.
 */
async function compareTree(repo: Repo, treeId: string, dirPath: Buffer): Promise<number> {
  const stored = restic(repo, ['cat', 'blob', treeId]);
  const storedText = stored.toString('utf8');
  const theirs = decodeTree(stored);

  // restic 0.14 leaves sockets out of its trees altogether (the archiver skips them).
  const onDisk = fs.readdirSync(dirPath, { encoding: 'buffer' })
    .filter((name) => !fs.lstatSync(Buffer.concat([dirPath, Buffer.from('/'), name])).isSocket())
    .sort(Buffer.compare);
  assert.deepEqual(theirs.map((n) => n.name), onDisk, `restic stored other names than on disk in ${dirPath}`);

  const ours: TreeNode[] = [];
  for (const t of theirs) {
    const p = Buffer.concat([dirPath, Buffer.from('/'), t.name]);
    const n = await nodeFromPath(p, t.name);
    // Chunking and subtrees are other modules' job: take the IDs restic computed.
    if (n.type === 'file') n.content = t.content;
    if (t.subtree) n.subtree = t.subtree;
    // Node by node first, for a readable failure: our JSON must appear verbatim in restic's blob.
    const mine = encodeNode(n);
    assert.ok(storedText.includes(mine), `node ${describe(t)} in ${dirPath} differs from restic's:\n  ours:    ${mine}\n  restic's: ${encodeNode(t)}`);
    ours.push(n);
  }
  // Reverse the input to prove encodeTree sorts by raw bytes itself.
  assert.deepEqual(encodeTree(ours.reverse()), stored, `tree ${treeId} for ${dirPath} differs from restic's`);

  // Decoding restic's bytes and encoding again is the identity, except where restic 0.14 itself
  // lost information: a non-UTF-8 link target is stored as \ufffd, which decodes (in Go as here) to
  // a real U+FFFD that any encoder then writes literally.
  const reencoded = storedText.replaceAll('\\ufffd', '\ufffd');
  assert.equal(encodeTree(theirs).toString('utf8'), reencoded, `decode → encode changes tree ${treeId}`);

  let count = 1;
  for (const t of theirs) {
    if (t.type === 'dir' && t.subtree) {
      count += await compareTree(repo, t.subtree, Buffer.concat([dirPath, Buffer.from('/'), t.name]));
    }
  }
  return count;
}

function touchNs(path: string, spec: string): void {
  execFileSync('touch', ['-h', '-d', spec, path]);
}

/** A folder with every kind of entry restic distinguishes and the names and modes that are hard to encode. */
async function makeSource(base: string): Promise<string> {
  const src = fs.mkdtempSync(join(base, 'src-'));
  const w = (name: string | Buffer, data: string | Buffer = '') => fs.writeFileSync(Buffer.concat([Buffer.from(src + '/'), Buffer.from(name)]), data);
  w('empty.txt');
  w('small.txt', 'hello <world> & co\n');
  w('big.bin', randomBytes(1536 * 1024 + 7));
  fs.mkdirSync(join(src, 'sub', 'deeper'), { recursive: true });
  fs.writeFileSync(join(src, 'sub', 'a.txt'), 'a');
  fs.writeFileSync(join(src, 'sub', 'deeper', 'b.txt'), 'b');
  fs.mkdirSync(join(src, 'emptydir'));
  fs.symlinkSync('small.txt', join(src, 'link'));
  fs.symlinkSync('does/not/exist', join(src, 'dangling'));
  fs.symlinkSync(Buffer.from([0x74, 0xff, 0x2f, 0x78]), Buffer.from(join(src, 'link-bad-utf8')));
  w('hard1', 'shared');
  fs.linkSync(join(src, 'hard1'), join(src, 'hard2'));
  execFileSync('mkfifo', [join(src, 'fifo')]);
  w('suid', '#!/bin/sh\n');
  fs.chmodSync(join(src, 'suid'), 0o4755);
  w('sgid', '#!/bin/sh\n');
  fs.chmodSync(join(src, 'sgid'), 0o2755);
  fs.mkdirSync(join(src, 'sticky'));
  fs.chmodSync(join(src, 'sticky'), 0o1777);
  w('noperm');
  fs.chmodSync(join(src, 'noperm'), 0); // mode 0: omitted from the JSON by omitempty
  w('日本語.txt', 'nihongo');
  w(Buffer.from([0x66, 0xff, 0xfe]), 'invalid utf-8 name');
  w('new\nline"quote.txt');
  w('we"ird\\ näme\u00a0\x01.txt');
  w('tab\tand\u2028sep<&>.txt');
  w('emoji 🫠 (unicode 14).txt');
  w('pre-1970');
  touchNs(join(src, 'pre-1970'), '1969-07-20 20:17:40.123456789 UTC');
  w('round-seconds');
  touchNs(join(src, 'round-seconds'), '2001-02-03 04:05:06 UTC');
  w('ns-trailing-zeros');
  touchNs(join(src, 'ns-trailing-zeros'), '2001-02-03 04:05:06.120000000 UTC');
  if (isRoot) {
    w('unknown-owner');
    fs.chownSync(join(src, 'unknown-owner'), 4242, 4343);
    for (const [name, kind, maj, min] of [['chardev', 'c', '1', '3'], ['blockdev', 'b', '7', '0']]) {
      // mknod may be denied in a container; the other entries still cover the rest.
      spawnSync('mknod', [join(src, name), kind, maj, min]);
    }
  }
  // restic skips sockets; one is here to prove that. Node unlinks a socket when its server closes,
  // so keep a hard link to the socket inode.
  const sockPath = join(src, 'sock-tmp');
  const server = net.createServer();
  await new Promise<void>((resolve) => server.listen(sockPath, resolve));
  fs.linkSync(sockPath, join(src, 'socket'));
  await new Promise<void>((resolve) => server.close(() => resolve()));
  if (fs.existsSync(sockPath)) fs.unlinkSync(sockPath);
  return src;
}

test('trees encoded from the file system are byte-identical to restic 0.14, in several time zones', { skip }, async (t) => {
  const base = fs.mkdtempSync(join(tmpdir(), 'mamori-tree-json-'));
  const savedTZ = process.env.TZ;
  try {
    const src = await makeSource(base);
    for (const tz of ['UTC', 'Asia/Tokyo', 'America/New_York', 'Australia/Adelaide']) {
      await t.test(`TZ=${tz}`, async () => {
        // Node re-reads the zone when TZ is assigned, so our formatting follows restic's.
        process.env.TZ = tz;
        const repo = newRepo(base, tz);
        const sn = backup(repo, [src]);
        const [srcTree, parentTreeId] = pathTrees(repo, sn, src).reverse();
        const trees = await compareTree(repo, srcTree, Buffer.from(src));
        assert.equal(trees, 5); // src, sub, sub/deeper, emptydir, sticky
        // The tree above holds just the src folder's own node, from its real metadata (the parent's
        // other entries, such as the repository, are not part of the snapshot).
        const srcNode = await nodeFromPath(src, Buffer.from(basename(src)));
        srcNode.subtree = srcTree;
        assert.deepEqual(encodeTree([srcNode]), restic(repo, ['cat', 'blob', parentTreeId]));
      });
    }
  } finally {
    if (savedTZ === undefined) delete process.env.TZ;
    else process.env.TZ = savedTZ;
    fs.rmSync(base, { recursive: true, force: true });
  }
});

test('restic FixTime: out-of-range years are clamped the same way (tmpfs holds 64-bit times)', { skip }, async (t) => {
  let base: string;
  try {
    base = fs.mkdtempSync('/dev/shm/mamori-fixtime-');
  } catch {
    t.skip('*** /dev/shm is not writable: cannot make files dated outside years 0..9999 ***');
    return;
  }
  try {
    const src = join(base, 'src');
    fs.mkdirSync(src);
    for (const [name, spec] of [['y10000', '@253402300800'], ['yneg', '@-62167219300'], ['leap', '10400-02-29 12:00:00 UTC']]) {
      fs.writeFileSync(join(src, name), '');
      touchNs(join(src, name), spec);
    }
    const repo = newRepo(join(base), process.env.TZ);
    const sn = backup(repo, [src]);
    const tree = treeOf(repo, sn, src);
    await compareTree(repo, tree, Buffer.from(src));
    const mtimes = decodeTree(restic(repo, ['cat', 'blob', tree])).map((n) => n.mtime);
    if (new Date().getTimezoneOffset() === 0) assert.deepEqual(mtimes, ['9999-03-01T12:00:00Z', '9999-01-01T00:00:00Z', '0000-12-31T23:58:20Z']);
  } finally {
    fs.rmSync(base, { recursive: true, force: true });
  }
});

/** A repository file's plaintext, decrypted with the master key restic reveals (MAC not checked). */
function readUnpacked(repo: Repo, file: string): Buffer {
  const mk = JSON.parse(restic(repo, ['cat', 'masterkey']).toString('utf8'));
  const data = fs.readFileSync(file);
  const d = createDecipheriv('aes-256-ctr', Buffer.from(mk.encrypt, 'base64'), data.subarray(0, 16));
  const plain = Buffer.concat([d.update(data.subarray(16, data.length - 16)), d.final()]);
  return plain[0] === 0x02 ? zstdDecompress(plain.subarray(1)) : plain;
}

test('snapshot JSON round-trips to the exact bytes restic 0.14 stored', { skip }, async () => {
  const base = fs.mkdtempSync(join(tmpdir(), 'mamori-snapshot-json-'));
  try {
    const src = join(base, 'src <&> "q"');
    fs.mkdirSync(src);
    fs.writeFileSync(join(src, 'f'), 'x');
    fs.writeFileSync(join(src, 'skip.tmp'), 'y');
    const repo = newRepo(base);
    const first = backup(repo, [src], ['--tag', 'daily', '--tag', 'mamori:<x>', '--exclude', '*.tmp', '--host', 'host&co']);
    backup(repo, [src], ['--host', 'host&co']); // same host and paths: gets the first as parent
    restic(repo, ['tag', '--add', 'added', first]);

    const files = fs.readdirSync(join(repo.dir, 'snapshots'));
    assert.equal(files.length, 2); // `restic tag` replaced the first snapshot by one with "original"
    let sawParent = false;
    let sawOriginal = false;
    for (const f of files) {
      const raw = readUnpacked(repo, join(repo.dir, 'snapshots', f));
      assert.notEqual(raw[raw.length - 1], 0x0a, 'restic writes snapshots without a trailing newline');
      const sn = decodeSnapshot(raw);
      assert.deepEqual(encodeSnapshot(sn), raw, `snapshot ${f}`);
      // restic's own pretty-printed view decodes to the same snapshot.
      assert.deepEqual(decodeSnapshot(restic(repo, ['cat', 'snapshot', f])), sn);
      sawParent ||= sn.parent !== undefined;
      sawOriginal ||= sn.original !== undefined;
    }
    assert.ok(sawParent && sawOriginal, 'expected snapshots with parent and original');
  } finally {
    fs.rmSync(base, { recursive: true, force: true });
  }
});
