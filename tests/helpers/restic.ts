// Driving the real restic binary in tests: the oracle for Mamori's repository format.
import { spawnSync } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

export interface ResticRun {
  status: number;
  stdout: string;
  stderr: string;
}

/** Runs restic against `repo` with `password`; never uses a cache so every run reads the repository. */
export function restic(repo: string, password: string, args: string[], opts: { cwd?: string; input?: string } = {}): ResticRun {
  const r = spawnSync('restic', ['--no-cache', ...args], {
    encoding: 'utf8',
    cwd: opts.cwd,
    input: opts.input,
    maxBuffer: 256 * 1024 * 1024,
    env: { ...process.env, RESTIC_REPOSITORY: repo, RESTIC_PASSWORD: password, RESTIC_PROGRESS_FPS: '0.0001' },
  });
  return { status: r.status ?? -1, stdout: r.stdout, stderr: r.stderr };
}

/** Like restic(), but throws with restic's own output when it fails. */
export function resticOk(repo: string, password: string, args: string[], opts: { cwd?: string } = {}): string {
  const r = restic(repo, password, args, opts);
  if (r.status !== 0) throw new Error(`restic ${args.join(' ')} failed (${r.status}):\n${r.stderr}\n${r.stdout}`);
  return r.stdout;
}

/** A fresh temporary folder, removed by the returned cleanup. */
export function tempDir(prefix = 'mamori-test-'): { dir: string; cleanup: () => void } {
  const dir = mkdtempSync(join(tmpdir(), prefix));
  return { dir, cleanup: () => rmSync(dir, { recursive: true, force: true }) };
}

/** Cheap scrypt parameters for repositories made in tests (restic accepts any). */
export const TEST_KDF = { N: 1024, r: 8, p: 1 };
