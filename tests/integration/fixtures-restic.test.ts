// restic's own test repositories (../shared/fixtures/restic, format v1, password "geheim"), read by
// Mamori and compared with restic 0.14's view of the same files:
//   - index: the blobs per pack Mamori loads == what `restic cat index` prints for every index file;
//   - snapshots: same IDs and times as `restic snapshots --json`;
//   - trees: walkTree yields the same paths and types, in the same order, as `restic ls --json`;
//   - check: same verdict as `restic check`, the same packs missing / of the wrong size / unindexed,
//     the same blobs and trees missing; affected files agree with `restic find --blob`.
// The expectations per fixture are also written out below, so a wrong oracle cannot pass silently.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { existsSync, readdirSync } from 'node:fs';
import { basename, join } from 'node:path';
import { Repository, type ID } from '../../electron/engine/repo';
import { LocalBackend } from '../../electron/engine/storage';
import { walkTree } from '../../electron/engine/restore';
import { checkRepository, type CheckResult } from '../../electron/engine/check';
import { needTool, sharedFixture } from '../helpers/tools';
import { restic, tempDir } from '../helpers/restic';

const fx = sharedFixture('fixtures/restic');
const skip = fx.skip ?? needTool('restic');
const PW = 'geheim';

interface Expected {
  ok: boolean;
  /** Exactly these errors, as "kind pack-or-blob-ID". */
  errors: string[];
  /** Packs no index lists (hints only). */
  unindexed: ID[];
  /** Affected files per snapshot ID. */
  affected: Record<ID, string[]>;
}

const healthy = (unindexed: ID[] = []): Expected => ({ ok: true, errors: [], unindexed, affected: {} });

const EXPECTED: Record<string, Expected> = {
  'small-repo': healthy(),
  'repo-layout-default': healthy(),
  'repo-same-timestamps': healthy(),
  'repo-restore-permissions-test': healthy(),
  'copy-unstable-json': healthy(),
  'repo-mixed': healthy(),
  'repo-duplicates': healthy(),
  'repo-obsolete-index': healthy(),
  'repo-unreferenced-data': healthy(['f885cf59dbeedc4d53e94116ddeeebf3821ec62eff9b109bcc5f0dc591e276ed']),
  // The index naming the first snapshot's root tree is gone; its packs remain, unindexed.
  'repo-index-missing': {
    ok: false,
    errors: ['tree-missing c5897731f7e9b913e3d6b90feeaaab07a831a50614c10e9dd9e098ca761ae961'],
    unindexed: ['289ec47250b19bd284bb8d65ed9437607a03c0724883316765064b1be71a44c0', 'd44cf31e272ec4dd35a155d55b773aa2a0d599254ca48cb4d618757d38fa3a36'],
    affected: { '6825a5d41c0391422cbc1085e2d59f2f625b1107eb01cc8cf3a27d2dfb21fc52': ['/'] },
  },
  'repo-index-missing-blob': {
    ok: false,
    errors: ['blob-missing f2ca1bb6c7e907d06dafe4687e579fce76b37e4e93b7605022da52e6ccc26fd2'],
    unindexed: ['8f120ae0b2916471961af123af445ddde0b49776163ff6fa53b7b232ad6d466c', 'f885cf59dbeedc4d53e94116ddeeebf3821ec62eff9b109bcc5f0dc591e276ed'],
    affected: { f22c6d3a17cb7987bf0ea7ffaeef538944fb08d23b533a76debf5d5169ce4e83: ['/home/thinkpad/data/test'] },
  },
  'repo-data-missing': {
    ok: false,
    errors: ['pack-missing 1959b7f2802f1d83c9eeda21f3d5c5f4ff6c4b122a59b5f5ca5e28a4970a37b4'],
    unindexed: [],
    affected: { d6f984f60d1449ecb15c64651c5ee766a1e67464eaccc83c6a42373de436dc35: ['/home/thinkpad/data/test'] },
  },
  // restic's verdict: broken (two packs missing, one empty), although the snapshot needs none of
  // their blobs. We agree on the verdict and say that no file is affected.
  'repo-unused-data-missing': {
    ok: false,
    errors: [
      'pack-missing b2a0e6762aeeb8205967f326929e7f07f4997eed540fc8a759604f4baba43027',
      'pack-missing d05c81069fdf4616aaf89ddf530dd312633176e6ca8f24fd4c878e453aa57b81',
      'pack-size-mismatch f6a0bdd2515a5fc8d4253a4ba50abe03649d710cd2f6142837c86c760b94a43a',
    ],
    unindexed: [],
    affected: {},
  },
};

