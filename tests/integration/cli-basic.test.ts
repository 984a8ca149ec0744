// The `mamori` command line end to end: every test spawns `node bin/mamori.mjs ...` as a user would,
// with cheap scrypt (MAMORI_TEST_KDF, test-only) so each command opens its repository quickly.
// restic itself is the oracle for the interop test: it must accept what `mamori backup` wrote.
import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { chmodSync, cpSync, existsSync, mkdirSync, readdirSync, statSync, unlinkSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { LocalBackend, Repository } from '../../electron/engine/index';
import { diffManifests, manifest } from '../helpers/manifest';
import { restic, tempDir } from '../helpers/restic';
import { makeSourceTree } from '../helpers/source-tree';
import { needTool, projectRoot } from '../helpers/tools';

const PW = 'correct horse battery';
const HEX64 = /^[0-9a-f]{64}$/;

interface Run {
  code: number | null;
  stdout: string;
  stderr: string;
}

type Env = Record<string, string | undefined>;

function baseEnv(extra: Env = {}): NodeJS.ProcessEnv {
  const env: NodeJS.ProcessEnv = { ...process.env, MAMORI_PASSWORD: PW, MAMORI_TEST_KDF: '1024,8,1' };
  delete env.MAMORI_REPOSITORY;
  delete env.MAMORI_NEW_PASSWORD;
  delete env.MAMORI_DEBUG;
  for (const [k, v] of Object.entries(extra)) {
    if (v === undefined) delete env[k];
    else env[k] = v;
  }
  return env;
}

/** Runs the CLI with stdin closed (never a TTY: no prompts, no progress line). */
function mamori(args: string[], opts: { env?: Env; uid?: number; gid?: number } = {}): Promise<Run> {
  return new Promise((resolve, reject) => {
    const child = spawn(process.execPath, [join(projectRoot, 'bin', 'mamori.mjs'), ...args], {
      cwd: projectRoot,
      env: baseEnv(opts.env),
      stdio: ['ignore', 'pipe', 'pipe'],
      ...(opts.uid !== undefined ? { uid: opts.uid, gid: opts.gid } : {}),
    });
    let stdout = '';
    let stderr = '';
    child.stdout.setEncoding('utf8').on('data', (d: string) => (stdout += d));
    child.stderr.setEncoding('utf8').on('data', (d: string) => (stderr += d));
    child.on('error', reject);
    child.on('close', (code) => resolve({ code, stdout, stderr }));
  });
}

function show(r: Run): string {
  return `exit ${r.code}\n--- stdout\n${r.stdout}\n--- stderr\n${r.stderr}`;
}

async function ok(args: string[], opts: { env?: Env } = {}): Promise<Run> {
  const r = await mamori(args, opts);
  assert.equal(r.code, 0, `mamori ${args.join(' ')}\n${show(r)}`);
  return r;
}

function packFiles(repoDir: string): { id: string; path: string; size: number }[] {
  const out: { id: string; path: string; size: number }[] = [];
  for (const d of readdirSync(join(repoDir, 'data'))) {
    for (const f of readdirSync(join(repoDir, 'data', d))) {
      if (HEX64.test(f)) out.push({ id: f, path: join(repoDir, 'data', d, f), size: statSync(join(repoDir, 'data', d, f)).size });
    }
  }
  return out;
}

describe('mamori CLI', { timeout: 300_000 }, () => {
  const { dir, cleanup } = tempDir('mamori-cli-');
  const src = join(dir, 'src');
  const repo = join(dir, 'repo');
  let first = '';
  let second = '';

  before(async () => {
    makeSourceTree(src, { largeSize: 2 * 1024 * 1024, smallFiles: 20 });
    const init = await ok(['init', '--repo', repo]);
    assert.match(init.stdout, /[0-9a-f]{64}/);
    const b1 = await ok(['backup', '--repo', repo, src]);
    first = /snapshot ([0-9a-f]{8}) saved/.exec(b1.stdout)?.[1] ?? '';
    const b2 = await ok(['backup', '--repo', repo, '--json', '--tag', 'daily', '--tag', 'a,b', '--host', 'cli-test-host', src]);
    second = (JSON.parse(b2.stdout) as { snapshot_id: string }).snapshot_id;
  });
  after(cleanup);

  it('init prints the ID and location and warns that a lost password means lost backups', async () => {
    const r = await ok(['init', '--repo', join(dir, 'another')]);
    assert.match(r.stdout, /created repository [0-9a-f]{64} at /);
    assert.ok(r.stdout.includes(join(dir, 'another')), r.stdout);
    assert.match(r.stderr, /lose the password.*lost/is);
    assert.doesNotMatch(r.stdout + r.stderr, new RegExp(PW));
    assert.ok(existsSync(join(dir, 'another', 'config')));
    const again = await mamori(['init', '--repo', join(dir, 'another')]);
    assert.equal(again.code, 1, show(again));
    assert.match(again.stderr, /^mamori: .*already/m);
  });

  it('backup prints a summary; the second run finds the files unmodified; --json prints only JSON', async () => {
    assert.match(first, /^[0-9a-f]{8}$/);
    assert.match(second, HEX64);
    const r = await ok(['backup', '--repo', repo, '--json', src]);
    const lines = r.stdout.trim().split('\n');
    assert.equal(lines.length, 1, r.stdout);
    const s = JSON.parse(lines[0]) as Record<string, unknown>;
    assert.equal(s.message_type, 'summary');
    assert.equal(s.files_new, 0);
    assert.equal(s.files_changed, 0);
    assert.ok((s.files_unmodified as number) > 20, lines[0]);
    assert.deepEqual(s.errors, []);
    // Leave the repository with two snapshots for the tests below.
    const id = s.snapshot_id as string;
    unlinkSync(join(repo, 'snapshots', id));
  });

  it('backup of a path that does not exist fails naming it', async () => {
    const missing = join(dir, 'no-such-folder');
    const r = await mamori(['backup', '--repo', repo, src, missing]);
    assert.equal(r.code, 1, show(r));
    assert.ok(r.stderr.includes(missing), r.stderr);
    assert.match(r.stderr, /^mamori: /m);
  });

  it('snapshots lists both snapshots as a table and as restic-like JSON', async () => {
    const t = await ok(['snapshots', '--repo', repo]);
    assert.match(t.stdout, /ID\s+Time\s+Host\s+Tags\s+Paths/);
    assert.ok(t.stdout.includes(first) && t.stdout.includes(second.slice(0, 8)), t.stdout);
    assert.ok(t.stdout.includes(src));
    assert.match(t.stdout, /cli-test-host/);
    assert.match(t.stdout, /2 snapshots/);
    const j = await ok(['snapshots', '--repo', repo, '--json']);
    const list = JSON.parse(j.stdout) as Record<string, unknown>[];
    assert.equal(list.length, 2);
    const [a, b] = list;
    for (const s of list) {
      assert.match(s.id as string, HEX64);
      assert.equal(s.short_id, (s.id as string).slice(0, 8));
      assert.match(s.tree as string, HEX64);
      assert.deepEqual(s.paths, [src]);
      assert.equal(typeof s.time, 'string');
      assert.equal(typeof s.username, 'string');
    }
    assert.equal(a.short_id, first);
    assert.equal(b.id, second);
    assert.equal(b.hostname, 'cli-test-host');
    assert.deepEqual(b.tags, ['daily', 'a', 'b']);
    assert.deepEqual(a.tags, []);
  });

  it('ls --json lists every file of the snapshot with type, size, mode and mtime', async () => {
    const r = await ok(['ls', '--repo', repo, '--json', 'latest']);
    const objs = r.stdout.trim().split('\n').map((l) => JSON.parse(l) as Record<string, unknown>);
    assert.equal(objs[0].struct_type, 'snapshot');
    assert.equal(objs[0].id, second);
    const nodes = new Map(objs.filter((o) => o.struct_type === 'node').map((o) => [o.path as string, o]));
    const m = manifest(src);
    for (const [rel, e] of m) {
      const name = Buffer.from(rel, 'latin1').toString('utf8');
      if (name.includes('\ufffd')) continue; // the invalid-UTF-8 name is shown lossily
      const p = rel === '' ? src : `${src}/${name}`;
      const n = nodes.get(p);
      assert.ok(n, `ls --json lacks ${p}`);
      assert.equal(n.type, e.type === 'dir' ? 'dir' : e.type === 'symlink' ? 'symlink' : 'file');
      if (e.type === 'file') assert.equal(n.size, e.size, p);
      assert.equal(typeof n.mode, 'number');
      assert.equal(typeof n.mtime, 'string');
    }
    const video = nodes.get(`${src}/media/video.bin`);
    assert.equal(video?.size, 2 * 1024 * 1024);
    assert.equal(video?.permissions, '-rw-r--r--');
  });

  it('ls with a PATH lists only what is below it; --long shows details', async () => {
    const r = await ok(['ls', '--repo', repo, first, `${src}/media`]);
    const lines = r.stdout.trim().split('\n').sort();
    assert.deepEqual(lines, [`${src}/media`, `${src}/media/copy-a.bin`, `${src}/media/copy-b.bin`, `${src}/media/video.bin`, `${src}/media/zeros.bin`]);
    const l = await ok(['ls', '--repo', repo, '--long', first, `${src}/media/zeros.bin`]);
    assert.match(l.stdout, /^-rw-r--r-- .* 2097152 \d{4}-\d\d-\d\d \d\d:\d\d:\d\d .*zeros\.bin$/m);
    const none = await mamori(['ls', '--repo', repo, first, `${src}/nope`]);
    assert.equal(none.code, 1, show(none));
    assert.ok(none.stderr.includes(`${src}/nope`), none.stderr);
  });

  it('restore reproduces the source byte for byte', async () => {
    const target = join(dir, 'restored');
    const r = await ok(['restore', '--repo', repo, 'latest', '--target', target]);
    assert.match(r.stdout, /restored \d+ files/);
    const diffs = diffManifests(manifest(src), manifest(join(target, src)));
    assert.deepEqual(diffs, []);
  });

  it('restore --include restores only that path; --json prints only the summary', async () => {
    const target = join(dir, 'partial');
    const r = await ok(['restore', '--repo', repo, first, '--target', target, '--include', `${src}/docs/note-003.txt`, '--json']);
    const s = JSON.parse(r.stdout) as Record<string, unknown>;
    assert.equal(s.message_type, 'summary');
    assert.equal(s.files_restored, 1);
    assert.deepEqual(s.errors, []);
    assert.deepEqual(readdirSync(join(target, src)), ['docs']);
    assert.deepEqual(readdirSync(join(target, src, 'docs')), ['note-003.txt']);
  });

  it('restore exits 1 and names what it could not restore', async () => {
    const target = join(dir, 'twice');
    await ok(['restore', '--repo', repo, first, '--target', target, '--include', `${src}/docs`]);
    const r = await mamori(['restore', '--repo', repo, first, '--target', target, '--include', `${src}/docs`]);
    assert.equal(r.code, 1, show(r));
    assert.ok(r.stderr.includes(`${src}/docs/note-000.txt`), r.stderr);
  });

  it('snapshot IDs: full, unique prefix and "latest" resolve; unknown and ambiguous ones fail clearly', async () => {
    const ids = (JSON.parse((await ok(['snapshots', '--repo', repo, '--json'])).stdout) as { id: string }[]).map((s) => s.id);
    const latest = await ok(['ls', '--repo', repo, '--json', 'latest', '/']);
    assert.equal((JSON.parse(latest.stdout.split('\n')[0]) as { id: string }).id, ids[1]);
    for (const ref of [ids[0], ids[0].slice(0, 5)]) {
      const r = await ok(['ls', '--repo', repo, '--json', ref]);
      assert.equal((JSON.parse(r.stdout.split('\n')[0]) as { id: string }).id, ids[0]);
    }
    let unknown = 'f';
    while (ids.some((id) => id.startsWith(unknown))) unknown = unknown.length < 8 ? unknown + 'f' : 'e';
    const u = await mamori(['ls', '--repo', repo, unknown]);
    assert.equal(u.code, 1, show(u));
    assert.match(u.stderr, new RegExp(`mamori: no snapshot ${unknown}`));
    const bad = await mamori(['restore', '--repo', repo, 'yesterday', '--target', join(dir, 'x')]);
    assert.equal(bad.code, 1, show(bad));
    assert.match(bad.stderr, /not a snapshot ID/);

    // Ambiguous: add snapshots (copies with other times, through the engine) until two share a first character.
    const amb = join(dir, 'amb');
    cpSync(repo, amb, { recursive: true });
    const r = await Repository.open(new LocalBackend(amb), PW);
    const base = await r.loadSnapshot(ids[0]);
    const seen = new Set(ids.map((id) => id[0]));
    let prefix = ids[0][0] === ids[1][0] ? ids[0][0] : '';
    for (let i = 0; !prefix; i++) {
      const id = await r.saveSnapshot({ ...base, time: `2020-01-01T00:00:${String(i).padStart(2, '0')}Z` });
      if (seen.has(id[0])) prefix = id[0];
      seen.add(id[0]);
    }
    const a = await mamori(['ls', '--repo', amb, prefix]);
    assert.equal(a.code, 1, show(a));
    assert.match(a.stderr, /matches \d+ snapshots/);
  });

  it('a wrong password fails with exit 1 and says so', async () => {
    const r = await mamori(['snapshots', '--repo', repo], { env: { MAMORI_PASSWORD: 'not it' } });
    assert.equal(r.code, 1, show(r));
    assert.match(r.stderr, /^mamori: wrong password/m);
    assert.equal(r.stdout, '');
    assert.doesNotMatch(r.stderr, /not it/);
  });

  it('no password and no terminal: a clear error saying how to give one', async () => {
    const r = await mamori(['snapshots', '--repo', repo], { env: { MAMORI_PASSWORD: undefined } });
    assert.equal(r.code, 1, show(r));
    assert.match(r.stderr, /no password given/);
    assert.match(r.stderr, /MAMORI_PASSWORD/);
    assert.match(r.stderr, /--password-file/);
  });

  it('--password-file: the first line is the password, and it wins over MAMORI_PASSWORD', async () => {
    const f = join(dir, 'pw.txt');
    writeFileSync(f, `${PW}\nsecond line ignored\n`);
    const r = await ok(['snapshots', '--repo', repo, '--password-file', f], { env: { MAMORI_PASSWORD: 'wrong' } });
    assert.match(r.stdout, /2 snapshots/);
    writeFileSync(f, 'nope\n');
    const w = await mamori(['snapshots', '--repo', repo, '--password-file', f]);
    assert.equal(w.code, 1, show(w));
    assert.match(w.stderr, /wrong password/);
  });

  it('MAMORI_REPOSITORY names the repository when --repo is absent', async () => {
    const r = await ok(['snapshots', '--json'], { env: { MAMORI_REPOSITORY: repo } });
    assert.equal((JSON.parse(r.stdout) as unknown[]).length, 2);
  });

  it('a folder that is not a repository, and a missing one, fail with a hint', async () => {
    const runs = await Promise.all([src, join(dir, 'nothing-here')].map((where) => mamori(['snapshots', '--repo', where])));
    for (const r of runs) {
      assert.equal(r.code, 1, show(r));
      assert.match(r.stderr, /^mamori: .*is not a restic\/Mamori repository/m);
      assert.match(r.stderr, /mamori init/);
    }
  });

  it('usage errors: missing --repo, unknown command, unknown option, missing arguments', async () => {
    const cases: [string[], RegExp][] = [
      [['snapshots'], /no repository given: use --repo/],
      [['frobnicate'], /unknown command "frobnicate"/],
      [['snapshots', '--repo', repo, '--bogus'], /unknown option --bogus/],
      [['ls', '--repo', repo], /which snapshot/],
      [['restore', '--repo', repo, 'latest'], /--target/],
      [['backup', '--repo', repo], /nothing to back up/],
      [[], /no command given/],
    ];
    const runs = await Promise.all(cases.map(([args]) => mamori(args)));
    for (const [i, [args, re]] of cases.entries()) {
      const r = runs[i];
      assert.equal(r.code, 1, `${args.join(' ')}\n${show(r)}`);
      assert.match(r.stderr, re);
      assert.match(r.stderr, /Usage: mamori/);
      assert.equal(r.stdout, '');
    }
  });

  it('--help, COMMAND --help and --version', async () => {
    const [h, b, v] = await Promise.all([ok(['--help']), ok(['backup', '--help']), ok(['--version'])]);
    for (const c of ['init', 'backup', 'snapshots', 'ls', 'restore', 'check', 'key']) assert.match(h.stdout, new RegExp(`^  ${c} `, 'm'));
    assert.match(b.stdout, /Usage: mamori backup/);
    assert.match(b.stdout, /--tag TAG/);
    assert.match(v.stdout, /^mamori 0\.\d+\.\d+/);
  });

  it('an unreadable source file: exit 3, the file named with the reason, the rest backed up', async () => {
    // Root reads everything, so as root the CLI runs as "nobody" (uid 65534) against its own files.
    const asRoot = process.getuid?.() === 0;
    const ids = asRoot ? { uid: 65534, gid: 65534 } : {};
    const u = join(dir, 'unreadable');
    mkdirSync(u);
    chmodSync(dir, 0o755);
    chmodSync(u, 0o777);
    const usrc = join(u, 'src');
    mkdirSync(usrc);
    writeFileSync(join(usrc, 'fine.txt'), 'fine\n');
    writeFileSync(join(usrc, 'locked.txt'), 'secret\n');
    chmodSync(usrc, 0o755);
    chmodSync(join(usrc, 'fine.txt'), 0o644);
    chmodSync(join(usrc, 'locked.txt'), 0);
    const urepo = join(u, 'repo');
    const init = await mamori(['init', '--repo', urepo], ids);
    assert.equal(init.code, 0, show(init));
    const r = await mamori(['backup', '--repo', urepo, usrc], ids);
    assert.equal(r.code, 3, show(r));
    assert.match(r.stderr, new RegExp(`${join(usrc, 'locked.txt').replace(/[.*+?^${}()|[\]\\]/g, '\\$&')}: .*(EACCES|permission denied)`, 'i'));
    assert.match(r.stdout, /snapshot [0-9a-f]{8} saved/);
    const ls = await mamori(['ls', '--repo', urepo, 'latest'], ids);
    assert.equal(ls.code, 0, show(ls));
    assert.ok(ls.stdout.includes(join(usrc, 'fine.txt')), ls.stdout);
  });

  it('key add/list/remove/passwd: old passwords stop working, new ones work', async () => {
    const krepo = join(dir, 'keys-repo');
    await ok(['init', '--repo', krepo]);
    const list1 = JSON.parse((await ok(['key', 'list', '--repo', krepo, '--json'])).stdout) as { id: string; current: boolean }[];
    assert.equal(list1.length, 1);
    assert.equal(list1[0].current, true);

    const added = JSON.parse((await ok(['key', 'add', '--repo', krepo, '--json'], { env: { MAMORI_NEW_PASSWORD: 'second pw' } })).stdout) as { id: string };
    assert.match(added.id, HEX64);
    const pwFile = join(dir, 'third.txt');
    writeFileSync(pwFile, 'third pw\n');
    const third = await ok(['key', 'add', '--repo', krepo, '--new-password-file', pwFile]);
    assert.match(third.stdout, /saved new key [0-9a-f]{8}/);
    const t = await ok(['key', 'list', '--repo', krepo], { env: { MAMORI_PASSWORD: 'second pw' } });
    assert.match(t.stdout, new RegExp(`^\\*${added.id.slice(0, 8)}`, 'm'));
    const list2 = JSON.parse((await ok(['key', 'list', '--repo', krepo, '--json'])).stdout) as { id: string }[];
    assert.equal(list2.length, 3);

    // Remove the second key (by prefix) with the first password: the second password stops working.
    await ok(['key', 'remove', '--repo', krepo, added.id.slice(0, 10)]);
    const gone = await mamori(['snapshots', '--repo', krepo], { env: { MAMORI_PASSWORD: 'second pw' } });
    assert.equal(gone.code, 1, show(gone));
    assert.match(gone.stderr, /wrong password/);
    const self = await mamori(['key', 'remove', '--repo', krepo, list1[0].id]);
    assert.equal(self.code, 1, show(self));
    assert.match(self.stderr, /key in use/);
    const noNew = await mamori(['key', 'add', '--repo', krepo]);
    assert.equal(noNew.code, 1, show(noNew));
    assert.match(noNew.stderr, /MAMORI_NEW_PASSWORD/);

    // passwd: the first password stops working, the new one works, the third key is untouched.
    await ok(['key', 'passwd', '--repo', krepo], { env: { MAMORI_NEW_PASSWORD: 'changed pw' } });
    const old = await mamori(['snapshots', '--repo', krepo]);
    assert.equal(old.code, 1, show(old));
    assert.match(old.stderr, /wrong password/);
    await ok(['snapshots', '--repo', krepo], { env: { MAMORI_PASSWORD: 'changed pw' } });
    await ok(['snapshots', '--repo', krepo], { env: { MAMORI_PASSWORD: 'third pw' } });
    const list3 = JSON.parse((await ok(['key', 'list', '--repo', krepo, '--json'], { env: { MAMORI_PASSWORD: 'changed pw' } })).stdout) as { id: string }[];
    assert.equal(list3.length, 2);
    assert.ok(!list3.some((k) => k.id === list1[0].id));
  });

  it('check: a healthy repository exits 0; with a pack deleted it exits 1 naming the pack and the damage', async () => {
    const h = await ok(['check', '--repo', repo]);
    assert.match(h.stdout, /no errors were found/);
    const hr = await ok(['check', '--repo', repo, '--read-data', '--json']);
    assert.equal((JSON.parse(hr.stdout) as { ok: boolean }).ok, true);

    const damaged = join(dir, 'damaged');
    cpSync(repo, damaged, { recursive: true });
    const big = packFiles(damaged).sort((a, b) => b.size - a.size)[0];
    unlinkSync(big.path);
    const r = await mamori(['check', '--repo', damaged]);
    assert.equal(r.code, 1, show(r));
    assert.ok(r.stderr.includes(big.id.slice(0, 8)), r.stderr);
    assert.match(r.stderr, /cannot be fully restored/);
    assert.match(r.stderr, /The repository is damaged/);
    const j = await mamori(['check', '--repo', damaged, '--json']);
    assert.equal(j.code, 1, show(j));
    const res = JSON.parse(j.stdout) as { ok: boolean; errors: { subject: string; message: string }[]; affected: { files: string[] }[] };
    assert.equal(res.ok, false);
    assert.ok(res.errors.some((e) => (e.subject + e.message).includes(big.id)), j.stdout);
    assert.ok(res.affected.length > 0, j.stdout);
  });

  it('restic accepts the repository mamori wrote: snapshots and check --read-data', { skip: needTool('restic') }, async () => {
    const s = restic(repo, PW, ['snapshots', '--json']);
    assert.equal(s.status, 0, s.stderr);
    const ids = (JSON.parse(s.stdout) as { id: string }[]).map((x) => x.id);
    assert.ok(ids.includes(second), s.stdout);
    assert.equal(ids.length, 2);
    const c = restic(repo, PW, ['check', '--read-data']);
    assert.equal(c.status, 0, c.stdout + c.stderr);
    assert.match(c.stdout, /no errors were found/);
  });
});
