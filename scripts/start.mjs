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

const bin = electronBinary();
if (bin) {
  const child = spawn(bin, ['.'], { stdio: 'inherit' });
  child.on('exit', (code) => process.exit(code ?? 0));
} else {
  console.log([
    'Mamori: the Electron desktop app cannot start here: Electron\'s binary is not installed',
    '(it is downloaded on first use, and this machine cannot reach the download server).',
    'Starting the same user interface in your browser instead (mamori serve, on 127.0.0.1 only).',
    'Open the address below; it carries a one-time token, so do not share it. Ctrl-C stops Mamori.',
    '',
  ].join('\n'));
  const root = join(dirname(fileURLToPath(import.meta.url)), '..');
  const child = spawn(process.execPath, [join(root, 'bin', 'mamori.mjs'), 'serve', ...process.argv.slice(2)], { stdio: 'inherit' });
  // Ctrl-C reaches the child through the terminal; pass on a plain kill too.
  for (const sig of ['SIGTERM', 'SIGINT']) process.on(sig, () => child.kill(sig));
  child.on('exit', (code) => process.exit(code ?? 0));
}
