#!/usr/bin/env node
// `npm start`: launch the Electron app when its binary is available. Electron 45 downloads its binary
// on first use, not at install time, so on a machine without internet access the binary is missing;
// then say so plainly and serve the same UI to a browser instead (the headless server).
import { spawn, spawnSync } from 'node:child_process';
import { createRequire } from 'node:module';
import { existsSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';

const require = createRequire(import.meta.url);

function electronBinary() {
  let dir;
  try {
    dir = dirname(require.resolve('electron/package.json'));
  } catch {
    return null;
  }
  // Electron 45 fetches its binary on first use. Try that once, quietly: without internet access the
  // download fails, and a stack trace would only hide the plain message below.
  if (!existsSync(join(dir, 'path.txt'))) {
    console.log('Mamori: fetching Electron\'s binary (first start only)...');
    spawnSync(process.execPath, [join(dir, 'install.js')], { stdio: 'ignore', timeout: 120000 });
    if (!existsSync(join(dir, 'path.txt'))) return null;
  }
  try {
    const p = require('electron');
    if (typeof p !== 'string') return null;
    const r = spawnSync(p, ['--version'], { encoding: 'utf8', timeout: 20000, env: { ...process.env, ELECTRON_RUN_AS_NODE: '1' } });
    return r.status === 0 ? p : null;
  } catch {
    return null;
  }
}

const root = join(dirname(fileURLToPath(import.meta.url)), '..');

/** Builds the UI once if this checkout has no build yet (a fresh clone after npm install). */
function ensureUiBuilt() {
  if (existsSync(join(root, 'renderer', 'dist', 'index.html'))) return;
  console.log('Mamori: building the user interface (first start only)...');
  const r = spawnSync(process.execPath, [join(root, 'node_modules', 'vite', 'bin', 'vite.js'), 'build', 'renderer', '--logLevel', 'warn'], { cwd: root, stdio: 'inherit' });
  if (r.status !== 0) console.log('Mamori: the user interface could not be built; the server will say so. Try: npm run build:ui');
}

ensureUiBuilt();
let bin = electronBinary();
if (bin) {
  // The shell is bundled for Electron, and better-sqlite3 gets a copy built for Electron's ABI
  // (node_modules stays built for Node, which the CLI, the server and the tests use).
  const b = spawnSync(process.execPath, [join(root, 'scripts', 'build-electron.mjs')], { cwd: root, stdio: 'inherit' });
  if (b.status !== 0 || !existsSync(join(root, 'dist', 'electron', 'native', 'better-sqlite3', '.mamori-native.json'))) {
    console.log('Mamori: the desktop app could not be prepared (its database module for Electron is missing).');
    bin = null;
  }
}
if (bin) {
  const env = { ...process.env };
  delete env.ELECTRON_RUN_AS_NODE;
  const child = spawn(bin, ['.'], { stdio: 'inherit', env });
  child.on('exit', (code) => process.exit(code ?? 0));
} else {
  console.log([
    'Mamori: the Electron desktop app cannot start here (Electron\'s binary or its native modules are',
    'missing: they are downloaded on first use, and this machine cannot reach the download server).',
    'Starting the same user interface in your browser instead (mamori serve, on 127.0.0.1 only).',
    'Open the address below; it carries a one-time token, so do not share it. Ctrl-C stops Mamori.',
    '',
  ].join('\n'));
  const child = spawn(process.execPath, [join(root, 'bin', 'mamori.mjs'), 'serve', ...process.argv.slice(2)], { stdio: 'inherit' });
  // Ctrl-C reaches the child through the terminal; pass on a plain kill too.
  for (const sig of ['SIGTERM', 'SIGINT']) process.on(sig, () => child.kill(sig));
  child.on('exit', (code) => process.exit(code ?? 0));
}
