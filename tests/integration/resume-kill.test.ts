// kill -9 of `mamori backup` while it writes to two destinations: the next run resumes, adopting the
// packs that landed instead of uploading their blobs again (no blob is stored twice on either
// destination), the job history says the first run was interrupted, and restic accepts both copies.
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { mkdirSync, readdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { test } from 'node:test';
import { LocalBackend, Repository } from '../../electron/engine/index';
import { cliOk } from '../helpers/cli';
import { diffManifests, manifest } from '../helpers/manifest';
import { resticOk, tempDir } from '../helpers/restic';
import { pseudoRandom } from '../helpers/source-tree';
import { needTool, projectRoot } from '../helpers/tools';

const skip = needTool('restic');
const PW = 'resume';

function packs(repo: string): string[] {
  const out: string[] = [];
  for (const d of readdirSync(join(repo, 'data'))) {
    for (const f of readdirSync(join(repo, 'data', d))) if (/^[0-9a-f]{64}$/.test(f)) out.push(f);
  }
  return out.sort();
}

/** Every data blob of the repository, with how many packs hold it. */
async function blobCopies(repoDir: string): Promise<Map<string, number>> {
  const repo = await Repository.open(new LocalBackend(repoDir), PW);
  const counts = new Map<string, number>();
  for (const p of packs(repoDir)) {
    const { entries } = await repo.loadPackHeader(p);
    for (const e of entries) counts.set(`${e.type}:${e.id}`, (counts.get(`${e.type}:${e.id}`) ?? 0) + 1);
  }
  return counts;
}

test('kill -9 mid-backup: the resumed run uploads no blob twice and both destinations pass restic check', { skip, timeout: 300_000 }, async (t) => {
  const { dir, cleanup } = tempDir();
  t.after(cleanup);
  const env = { MAMORI_HOME: join(dir, 'home'), MAMORI_PASSWORD: PW };
  const src = join(dir, 'src');
  mkdirSync(src);
  // 72 MiB of incompressible data: several 16 MiB packs per destination.
  for (let i = 0; i < 9; i++) writeFileSync(join(src, `f${i}.bin`), pseudoRandom(`resume${i}`, 8 * 1024 * 1024));
  const a = join(dir, 'a');
  const b = join(dir, 'b');
  await cliOk(['destination', 'add', a, '--name', 'A'], env);
  await cliOk(['destination', 'add', b, '--name', 'B'], env);
  await cliOk(['source', 'add', src], env);

  const child = spawn(process.execPath, [join(projectRoot, 'bin', 'mamori.mjs'), 'backup'], {
    cwd: projectRoot,
    env: { ...process.env, ...env, MAMORI_TEST_KDF: '1024,8,1', MAMORI_NO_KEYRING: '1' },
    stdio: 'ignore',
  });
  let exited = false;
  child.on('exit', () => (exited = true));
  const deadline = Date.now() + 120_000;
  while (!exited && (packs(a).length < 2 || packs(b).length < 2) && Date.now() < deadline) await new Promise((r) => setTimeout(r, 10));
  assert.equal(exited, false, 'the backup finished before it could be killed; make the source larger');
  child.kill('SIGKILL');
  await new Promise((r) => child.on('exit', r));
  const landedA = packs(a);
  const landedB = packs(b);
  assert.ok(landedA.length >= 2 && landedB.length >= 2);
  // No index names them yet: without adoption the next run would upload their blobs again.
  assert.equal(readdirSync(join(a, 'index')).length, 0);

  const r = await cliOk(['backup', '--json'], env);
  const summary = JSON.parse(r.stdout.trim().split('\n').pop()!);
  const outcomes = summary.sources[0].destinations as { name: string; status: string; adoptedPacks: number }[];
  for (const o of outcomes) {
    assert.equal(o.status, 'ok', o.name);
    assert.ok(o.adoptedPacks >= 2, `${o.name} adopted ${o.adoptedPacks} packs`);
  }
  for (const [repo, landed] of [[a, landedA], [b, landedB]] as const) {
    // The packs that landed are kept and used; no blob sits in two packs.
    const now = packs(repo);
    for (const p of landed) assert.ok(now.includes(p), `pack ${p} kept`);
    const copies = await blobCopies(repo);
    const twice = [...copies].filter(([, n]) => n > 1);
    assert.deepEqual(twice, [], `blobs stored twice in ${repo}`);
    resticOk(repo, PW, ['check', '--read-data']);
    const target = join(dir, `restore-${repo === a ? 'a' : 'b'}`);
    resticOk(repo, PW, ['restore', 'latest', '--target', target]);
    assert.deepEqual(diffManifests(manifest(src), manifest(join(target, src))), []);
  }
  // The job history tells the story.
  const { openStateDb, StateStore } = await import('../../electron/engine/index');
  const opened = openStateDb(join(dir, 'home'));
  const jobs = new StateStore(opened.db).listJobs();
  opened.db.close();
  assert.deepEqual(jobs.map((j) => j.status), ['ok', 'interrupted']);
});
