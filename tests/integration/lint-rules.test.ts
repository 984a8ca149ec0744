// The architecture's dependency rules are enforced by the linter: prove each rule fires.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { join } from 'node:path';
import { ESLint } from 'eslint';
import { projectRoot } from '../helpers/tools';

const eslint = new ESLint({ cwd: projectRoot });

async function lint(filename: string, code: string): Promise<string> {
  const [r] = await eslint.lintText(code, { filePath: join(projectRoot, filename) });
  return r.messages.map((m) => m.message).join('\n');
}

test('the engine may not import electron, the UI or the CLI, nor print', async () => {
  assert.match(await lint('electron/engine/repo/probe.ts', "import { app } from 'electron';\nexport const a = app;\n"), /never import electron/);
  assert.match(await lint('electron/engine/backup/probe.ts', "import { x } from '../../headless/cli/main';\nexport const a = x;\n"), /may import only shared/);
  assert.match(await lint('electron/engine/backup/probe.ts', "export function f() { console.log('x'); }\n"), /never by printing/);
  assert.equal((await lint('electron/engine/backup/probe.ts', "import { join } from 'node:path';\nexport const a = join('a');\n")).trim(), '');
});

test('shared/ and the renderer may not import Node built-ins or the engine', async () => {
  assert.match(await lint('shared/probe.ts', "import { readFileSync } from 'node:fs';\nexport const a = readFileSync;\n"), /no Node built-ins/);
  assert.match(await lint('shared/probe.ts', "import { backup } from '../electron/engine/backup';\nexport const a = backup;\n"), /nothing outside shared/);
  assert.match(await lint('renderer/src/probe.ts', "import { backup } from '../../electron/engine/backup';\nexport const a = backup;\n"), /imports shared\/ only/);
  assert.match(await lint('renderer/src/probe.ts', "import fs from 'fs';\nexport const a = fs;\n"), /sandboxed/);
});
