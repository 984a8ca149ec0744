// End to end in Debian's Chromium (playwright-core, no browser download) against `mamori serve` with a
// temporary MAMORI_HOME: first-run setup with a source and a local destination, back up now and
// watch the progress, see the restore point, browse it, restore one file beside the original and
// compare its bytes, make the destination disappear and see the warning, switch to Japanese.
// A screenshot of each main screen is saved under test-artifacts/ui-e2e/.
import assert from 'node:assert/strict';
import { spawn, type ChildProcess } from 'node:child_process';
import { existsSync, mkdirSync, readFileSync, readdirSync, renameSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { test } from 'node:test';
import { chromium, type Page } from 'playwright-core';
import { tempDir } from '../helpers/restic';
import { pseudoRandom } from '../helpers/source-tree';
import { projectRoot } from '../helpers/tools';

const CHROMIUM = '/usr/bin/chromium';
function needChromium(): string | undefined {
  if (existsSync(CHROMIUM)) return undefined;
  const msg = `*** ${CHROMIUM} is not installed: SKIPPING the UI end-to-end test (install: apt-get install chromium) ***`;
  if (process.env.CI) throw new Error(`${CHROMIUM} is required in CI (apt-get install chromium)`);
  console.error(msg);
  return msg;
}
const skip = needChromium() ?? (existsSync(join(projectRoot, 'renderer', 'dist', 'index.html')) ? undefined : 'the UI is not built (npm run build:ui)');
const shots = join(projectRoot, 'test-artifacts', 'ui-e2e');

async function startServe(home: string): Promise<{ url: string; child: ChildProcess }> {
  const child = spawn(process.execPath, [join(projectRoot, 'bin', 'mamori.mjs'), 'serve'], {
    cwd: projectRoot,
    env: { ...process.env, MAMORI_HOME: home, MAMORI_NO_KEYRING: '1', MAMORI_TEST_KDF: '1024,8,1', MAMORI_PASSWORD: '' },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  let out = '';
  let err = '';
  child.stdout!.setEncoding('utf8').on('data', (d: string) => (out += d));
  child.stderr!.setEncoding('utf8').on('data', (d: string) => (err += d));
  const deadline = Date.now() + 60_000;
  while (Date.now() < deadline) {
    const first = out.split('\n')[0];
    if (out.includes('\n')) {
      assert.match(first, /^http:\/\/127\.0\.0\.1:\d+\/\?token=[\w-]+$/, 'the first line of output is the address');
      return { url: first, child };
    }
    await new Promise((r) => setTimeout(r, 50));
  }
  child.kill();
  throw new Error(`mamori serve printed no address:\n${out}\n${err}`);
}

async function shot(page: Page, name: string): Promise<void> {
  await page.screenshot({ path: join(shots, `${name}.png`), fullPage: true });
}

test('first run, backup, browse, restore beside, a vanished destination, Japanese', { skip, timeout: 300_000 }, async (t) => {
  const { dir, cleanup } = tempDir();
  t.after(cleanup);
  mkdirSync(shots, { recursive: true });
  const src = join(dir, 'Documents');
  mkdirSync(join(src, 'letters'), { recursive: true });
  const letter = pseudoRandom('letter', 20_000);
  writeFileSync(join(src, 'letters', 'letter.txt'), letter);
  // Enough data that the progress shows for a moment.
  for (let i = 0; i < 6; i++) writeFileSync(join(src, `photo${i}.jpg`), pseudoRandom(`photo${i}`, 8 * 1024 * 1024));
  const usb = join(dir, 'usb');

  const { url, child } = await startServe(join(dir, 'home'));
  t.after(() => void child.kill('SIGTERM'));
  const browser = await chromium.launch({
    executablePath: CHROMIUM,
    args: ['--no-sandbox', '--disable-gpu', '--disable-quic', '--no-first-run', '--disable-background-networking', '--disable-component-update', '--disable-sync'],
  });
  t.after(() => browser.close());
  const page = await browser.newPage({ viewport: { width: 1200, height: 900 }, locale: 'en-US' });
  const consoleErrors: string[] = [];
  page.on('console', (m) => {
    if (m.type() === 'error') consoleErrors.push(m.text());
  });
  await page.goto(url);

  // ---- first run ----
  await page.getByTestId('setup-wizard').waitFor();
  await shot(page, '01-setup-sources');
  await page.getByTestId('setup-source-path').fill(src);
  await page.getByTestId('setup-add-source').click();
  await page.getByTestId('setup-source-item').first().waitFor();
  await page.getByTestId('setup-sources-next').click();
  await page.getByTestId('setup-password').fill('correct horse battery');
  await page.getByTestId('setup-password-repeat').fill('correct horse battery');
  await shot(page, '02-setup-password');
  await page.getByTestId('setup-password-next').click();
  await page.getByTestId('dest-location').fill(usb);
  await page.getByTestId('dest-name').fill('USB drive');
  await page.getByTestId('dest-media').selectOption('usb-flash');
  await page.getByTestId('dest-submit').click();
  await page.getByTestId('setup-dest-item').first().waitFor({ timeout: 60_000 });
  await shot(page, '03-setup-destination');
  await page.getByTestId('setup-finish').click();
  await page.getByTestId('recovery-kit').waitFor();
  await shot(page, '04-recovery-kit');
  assert.ok(existsSync(join(usb, 'config')), 'the destination repository was created');
  await page.getByTestId('setup-done').click();

  // ---- back up now, watch the progress ----
  await page.getByTestId('dashboard-backup-now').click();
  await page.getByTestId('job-progress').first().waitFor({ timeout: 60_000 });
  await shot(page, '05-dashboard-progress');
  await page.getByTestId('job-progress').first().waitFor({ state: 'detached', timeout: 180_000 });
  await page.getByTestId('report-headline').first().waitFor();
  await shot(page, '06-dashboard');

  // ---- the restore point: browse, restore one file beside the original ----
  await page.getByTestId('nav-restore').click();
  await page.getByTestId('restore-point').first().waitFor({ timeout: 60_000 });
  await page.getByTestId('restore-point').first().click();
  // Browse down from the root to the letter.
  for (const part of [...src.split('/').filter(Boolean), 'letters']) {
    await page.getByTestId('browse-entry').filter({ hasText: part }).first().getByTestId('browse-open').click();
  }
  const entry = page.getByTestId('browse-entry').filter({ hasText: 'letter.txt' }).first();
  await entry.waitFor();
  await shot(page, '07-restore-browse');
  writeFileSync(join(src, 'letters', 'letter.txt'), 'changed after the backup');
  await entry.getByTestId('restore-beside').click();
  const restoredDir = join(src, 'letters');
  const deadline = Date.now() + 60_000;
  let restoredName: string | undefined;
  while (!restoredName && Date.now() < deadline) {
    restoredName = readdirSync(restoredDir).find((n) => /^letter \(restored \d{4}-\d{2}-\d{2}\)\.txt$/.test(n));
    if (!restoredName) await new Promise((r) => setTimeout(r, 100));
  }
  assert.ok(restoredName, `no restored copy beside the original: ${readdirSync(restoredDir).join(', ')}`);
  assert.ok(readFileSync(join(restoredDir, restoredName)).equals(letter), 'restored bytes equal the backed-up bytes');
  assert.equal(readFileSync(join(src, 'letters', 'letter.txt'), 'utf8'), 'changed after the backup', 'the current file is untouched');
  await shot(page, '08-restore-done');

  // ---- the destination disappears ----
  renameSync(usb, `${usb}-unplugged`);
  await page.getByTestId('nav-dashboard').click();
  await page.getByTestId('dashboard-backup-now').click();
  await page.getByTestId('warning').filter({ hasText: 'could not be reached' }).first().waitFor({ timeout: 120_000 });
  await shot(page, '09-dashboard-warning');
  await page.getByTestId('nav-activity').click();
  await page.getByTestId('job').first().waitFor();
  await shot(page, '10-activity');
  await page.getByTestId('nav-destinations').click();
  await page.getByTestId('destination').first().waitFor();
  await shot(page, '11-destinations');

  // ---- Japanese ----
  await page.getByTestId('nav-settings').click();
  await page.getByTestId('lang-select').selectOption('ja');
  await page.getByTestId('nav-dashboard').click();
  await page.getByTestId('dashboard-backup-now').waitFor();
  const text = await page.locator('body').innerText();
  assert.match(text, /[\u3040-\u30ff\u4e00-\u9fff]/, 'Japanese text is shown');
  await shot(page, '12-dashboard-ja');
  await page.getByTestId('nav-settings').click();
  await shot(page, '13-settings-ja');
  assert.deepEqual(consoleErrors.filter((e) => !/favicon/.test(e)), []);
});
