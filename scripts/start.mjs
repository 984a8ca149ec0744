#!/usr/bin/env node
// `npm start`: launch the Electron app when its binary is available. Electron 45 downloads its binary
// on first use, not at install time, so on a machine without internet access the binary is missing;
// then say so plainly and point at what works without it.
import { spawn, spawnSync } from 'node:child_process';
import { createRequire } from 'node:module';
import { existsSync } from 'node:fs';
import { dirname, join } from 'node:path';

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
    '',
    'The backup engine works without it. Use the command line, for example:',
    '  npx mamori init --repo /path/to/backup',
    '  npx mamori backup --repo /path/to/backup ~/Documents',
    '  npx mamori --help',
    '',
    'The same user interface served to your browser (the headless server) arrives with the desktop-app work.',
  ].join('\n'));
  process.exit(0);
}