const NOT_REPOSITORIES = ['backup-data', 'test.hl'];

function unpack(archive: string, into: string): string {
  const r = spawnSync('tar', ['xzf', archive, '-C', into], { encoding: 'utf8' });
  assert.equal(r.status, 0, `tar xzf ${archive}: ${r.stderr}`);
  return join(into, 'repo');
}

function json<T>(repoDir: string, args: string[]): T {
  const r = restic(repoDir, PW, args);
  assert.equal(r.status, 0, `restic ${args.join(' ')}: ${r.stderr}`);
  return JSON.parse(r.stdout) as T;
}

function ids(text: string, re: RegExp): ID[] {
  return [...text.matchAll(re)].map((m) => m[1]).sort();
}

function errorKeys(r: CheckResult): string[] {
  return r.errors.map((e) => `${e.kind} ${e.pack ?? e.blob ?? e.subject}`).sort();
}

function hintPacks(r: CheckResult): ID[] {
  return r.hints.flatMap((h) => /^pack ([0-9a-f]{64}) .*not listed in any index/.exec(h)?.[1] ?? []).sort();
}

function affectedMap(r: CheckResult): Record<ID, string[]> {
  return Object.fromEntries(r.affected.map((a) => [a.snapshot, a.files]));
}

test('the fixture folder holds exactly the archives this test knows', { skip }, () => {
  const names = readdirSync(fx.path!).filter((n) => n.endsWith('.tar.gz')).map((n) => basename(n, '.tar.gz')).sort();
  assert.deepEqual(names, [...Object.keys(EXPECTED), ...NOT_REPOSITORIES].sort());
});

