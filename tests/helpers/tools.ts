// Finding the real external tools (restic, sshd, rclone, chromium) that integration tests drive.
// On a developer's machine a missing tool skips the test loudly; with CI set it fails instead,
// so a CI run can never go green by silently skipping the interop tests.
import { spawnSync } from 'node:child_process';
import { existsSync } from 'node:fs';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';

export const projectRoot = resolve(dirname(fileURLToPath(import.meta.url)), '..', '..');
export const sharedDir = resolve(projectRoot, '..', 'shared');

function which(cmd: string): string | null {
  const r = spawnSync('sh', ['-c', `command -v ${cmd}`], { encoding: 'utf8' });
  const p = r.stdout.trim();
  return r.status === 0 && p ? p : null;
}

/** Returns a reason to skip (string) or undefined when the tool is present. Throws under CI. */
export function needTool(cmd: string, install = `apt-get install ${cmd}`): string | undefined {
  if (which(cmd)) return undefined;
  const msg = `*** ${cmd} is not installed: SKIPPING tests that need it (install: ${install}) ***`;
  if (process.env.CI) throw new Error(`${cmd} is required in CI but was not found (${install})`);
  console.error(msg);
  return msg;
}

/** Path of a fixture under ../shared, or a skip reason; throws under CI when ../shared is absent. */
export function sharedFixture(rel: string): { path: string; skip?: undefined } | { path?: undefined; skip: string } {
  const p = join(sharedDir, rel);
  if (existsSync(p)) return { path: p };
  const msg = `*** ${p} is missing: SKIPPING tests that need ../shared (${rel}) ***`;
  if (process.env.CI) throw new Error(`../shared fixture required in CI: ${p}`);
  console.error(msg);
  return { skip: msg };
}
