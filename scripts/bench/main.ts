// npm run bench: Mamori against restic on the same generated data, in the same run, step by step
// (init, first backup, no-change backup, backup after a ~1% mutation, full restore, repository size).
// Usage: npm run bench -- [--size 1GiB] [--runs 3] [--dir DIR] [--out bench-results/latest.md]
//
// Choices that shape the numbers (also written into the report):
// - Tools alternate who goes first at every step, run by run, so neither always gets the warmer machine.
// - restic keeps its normal local cache, in a per-run RESTIC_CACHE_DIR: that is how people run it, and
//   disabling it would handicap restic unfairly. Mamori has no local cache yet, so it reads the repo.
// - Before each timed step the step's input (corpus for backups, repository for restores) is read once
//   so both tools start from a warm page cache; restores go into fresh folders deleted after checking.
// - Mamori runs with a cheap KDF (MAMORI_TEST_KDF); restic has no such switch, so its init/open pays
//   its normal scrypt cost. That shows in "init" and in every command's start-up.
import { execFileSync } from 'node:child_process';
import { createHash } from 'node:crypto';
import { existsSync, mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { cpus, tmpdir } from 'node:os';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { parseArgs } from 'node:util';
import { generateCorpus, mutateCorpus, type CorpusPlan } from './corpus';
import { TIME_BIN, duBytes, hashTree, timed, verifyTree, warm, type Sample } from './measure';

const ROOT = resolve(dirname(fileURLToPath(import.meta.url)), '..', '..');
const RESTIC = '/usr/bin/restic';
const PASSWORD = 'bench-password';
const TOOLS = ['mamori', 'restic'] as const;
type Tool = (typeof TOOLS)[number];
const STEPS = ['init', 'backup 1 (initial)', 'backup 2 (no change)', 'backup 3 (after mutation)', 'restore (latest)'] as const;
type Step = (typeof STEPS)[number];

function parseSize(s: string): number {
  const m = /^(\d+(?:\.\d+)?)\s*(B|K|KB|KiB|M|MB|MiB|G|GB|GiB)?$/i.exec(s.trim());
  if (!m) throw new Error(`cannot read size "${s}" (try 200MiB or 1GiB)`);
  const unit = (m[2] ?? 'B').toLowerCase();
  const mult = unit.startsWith('g') ? 1024 ** 3 : unit.startsWith('m') ? 1024 ** 2 : unit.startsWith('k') ? 1024 : 1;
  return Math.floor(Number(m[1]) * mult);
}

const mib = (b: number): string => `${(b / 1024 / 1024).toFixed(1)} MiB`;
const median = (xs: number[]): number => {
  const s = [...xs].sort((a, b) => a - b);
  const h = Math.floor(s.length / 2);
  return s.length % 2 ? s[h] : (s[h - 1] + s[h]) / 2;
};

interface RunResult {
  run: number;
  order: Tool[];
  samples: Record<Tool, Partial<Record<Step, Sample>>>;
  repoBytesAfterFirst: Record<Tool, number>;
  repoBytesFinal: Record<Tool, number>;
}

function main(): void {
  const { values } = parseArgs({
    options: { size: { type: 'string', default: '1GiB' }, runs: { type: 'string', default: '3' }, dir: { type: 'string' }, out: { type: 'string', default: 'bench-results/latest.md' } },
  });
  const size = parseSize(values.size!);
  const runs = Number(values.runs);
  if (!Number.isInteger(runs) || runs < 1) throw new Error('--runs must be a positive integer');
  if (!existsSync(TIME_BIN)) throw new Error(`${TIME_BIN} is missing: install the Debian package "time"`);
  const work = values.dir ? resolve(values.dir) : mkdtempSync(join(tmpdir(), 'mamori-bench-'));
  mkdirSync(work, { recursive: true });
  const outMd = resolve(values.out!);
  const plan: CorpusPlan = { seed: 'mamori-bench-v1', total: size };
  const source = join(work, 'source');

  const machine = {
    nproc: execFileSync('nproc', { encoding: 'utf8' }).trim(),
    cpu: cpus()[0]?.model ?? 'unknown',
    node: process.version,
    restic: execFileSync(RESTIC, ['version'], { encoding: 'utf8' }).trim(),
    corpusSize: `${values.size} (${size} bytes)`,
    runs,
    workDir: work,
    filesystem: execFileSync('df', ['-hT', work], { encoding: 'utf8' }).trim().split('\n').pop(),
  };
  console.log(`bench: ${JSON.stringify(machine)}`);

  // The physical floor on this machine: nothing can back up faster than it reads, or hash faster than this.
  rmSync(source, { recursive: true, force: true });
  const stats = generateCorpus(source, plan);
  warm(source);
  let t0 = process.hrtime.bigint();
  const readBytes = warm(source);
  const readS = Number(process.hrtime.bigint() - t0) / 1e9;
  const hbuf = Buffer.alloc(256 * 1024 * 1024, 7);
  t0 = process.hrtime.bigint();
  createHash('sha256').update(hbuf).digest();
  const shaS = Number(process.hrtime.bigint() - t0) / 1e9;
  const physical = { corpusFiles: stats.files, corpusBytes: readBytes, warmReadS: readS, warmReadMiBs: readBytes / 1048576 / readS, sha256MiBs: 256 / shaS };
  console.log(`bench: corpus ${stats.files} files, ${mib(readBytes)}; warm read ${physical.warmReadMiBs.toFixed(0)} MiB/s; sha256 ${physical.sha256MiBs.toFixed(0)} MiB/s`);

  const results: RunResult[] = [];
  let changes: string[] = [];
  for (let run = 0; run < runs; run++) {
    const runDir = join(work, `run-${run}`);
    rmSync(runDir, { recursive: true, force: true });
    mkdirSync(runDir, { recursive: true });
    // Every run starts from the same pre-mutation bytes (run 0 reuses the tree generated above).
    if (run > 0) {
      rmSync(source, { recursive: true, force: true });
      generateCorpus(source, plan);
    }
    const order: Tool[] = run % 2 === 0 ? ['mamori', 'restic'] : ['restic', 'mamori'];
    const repo = (t: Tool): string => join(runDir, `repo-${t}`);
    const env = (t: Tool): NodeJS.ProcessEnv =>
      t === 'mamori'
        ? { ...process.env, MAMORI_PASSWORD: PASSWORD, MAMORI_REPOSITORY: repo(t), MAMORI_TEST_KDF: '1024,8,1' }
        : { ...process.env, RESTIC_PASSWORD: PASSWORD, RESTIC_REPOSITORY: repo(t), RESTIC_CACHE_DIR: join(runDir, 'restic-cache'), RESTIC_PROGRESS_FPS: '0.0001' };
    const cmd = (t: Tool, step: Step, target: string): [string, string[]] => {
      const mam = (...a: string[]): [string, string[]] => [process.execPath, [join(ROOT, 'bin', 'mamori.mjs'), ...a]];
      const res = (...a: string[]): [string, string[]] => [RESTIC, a];
      if (step === 'init') return t === 'mamori' ? mam('init', '--repo', repo(t)) : res('init');
      if (step === 'restore (latest)') return t === 'mamori' ? mam('restore', '--repo', repo(t), 'latest', '--target', target) : res('restore', 'latest', '--target', target);
      return t === 'mamori' ? mam('backup', '--repo', repo(t), source) : res('backup', source);
    };
    const r: RunResult = { run, order, samples: { mamori: {}, restic: {} }, repoBytesAfterFirst: { mamori: 0, restic: 0 }, repoBytesFinal: { mamori: 0, restic: 0 } };

    for (const step of STEPS) {
      if (step === 'backup 3 (after mutation)') changes = mutateCorpus(source, plan);
      const expected = step === 'restore (latest)' ? hashTree(source) : undefined;
      for (const t of order) {
        const target = join(runDir, `restore-${t}`);
        if (step === 'restore (latest)') warm(repo(t));
        else if (step !== 'init') warm(source);
        const [c, a] = cmd(t, step, target);
        const s = timed(c, a, env(t), runDir);
        r.samples[t][step] = s;
        console.log(`run ${run + 1}/${runs} ${t.padEnd(6)} ${step.padEnd(26)} wall ${s.wallS.toFixed(2)}s cpu ${s.cpuS.toFixed(2)}s rss ${(s.rssKiB / 1024).toFixed(0)} MiB`);
        if (step === 'backup 1 (initial)') r.repoBytesAfterFirst[t] = duBytes(repo(t));
        if (expected) {
          // Both tools recreate the absolute source path under the target.
          verifyTree(expected, join(target, source), `${t} run ${run + 1}`);
          rmSync(target, { recursive: true, force: true });
        }
      }
    }
    for (const t of TOOLS) r.repoBytesFinal[t] = duBytes(repo(t));
    results.push(r);
    // Repositories are only needed for their size; free the disk before the next run.
    rmSync(runDir, { recursive: true, force: true });
  }

  const md = report(machine, physical, results, changes);
  console.log(`\n${md}`);
  mkdirSync(dirname(outMd), { recursive: true });
  writeFileSync(outMd, md);
  const outJson = outMd.replace(/\.md$/, '') + '.json';
  writeFileSync(outJson, JSON.stringify({ machine, physical, mutation: changes, results }, null, 2));
  console.log(`bench: wrote ${outMd} and ${outJson}`);
  if (!values.dir) rmSync(work, { recursive: true, force: true });
}

function report(machine: Record<string, unknown>, physical: Record<string, number>, results: RunResult[], changes: string[]): string {
  const L: string[] = [];
  const ratio = (m: number, r: number): string => (r > 0 ? `${(m / r).toFixed(2)}x` : 'n/a');
  L.push('# Mamori vs restic benchmark', '');
  L.push(`Generated ${new Date().toISOString()}.`, '');
  L.push('| machine | |', '|---|---|');
  for (const [k, v] of Object.entries(machine)) L.push(`| ${k} | ${String(v).replace(/\n/g, ' ')} |`);
  L.push('');
  L.push(`Physical reference: corpus ${physical.corpusFiles} files, ${mib(physical.corpusBytes)}; warm read ${physical.warmReadS.toFixed(2)} s `
    + `(${physical.warmReadMiBs.toFixed(0)} MiB/s); sha256 ${physical.sha256MiBs.toFixed(0)} MiB/s (node crypto, 256 MiB buffer, one core).`, '');
  L.push(`Mutation before backup 3: ${changes.join('; ')}.`, '');
  L.push('Medians over runs; ratio = Mamori / restic (below 1 means Mamori is faster/smaller).', '');
  L.push('| step | Mamori wall s | restic wall s | wall ratio | Mamori CPU s | restic CPU s | CPU ratio | Mamori peak RSS MiB | restic peak RSS MiB | RSS ratio | per-run wall ratios |');
  L.push('|---|---:|---:|---:|---:|---:|---:|---:|---:|---:|---|');
  for (const step of STEPS) {
    const get = (t: Tool, k: keyof Sample): number[] => results.map((r) => r.samples[t][step]![k]);
    const mw = median(get('mamori', 'wallS'));
    const rw = median(get('restic', 'wallS'));
    const mc = median(get('mamori', 'cpuS'));
    const rc = median(get('restic', 'cpuS'));
    const mr = median(get('mamori', 'rssKiB')) / 1024;
    const rr = median(get('restic', 'rssKiB')) / 1024;
    const per = results.map((r) => ratio(r.samples.mamori[step]!.wallS, r.samples.restic[step]!.wallS)).join(', ');
    L.push(`| ${step} | ${mw.toFixed(2)} | ${rw.toFixed(2)} | ${ratio(mw, rw)} | ${mc.toFixed(2)} | ${rc.toFixed(2)} | ${ratio(mc, rc)} | ${mr.toFixed(0)} | ${rr.toFixed(0)} | ${ratio(mr, rr)} | ${per} |`);
  }
  L.push('');
  L.push('| repository size (du -sb) | Mamori | restic | ratio | per-run ratios |', '|---|---:|---:|---:|---|');
  for (const [label, key] of [['after backup 1', 'repoBytesAfterFirst'], ['final (3 snapshots)', 'repoBytesFinal']] as const) {
    const m = median(results.map((r) => r[key].mamori));
    const r = median(results.map((x) => x[key].restic));
    L.push(`| ${label} | ${mib(m)} | ${mib(r)} | ${ratio(m, r)} | ${results.map((x) => ratio(x[key].mamori, x[key].restic)).join(', ')} |`);
  }
  L.push('');
  L.push('Method: each step runs the tool as a child process under GNU time (`/usr/bin/time -f "%e %U %S %M"`): CPU = user+sys '
    + 'of the child, peak RSS = its max resident set; wall from the parent\'s monotonic clock. Tools alternate who goes first '
    + 'each run. The corpus (or, for restores, the repository) is read once before each timed step so the page cache is warm. '
    + 'Restores go into fresh folders and are verified byte-identical (SHA-256 of every file) before deletion. restic uses its '
    + 'normal cache in a per-run RESTIC_CACHE_DIR (Mamori has no local cache); Mamori uses a cheap KDF (MAMORI_TEST_KDF=1024,8,1), '
    + 'restic its default scrypt parameters. Mamori runs via `node bin/mamori.mjs` (tsx, no build step), so its times include '
    + 'node + TypeScript loading.');
  L.push('');
  return L.join('\n');
}

try {
  main();
} catch (e) {
  console.error(`bench FAILED: ${(e as Error).stack ?? e}`);
  process.exitCode = 1;
}
