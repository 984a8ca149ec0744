// Sources, destinations and the state database through the `mamori` command line: two local
// destinations fed by one backup, each checked by restic; the protection report as JSON; a forgotten
// state database rebuilt from a destination; a removed destination keeps its data; a drive that is
// unplugged is reported, the other copy still made.
import assert from 'node:assert/strict';
import { existsSync, readFileSync, renameSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { test } from 'node:test';
import { cli, cliOk } from '../helpers/cli';
import { diffManifests, manifest } from '../helpers/manifest';
import { resticOk, tempDir } from '../helpers/restic';
import { makeSourceTree } from '../helpers/source-tree';
import { needTool } from '../helpers/tools';

const skip = needTool('restic');
const PW = 'state test';

test('source + two destinations: one backup writes both, status reports them, state rebuilds from a destination', { skip, timeout: 240_000 }, async (t) => {
  const { dir, cleanup } = tempDir();
  t.after(cleanup);
  const env = { MAMORI_HOME: join(dir, 'home'), MAMORI_PASSWORD: PW };
  const src = join(dir, 'Documents');
  makeSourceTree(src, { largeSize: 1024 * 1024 });
  const usb = join(dir, 'usb');
  const nas = join(dir, 'nas');

  const added = JSON.parse((await cliOk(['destination', 'add', usb, '--name', 'USB drive', '--media', 'usb-flash', '--first-use', '2024-03-01', '--json'], env)).stdout);
  assert.equal(added.created, true);
  assert.equal(added.markerWritten, true);
  await cliOk(['destination', 'add', nas, '--name', 'NAS', '--media', 'nas', '--place', 'office'], env);
  // The marker holds the facts, so they survive a reinstall.
  const marker = JSON.parse(readFileSync(join(usb, 'app', 'mamori-destination.json'), 'utf8'));
  assert.equal(marker.id, added.destination.id);
  assert.equal(marker.mediaKind, 'usb-flash');
  await cliOk(['source', 'add', src], env);
  const list = JSON.parse((await cliOk(['source', 'list', '--json'], env)).stdout);
  assert.equal(list.length, 1);
  assert.equal(list[0].destinationIds.length, 2);

  const b = await cliOk(['backup'], env);
  assert.match(b.stdout, /USB drive: snapshot [0-9a-f]{8} saved/);
  assert.match(b.stdout, /NAS: snapshot [0-9a-f]{8} saved/);
  for (const repo of [usb, nas]) {
    resticOk(repo, PW, ['check', '--read-data']);
    const target = join(dir, `restore-${repo === usb ? 'usb' : 'nas'}`);
    resticOk(repo, PW, ['restore', 'latest', '--target', target]);
    assert.deepEqual(diffManifests(manifest(src), manifest(join(target, src))), []);
  }
  // Both destinations share one chunker polynomial (one read of the source serves both).
  const poly = (r: string): string => JSON.parse(resticOk(r, PW, ['cat', 'config', '--json'])).chunker_polynomial;
  assert.equal(poly(usb), poly(nas));

  const st = await cli(['status', '--json'], env);
  const report = JSON.parse(st.stdout);
  assert.equal(report.sources.length, 1);
  assert.equal(report.sources[0].currentCopies, 2);
  assert.equal(report.sources[0].rule321.holds, true, JSON.stringify(report.sources[0].rule321));
  assert.equal(st.code, 0, st.stderr);

  // The drive is unplugged: the NAS copy is still made, the drive is reported as pending.
  renameSync(usb, `${usb}-away`);
  writeFileSync(join(src, 'new.txt'), 'written while the drive was away');
  const b2 = await cli(['backup'], env);
  assert.equal(b2.code, 3, b2.stderr);
  assert.match(b2.stdout, /USB drive: not reached, will be caught up/);
  assert.match(b2.stdout, /NAS: snapshot/);
  renameSync(`${usb}-away`, usb);
  const b3 = await cliOk(['backup', '--to', 'usb drive'], env);
  assert.match(b3.stdout, /USB drive: snapshot/);
  assert.doesNotMatch(b3.stdout, /NAS/);

  // The state database is lost (new computer): adding the drive back recovers the source.
  const env2 = { ...env, MAMORI_HOME: join(dir, 'home2') };
  const adopted = JSON.parse((await cliOk(['destination', 'add', usb, '--name', 'Old USB', '--json'], env2)).stdout);
  assert.equal(adopted.created, false);
  assert.equal(adopted.destination.id, added.destination.id, 'same destination ID from the marker');
  assert.equal(adopted.destination.mediaKind, 'usb-flash', 'media kind from the marker');
  assert.equal(adopted.destination.firstUse, '2024-03-01');
  assert.deepEqual(adopted.importedSources.map((s: { paths: string[] }) => s.paths), [[src]]);

  // Removing a destination forgets it and deletes nothing.
  await cliOk(['destination', 'remove', 'NAS'], env);
  assert.ok(existsSync(join(nas, 'config')));
  assert.equal(JSON.parse(resticOk(nas, PW, ['snapshots', '--json'])).length, 2);
  const dl = JSON.parse((await cliOk(['destination', 'list', '--json'], env)).stdout);
  assert.deepEqual(dl.map((d: { name: string }) => d.name), ['USB drive']);
});

test('wrong password, unknown names and bad media kinds are refused with clear messages', { skip, timeout: 60_000 }, async (t) => {
  const { dir, cleanup } = tempDir();
  t.after(cleanup);
  const env = { MAMORI_HOME: join(dir, 'home'), MAMORI_PASSWORD: PW };
  const bad = await cli(['destination', 'add', join(dir, 'x'), '--name', 'X', '--media', 'floppy'], env);
  assert.equal(bad.code, 1);
  assert.match(bad.stderr, /unknown media kind "floppy"/);
  const noName = await cli(['destination', 'add', join(dir, 'x')], env);
  assert.match(noName.stderr, /--name/);
  const none = await cli(['backup'], env);
  assert.match(none.stderr, /no sources yet/);
  const unknown = await cli(['backup', '--source', 'nope'], env);
  assert.match(unknown.stderr, /no source named "nope"/);
  resticOk(join(dir, 'theirs'), 'other password', ['init']);
  const wrong = await cli(['destination', 'add', join(dir, 'theirs'), '--name', 'Theirs'], env);
  assert.equal(wrong.code, 1);
  assert.match(wrong.stderr, /password/i);
  // Nothing was recorded for the refused destination.
  const dl = JSON.parse((await cliOk(['destination', 'list', '--json'], env)).stdout);
  assert.deepEqual(dl, []);
});
