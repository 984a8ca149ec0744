// Runs the `mamori` command line as a user would (node bin/mamori.mjs), with cheap scrypt and a
// private MAMORI_HOME, stdin closed (no prompts, no progress line) and no keyring.
import { spawn } from 'node:child_process';
import { join } from 'node:path';
import { projectRoot } from './tools';

export interface CliRun {
  code: number | null;
  stdout: string;
  stderr: string;
}

export type CliEnv = Record<string, string | undefined>;

export function cli(args: string[], env: CliEnv = {}): Promise<CliRun> {
  const full: NodeJS.ProcessEnv = { ...process.env, MAMORI_TEST_KDF: '1024,8,1', MAMORI_NO_KEYRING: '1' };
  for (const k of ['MAMORI_REPOSITORY', 'MAMORI_PASSWORD', 'MAMORI_DEBUG', 'AWS_ACCESS_KEY_ID', 'AWS_SECRET_ACCESS_KEY']) delete full[k];
  for (const [k, v] of Object.entries(env)) {
    if (v === undefined) delete full[k];
    else full[k] = v;
  }
  return new Promise((resolve, reject) => {
    const child = spawn(process.execPath, [join(projectRoot, 'bin', 'mamori.mjs'), ...args], { cwd: projectRoot, env: full, stdio: ['ignore', 'pipe', 'pipe'] });
    let stdout = '';
    let stderr = '';
    child.stdout.setEncoding('utf8').on('data', (d: string) => (stdout += d));
    child.stderr.setEncoding('utf8').on('data', (d: string) => (stderr += d));
    child.on('error', reject);
    child.on('close', (code) => resolve({ code, stdout, stderr }));
  });
}

/** Like cli(), but fails with the command's output unless it exits with `expect` (default 0). */
export async function cliOk(args: string[], env: CliEnv = {}, expect = 0): Promise<CliRun> {
  const r = await cli(args, env);
  if (r.code !== expect) throw new Error(`mamori ${args.join(' ')} exited ${r.code} (wanted ${expect}):\n${r.stderr}\n${r.stdout}`);
  return r;
}
