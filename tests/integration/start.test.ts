// `npm start` on a machine without Electron's binary says so plainly and points at what works.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { existsSync } from 'node:fs';
import { join } from 'node:path';
import { projectRoot } from '../helpers/tools';

const hasElectron = existsSync(join(projectRoot, 'node_modules/electron/path.txt'));

test('npm start without Electron explains itself and exits cleanly', { skip: hasElectron && 'Electron is installed here: npm start would open the app' }, () => {
  const r = spawnSync(process.execPath, [join(projectRoot, 'scripts/start.mjs')], { cwd: projectRoot, encoding: 'utf8', timeout: 180_000 });
  assert.equal(r.status, 0, r.stderr);
  assert.match(r.stdout, /Electron desktop app cannot start here/);
  assert.match(r.stdout, /npx mamori backup/);
  assert.doesNotMatch(r.stdout + r.stderr, /TypeError|at async/);
});
