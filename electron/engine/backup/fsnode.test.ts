import { test } from 'node:test';
import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import * as fs from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { goFileModeFromStat, nodeFromPath, nodeTypeFromGoFileMode, unixModeFromGoFileMode } from './fsnode';
import { formatGoTime } from '../repo/gotime';
import { encodeTree } from '../repo/tree';

test('Go FileMode from st_mode and back (values as restic stores them)', () => {
  const cases: [number, number, string][] = [
    [0o100644, 420, 'file'],
    [0o100000, 0, 'file'],
    [0o040755, 2147484141, 'dir'],
    [0o041777, 2 ** 31 + 2 ** 20 + 0o777, 'dir'],
    [0o104755, 2 ** 23 + 0o755, 'file'],
    [0o102755, 2 ** 22 + 0o755, 'file'],
    [0o120777, 134218239, 'symlink'],
    [0o020644, 69206436, 'chardev'],
    [0o060660, 2 ** 26 + 0o660, 'dev'],
    [0o010644, 33554852, 'fifo'],
    [0o140755, 2 ** 24 + 0o755, 'socket'],
  ];
  for (const [st, go, type] of cases) {
    assert.equal(goFileModeFromStat(st), go, st.toString(8));
    assert.equal(unixModeFromGoFileMode(go), st, go.toString());
    assert.equal(nodeTypeFromGoFileMode(go), type);
  }
});

test('nodeFromPath: files, dirs, symlinks, fifos as restic 0.14 fills them', async () => {
  const dir = fs.mkdtempSync(join(tmpdir(), 'mamori-fsnode-'));
  try {
    const f = join(dir, 'f');
    fs.writeFileSync(f, 'hello');
    execFileSync('touch', ['-d', '1969-07-20 20:17:40.123456789 UTC', f]);
    fs.linkSync(f, join(dir, 'f2'));
    fs.symlinkSync(Buffer.from([0x74, 0xff]), Buffer.from(join(dir, 'l')));
    fs.mkdirSync(join(dir, 'd'));
    execFileSync('mkfifo', [join(dir, 'p')]);
    const st = fs.lstatSync(f, { bigint: true });

    const n = await nodeFromPath(f, Buffer.from('f'));
    assert.equal(n.type, 'file');
    assert.equal(n.mode, Number(st.mode) & 0o777); // a plain file: permission bits only
    assert.equal(n.mtime, formatGoTime(-14_182_939_876_543_211n));
    assert.equal(n.atime, n.mtime, 'restic stores atime = mtime without --with-atime');
    assert.equal(n.ctime, formatGoTime(st.ctimeNs));
    assert.deepEqual([n.size, n.links, n.inode, n.deviceId], [5, 2, Number(st.ino), Number(st.dev)]);
    assert.deepEqual(n.content, []);
    assert.equal((await nodeFromPath(f, Buffer.from('f'), { withAtime: true })).atime, formatGoTime(st.atimeNs));

    const l = await nodeFromPath(join(dir, 'l'), Buffer.from('l'));
    assert.deepEqual([l.type, l.mode, l.linktarget, l.links, l.content], ['symlink', 134218239, Buffer.from([0x74, 0xff]), 1, null]);

    const d = await nodeFromPath(join(dir, 'd'), Buffer.from('d'));
    assert.equal(d.type, 'dir');
    assert.equal(d.links, undefined, 'restic records no link count for dirs');
    assert.equal(d.size, undefined);
    assert.equal(d.content, null);

    const p = await nodeFromPath(join(dir, 'p'), Buffer.from('p'));
    assert.deepEqual([p.type, p.links, p.content], ['fifo', undefined, null]);

    // The nodes are ready to encode once the caller adds content and subtree IDs.
    d.subtree = 'a'.repeat(64);
    assert.match(encodeTree([n, l, d, p]).toString(), /^\{"nodes":\[\{"name":"d","type":"dir"/);
  } finally {
    fs.rmSync(dir, { recursive: true, force: true });
  }
});

test('nodeFromPath: user and group names come from /etc/passwd and /etc/group, omitted when unknown', async (t) => {
  const dir = fs.mkdtempSync(join(tmpdir(), 'mamori-fsnode-'));
  try {
    const f = join(dir, 'f');
    fs.writeFileSync(f, '');
    const n = await nodeFromPath(f, Buffer.from('f'));
    const passwd = fs.readFileSync('/etc/passwd', 'utf8').split('\n').map((l) => l.split(':')).find((p) => Number(p[2]) === n.uid && p[2] !== '');
    assert.equal(n.user, passwd?.[0]);
    if (process.getuid?.() !== 0) {
      t.diagnostic('not root: cannot chown to an unknown uid, skipping that half');
      return;
    }
    fs.chownSync(f, 4242, 4343);
    const u = await nodeFromPath(f, Buffer.from('f'));
    assert.deepEqual([u.uid, u.gid, u.user, u.group], [4242, 4343, undefined, undefined]);
  } finally {
    fs.rmSync(dir, { recursive: true, force: true });
  }
});
