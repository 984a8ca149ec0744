// Measuring child processes and trees for the benchmark. Both tools run as child processes under
// GNU time (/usr/bin/time, Debian package "time"), which reports the child's user+sys CPU and peak RSS
// from wait4's rusage: the same source of truth for a Go binary and for node, with no polling gaps.
import { spawnSync } from 'node:child_process';
import { createHash } from 'node:crypto';
import { closeSync, existsSync, openSync, readFileSync, readSync, readdirSync, rmSync, lstatSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, relative } from 'node:path';

export const TIME_BIN = '/usr/bin/time';

export interface Sample {
  wallS: number;
  cpuS: number;
  userS: number;
  sysS: number;
  rssKiB: number;
}

/** Runs cmd under GNU time; throws with the tool's own output when it fails. */
export function timed(cmd: string, args: string[], env: NodeJS.ProcessEnv, cwd: string): Sample {
  const report = join(tmpdir(), `mamori-bench-time-${process.pid}.txt`);
  const t0 = process.hrtime.bigint();
  // -o keeps time's line out of the tool's stderr, which we want verbatim on failure.
  const r = spawnSync(TIME_BIN, ['-o', report, '-f', '%e %U %S %M', cmd, ...args], {
    cwd,
    env,
    stdio: ['ignore', 'pipe', 'pipe'],
    maxBuffer: 512 * 1024 * 1024,
  });
  const wallS = Number(process.hrtime.bigint() - t0) / 1e9;
  if (r.status !== 0) {
    throw new Error(`${cmd} ${args.join(' ')} failed (exit ${r.status}):\n${r.stderr?.toString()}\n${r.stdout?.toString()}`);
  }
  const line = readFileSync(report, 'utf8').trim().split('\n').pop() ?? '';
  rmSync(report, { force: true });
  const [, u, s, m] = line.split(' ').map(Number);
  if (![u, s, m].every(Number.isFinite)) throw new Error(`cannot parse ${TIME_BIN} output: ${line}`);
  // Our own clock for wall time: %e only has 10 ms resolution.
  return { wallS, cpuS: u + s, userS: u, sysS: s, rssKiB: m };
}

/** Regular files under root, sorted, relative paths. Symlinks are not followed (the corpus has none). */
export function listFiles(root: string): string[] {
  const out: string[] = [];
  const walk = (dir: string): void => {
    for (const e of readdirSync(dir, { withFileTypes: true })) {
      const p = join(dir, e.name);
      if (e.isDirectory()) walk(p);
      else if (e.isFile()) out.push(relative(root, p));
    }
  };
  walk(root);
  return out.sort();
}

const buf = Buffer.allocUnsafe(4 * 1024 * 1024);

function readAll(path: string, onChunk?: (b: Buffer) => void): number {
  const fd = openSync(path, 'r');
  let total = 0;
  try {
    for (;;) {
      const n = readSync(fd, buf, 0, buf.length, null);
      if (n === 0) break;
      onChunk?.(buf.subarray(0, n));
      total += n;
    }
  } finally {
    closeSync(fd);
  }
  return total;
}

/** Reads every file once so the page cache is warm for whichever tool runs next; returns bytes read. */
export function warm(root: string): number {
  let total = 0;
  for (const f of listFiles(root)) total += readAll(join(root, f));
  return total;
}

/** SHA-256 of every file, keyed by relative path. */
export function hashTree(root: string): Map<string, string> {
  const out = new Map<string, string>();
  for (const f of listFiles(root)) {
    const h = createHash('sha256');
    readAll(join(root, f), (b) => h.update(b));
    out.set(f, h.digest('hex'));
  }
  return out;
}

/** Throws a readable error listing differences when restored differs from expected in any byte. */
export function verifyTree(expected: Map<string, string>, restoredRoot: string, label: string): void {
  if (!existsSync(restoredRoot)) throw new Error(`${label}: restore produced no ${restoredRoot}`);
  const got = hashTree(restoredRoot);
  const problems: string[] = [];
  for (const [f, h] of expected) {
    const g = got.get(f);
    if (g === undefined) problems.push(`missing ${f}`);
    else if (g !== h) problems.push(`content differs ${f}`);
  }
  for (const f of got.keys()) if (!expected.has(f)) problems.push(`unexpected ${f}`);
  if (problems.length) {
    throw new Error(`${label}: RESTORE IS NOT BYTE-IDENTICAL (${problems.length} problems):\n  ${problems.slice(0, 20).join('\n  ')}`);
  }
}

/** Bytes on disk of a folder (du -sb: apparent size, what a destination drive must hold). */
export function duBytes(dir: string): number {
  const r = spawnSync('du', ['-sb', dir], { encoding: 'utf8' });
  if (r.status !== 0) throw new Error(`du failed: ${r.stderr}`);
  return Number(r.stdout.split(/\s/)[0]);
}

export function isDir(p: string): boolean {
  try {
    return lstatSync(p).isDirectory();
  } catch {
    return false;
  }
}
