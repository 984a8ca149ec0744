// The whole destinations story against real servers started here on 127.0.0.1: one `mamori backup`
// fans out to a local folder, OpenSSH's sshd (SFTP), Ceph's radosgw (S3) and an append-only
// `rclone serve restic` (REST); restic then checks and restores every copy through its own sftp, s3
// and rest backends. The REST server is killed in the middle of a later run: the other three complete,
// the REST copy is reported pending and caught up once the server is back. A changed SFTP host key is
// refused while the other destinations still get their copies.
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { readdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { after, before, describe, test } from 'node:test';
import { openStateDb, StateStore } from '../../electron/engine/index';
import { cli, cliOk } from '../helpers/cli';
import { diffManifests, manifest } from '../helpers/manifest';
import { restic, tempDir } from '../helpers/restic';
import { startRcloneRestServer, type RcloneRestServer } from '../helpers/rclone';
import { startS3Server, type S3Server } from '../helpers/s3-server';
import { makeSourceTree, pseudoRandom } from '../helpers/source-tree';
import { needSshd, startSshd, type Sshd } from '../helpers/sshd';
import { needTool, projectRoot } from '../helpers/tools';

const PW = 'four copies';
const skip = needTool('restic') ?? needTool('rclone') ?? needSshd();

describe('fan-out to local, SFTP, S3 and append-only REST', { skip, timeout: 600_000 }, () => {
  let sshd: Sshd;
  let s3: S3Server;
  let rest: RcloneRestServer;
  let restPort = 0;
  let dir: string;
  let cleanup: () => void;
  let s3Skip: string | undefined;
  const env: Record<string, string> = {};
  const src = (): string => join(dir, 'Documents');
  const locations: Record<string, string> = {};

  before(async () => {
    ({ dir, cleanup } = tempDir());
    const started = await startS3Server();
    if ('skip' in started) {
      s3Skip = started.skip;
      return;
    }
    s3 = started;
    sshd = await startSshd();
    rest = await startRcloneRestServer({ root: join(dir, 'rest-root'), appendOnly: true });
    restPort = Number(new URL(rest.url).port);
    Object.assign(env, {
      MAMORI_HOME: join(dir, 'home'),
      MAMORI_PASSWORD: PW,
      AWS_ACCESS_KEY_ID: s3.accessKeyId,
      AWS_SECRET_ACCESS_KEY: s3.secretAccessKey,
    });
    locations.local = join(dir, 'usb');
    locations.sftp = `sftp://${sshd.user}@127.0.0.1:${sshd.port}/${join(sshd.root, 'laptop')}`;
    locations.s3 = `s3:${s3.endpoint}/mamori-test/laptop`;
    locations.rest = `rest:${rest.url}laptop/`;
  });

  after(async () => {
    await rest?.stop();
    await sshd?.stop();
    await s3?.stop();
    cleanup?.();
  });

  /** restic reading a destination through its own backend. */
  function resticAt(name: string, args: string[]): ReturnType<typeof restic> {
    const extra: string[] = [];
    let repo = locations[name];
    if (name === 'sftp') {
      repo = `sftp:${sshd.user}@127.0.0.1:${join(sshd.root, 'laptop')}`;
      extra.push('-o', `sftp.command=ssh -p ${sshd.port} -i ${sshd.userKeyPath} -o StrictHostKeyChecking=no -o UserKnownHostsFile=/dev/null ${sshd.user}@127.0.0.1 -s sftp`);
    }
    process.env.AWS_ACCESS_KEY_ID = s3.accessKeyId;
    process.env.AWS_SECRET_ACCESS_KEY = s3.secretAccessKey;
    return restic(repo, PW, [...extra, ...args]);
  }

  function checkAndRestore(name: string, label: string): void {
    const c = resticAt(name, ['check', '--read-data']);
    assert.equal(c.status, 0, `${name}: restic check failed:\n${c.stderr}\n${c.stdout}`);
    const target = join(dir, `restore-${name}-${label}`);
    const r = resticAt(name, ['restore', 'latest', '--target', target]);
    assert.equal(r.status, 0, `${name}: restic restore failed:\n${r.stderr}`);
    assert.deepEqual(diffManifests(manifest(src()), manifest(join(target, src()))), [], name);
  }

  test('one backup writes all four; restic checks and restores each through its own backend', async (t) => {
    if (s3Skip) return t.skip(s3Skip);
    makeSourceTree(src(), { largeSize: 3 * 1024 * 1024 });
    await cliOk(['destination', 'add', locations.local, '--name', 'USB', '--media', 'usb-flash'], env);
    const sftpAdd = await cliOk(['destination', 'add', locations.sftp, '--name', 'NAS', '--media', 'nas', '--key-file', sshd.userKeyPath], env);
    // The host key was pinned on first use and its fingerprint shown.
    assert.match(sftpAdd.stderr, new RegExp(sshd.hostKeyFingerprint.replace(/[+/]/g, '\\$&')));
    await cliOk(['destination', 'add', locations.s3, '--name', 'Cloud'], env);
    const restAdd = await cliOk(['destination', 'add', locations.rest, '--name', 'Office server', '--place', 'office'], env);
    assert.match(restAdd.stderr, /no room for Mamori's marker/);
    await cliOk(['source', 'add', src()], env);

    const b = await cliOk(['backup', '--json'], env);
    const outcome = JSON.parse(b.stdout.trim().split('\n').pop()!).sources[0].destinations as { name: string; status: string }[];
    assert.deepEqual(outcome.map((o) => [o.name, o.status]), [['USB', 'ok'], ['NAS', 'ok'], ['Cloud', 'ok'], ['Office server', 'ok']]);
    for (const name of ['local', 'sftp', 's3', 'rest']) checkAndRestore(name, 'first');

    // --repo takes restic's location syntax for the remote kinds too.
    for (const loc of [locations.s3, locations.rest]) {
      const snaps = JSON.parse((await cliOk(['snapshots', '--repo', loc, '--json'], env)).stdout);
      assert.equal(snaps.length, 1, loc);
      assert.deepEqual(snaps[0].paths, [src()]);
    }
    const sftpRepo = `sftp://${sshd.user}@127.0.0.1:${sshd.port}/${join(sshd.root, 'laptop')}`;
    const ls = await cli(['ls', '--repo', sftpRepo, 'latest', src()], { ...env, MAMORI_SFTP_PASSWORD: undefined as unknown as string });
    // No key file is given on the command line, so SFTP logins need a password: the error says how to give one.
    assert.equal(ls.code, 1);
    assert.match(ls.stderr, /MAMORI_SFTP_PASSWORD|--key-file/);

    const st = JSON.parse((await cli(['status', '--json'], env)).stdout);
    assert.equal(st.sources[0].currentCopies, 4);
    assert.equal(st.sources[0].rule321.holds, true);
  });

  test('the REST server dies mid-run: the others complete, REST is pending, then caught up', async (t) => {
    if (s3Skip) return t.skip(s3Skip);
    for (let i = 0; i < 4; i++) writeFileSync(join(src(), `video${i}.bin`), pseudoRandom(`video${i}`, 12 * 1024 * 1024));
    const packsIn = (p: string): number => readdirSync(join(p, 'data')).reduce((n, d) => n + readdirSync(join(p, 'data', d)).length, 0);
    const before = packsIn(locations.local);
    const child = spawn(process.execPath, [join(projectRoot, 'bin', 'mamori.mjs'), 'backup', '--json', '--retries', '0'], {
      cwd: projectRoot,
      env: { ...process.env, ...env, MAMORI_TEST_KDF: '1024,8,1', MAMORI_NO_KEYRING: '1' },
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    let out = '';
    child.stdout.setEncoding('utf8').on('data', (d: string) => (out += d));
    const exited = new Promise<number | null>((r) => child.on('exit', r));
    while (packsIn(locations.local) < before + 1) await new Promise((r) => setTimeout(r, 20));
    await rest.stop();
    const code = await exited;
    assert.equal(code, 3, out);
    const outcome = JSON.parse(out.trim().split('\n').pop()!).sources[0].destinations as { name: string; status: string; error?: { message: string } }[];
    const by = Object.fromEntries(outcome.map((o) => [o.name, o]));
    for (const n of ['USB', 'NAS', 'Cloud']) assert.equal(by[n].status, 'ok', `${n}: ${JSON.stringify(by[n])}`);
    assert.equal(by['Office server'].status, 'pending', JSON.stringify(by['Office server']));
    for (const name of ['local', 'sftp', 's3']) checkAndRestore(name, 'second');

    // The server is back on the same address: the pending copy is caught up.
    rest = await startRcloneRestServer({ root: join(dir, 'rest-root'), appendOnly: true, port: restPort });
    const c = await cliOk(['backup', '--to', 'Office server'], env);
    assert.match(c.stdout, /Office server: snapshot [0-9a-f]{8} saved/);
    checkAndRestore('rest', 'caught-up');
  });

  test('a changed SFTP host key is refused with both fingerprints; the other copies are still made', async (t) => {
    if (s3Skip) return t.skip(s3Skip);
    const opened = openStateDb(env.MAMORI_HOME);
    const store = new StateStore(opened.db);
    const nas = store.findDestination('NAS')!;
    const forged = 'SHA256:' + Buffer.alloc(32, 7).toString('base64').replace(/=+$/, '');
    store.updateDestination(nas.id, { hostKey: forged });
    opened.db.close();
    writeFileSync(join(src(), 'after-key-change.txt'), 'hello');
    const r = await cli(['backup', '--retries', '0', '--to', 'NAS', '--to', 'USB'], env);
    assert.equal(r.code, 3, r.stderr);
    assert.match(r.stdout, /USB: snapshot/);
    assert.match(r.stdout, /NAS: FAILED/);
    assert.ok(r.stdout.includes(forged) && r.stdout.includes(sshd.hostKeyFingerprint), r.stdout);
  });
});
