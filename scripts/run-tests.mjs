#!/usr/bin/env node
// Runs every *.test.ts under the given folders (default: electron, shared, tests) with Node's own
// test runner, TypeScript loaded through tsx. Node 20 has no glob support in --test, hence this file.
import { readdirSync, statSync } from 'node:fs';
import { join } from 'node:path';
import { spawnSync } from 'node:child_process';

const roots = process.argv.slice(2).filter((a) => !a.startsWith('-'));
const passThrough = process.argv.slice(2).filter((a) => a.startsWith('-'));
const files = [];
function walk(dir) {
  let entries;
  try { entries = readdirSync(dir); } catch { return; }
  for (const name of entries) {
    if (name === 'node_modules' || name.startsWith('.')) continue;
    const p = join(dir, name);
    const st = statSync(p);
    if (st.isDirectory()) walk(p);
    else if (/\.test\.tsx?$/.test(name)) files.push(p);
  }
}
for (const r of roots.length ? roots : ['electron', 'shared', 'tests']) {
  if (statSync(r, { throwIfNoEntry: false })?.isFile()) files.push(r); else walk(r);
}
files.sort();
if (files.length === 0) {
  console.error('run-tests: no test files found');
  process.exit(1);
}
const res = spawnSync(process.execPath, [
  '--import', 'tsx', '--test', '--test-concurrency=2', '--test-reporter=spec', ...passThrough, ...files,
], { stdio: 'inherit' });
process.exit(res.status ?? 1);