for (const [name, want] of Object.entries(EXPECTED)) {
  test(`restic fixture ${name}: Mamori reads and checks it as restic 0.14 does`, { skip }, async (t) => {
    const { dir, cleanup } = tempDir(`mamori-fx-${name}-`);
    t.after(cleanup);
    const archive = join(fx.path!, `${name}.tar.gz`);
    assert.ok(existsSync(archive), archive);
    const repoDir = unpack(archive, dir);
    const repo = await Repository.open(new LocalBackend(repoDir), PW);
    assert.equal(repo.version, 1);

    // Index: every index file decodes and the union matches restic's own reading, pack by pack.
    assert.deepEqual(await repo.loadIndex(), []);
    const resticBlobs = new Set<string>();
    for (const idx of await repo.listIds('index')) {
      const doc = json<{ packs?: { id: ID; blobs: { id: ID; type: string; offset: number; length: number }[] }[] }>(repoDir, ['cat', 'index', idx]);
      for (const p of doc.packs ?? []) for (const b of p.blobs) resticBlobs.add(`${p.id} ${b.type} ${b.id} ${b.offset} ${b.length}`);
    }
    const ours = new Set([...repo.index.all()].map((b) => `${b.pack} ${b.type} ${b.id} ${b.offset} ${b.length}`));
    assert.deepEqual([...ours].sort(), [...resticBlobs].sort());

    // Snapshots: same IDs and times.
    const snaps = await repo.listSnapshots();
    const theirs = json<{ id: ID; time: string }[]>(repoDir, ['snapshots', '--json']);
    assert.deepEqual(
      snaps.map((s) => `${s.id} ${s.time}`).sort(),
      theirs.map((s) => `${s.id} ${s.time}`).sort(),
    );

    // Trees: same paths and types in the same order as restic ls; where restic cannot list a
    // snapshot (its trees are missing), our walk reports an error instead of inventing content.
    for (const sn of snaps) {
      const walkErrors: string[] = [];
      const walked: string[] = [];
      for await (const { path, node } of walkTree(repo, sn.tree, '', { onError: (p) => walkErrors.push(p) })) walked.push(`${node.type} ${path}`);
      const ls = restic(repoDir, PW, ['ls', '--json', sn.id]);
      const listed = ls.stdout
        .split('\n')
        .filter((l) => l.trim())
        .map((l) => JSON.parse(l) as { struct_type: string; type?: string; path?: string })
        .filter((n) => n.struct_type === 'node')
        .map((n) => `${n.type} ${n.path}`);
      if (ls.status === 0) {
        assert.deepEqual(walkErrors, [], `snapshot ${sn.id}`);
        assert.ok(listed.length > 0, `restic ls ${sn.id} printed no nodes`);
        assert.deepEqual(walked, listed, `snapshot ${sn.id}`);
      } else {
        assert.ok(walkErrors.length > 0, `restic cannot list ${sn.id} but our walk found no error`);
        for (const l of listed) assert.ok(walked.includes(l), `${l} listed by restic, not by us`);
      }
    }

    // Check, structure only: the explicit expectations, then restic's own findings.
    const result = await checkRepository(repo, {});
    assert.equal(result.ok, want.ok, JSON.stringify(result.errors, null, 1));
    assert.deepEqual(errorKeys(result), [...want.errors].sort());
    assert.deepEqual(hintPacks(result), [...want.unindexed].sort());
    assert.deepEqual(affectedMap(result), want.affected);
    assert.equal(result.stats.snapshots, snaps.length);
    for (const e of result.errors) assert.match(e.message, /no file is affected|Restore these files from another destination/, e.message);

    const rc = restic(repoDir, PW, ['check']);
    const out = rc.stdout + rc.stderr;
    assert.equal(rc.status === 0, result.ok, `restic check said:\n${out}`);
    const kindIds = (kind: string) => result.errors.filter((e) => e.kind === kind).map((e) => (e.pack ?? e.blob) as ID).sort();
    assert.deepEqual(kindIds('pack-missing'), ids(out, /pack ([0-9a-f]{64}): does not exist/g));
    assert.deepEqual(kindIds('pack-size-mismatch'), ids(out, /pack ([0-9a-f]{64}): unexpected file size/g));
    assert.deepEqual(kindIds('blob-missing'), ids(out, /blob ([0-9a-f]{64}) not found in index/g));
    assert.deepEqual(kindIds('tree-missing'), ids(out, /id ([0-9a-f]{64}) not found in repository/g));
    assert.deepEqual(hintPacks(result), ids(out, /pack ([0-9a-f]{64}): not referenced in any index/g));

    // Affected files for lost data blobs: what `restic find --blob` says uses them.
    const lostData = new Set<ID>(result.errors.filter((e) => e.kind === 'blob-missing').map((e) => e.blob as ID));
    for (const e of result.errors) {
      if (e.kind !== 'pack-missing' && e.kind !== 'pack-size-mismatch') continue;
      for (const b of repo.index.all()) if (b.pack === e.pack && b.type === 'data') lostData.add(b.id);
    }
    if (lostData.size > 0) {
      const found = json<{ path: string; snapshot: ID }[] | null>(repoDir, ['find', '--json', '--blob', ...lostData]) ?? [];
      const byFind: Record<ID, string[]> = {};
      for (const f of found) (byFind[f.snapshot] ??= []).push(f.path);
      for (const v of Object.values(byFind)) v.sort();
      const dataAffected = Object.fromEntries(Object.entries(affectedMap(result)).filter(([, files]) => !files.includes('/')));
      assert.deepEqual(dataAffected, byFind);
    }

    // Read-data: healthy fixtures verify completely, as `restic check --read-data` agrees; damaged
    // ones keep the same verdict (restic's read-data retries missing packs for minutes, so it runs
    // only on the healthy ones).
    const full = await checkRepository(repo, { readData: true });
    assert.equal(full.ok, want.ok, JSON.stringify(full.errors, null, 1));
    assert.deepEqual(errorKeys(full), errorKeys(result));
    if (want.ok) {
      let packBytes = 0;
      for await (const f of repo.backend.list('data')) if (!want.unindexed.includes(f.name)) packBytes += f.size;
      assert.equal(full.stats.bytesRead, packBytes);
      const rd = restic(repoDir, PW, ['check', '--read-data']);
      assert.equal(rd.status, 0, rd.stdout + rd.stderr);
    }
  });
}
