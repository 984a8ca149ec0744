import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdirSync, mkdtempSync, realpathSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import type { Mount } from './volume';
import { candidatePaths, currentMounts, mountOf, parseMountinfo, volumeIdentity } from './volume';

// Lines in the kernel's format (proc(5)): id parent major:minor root point options [optional...] - fstype source super-options
const MOUNTINFO = [
  '22 27 0:21 / /proc rw,nosuid,nodev,noexec,relatime shared:5 - proc proc rw',
  '27 1 254:1 / / rw,relatime shared:1 - ext4 /dev/vda1 rw,errors=remount-ro',
  '30 27 0:26 / /run rw,nosuid,nodev,noexec,relatime shared:6 - tmpfs tmpfs rw,size=812344k,mode=755',
  '120 30 8:17 / /media/me/My\\040Passport rw,nosuid,nodev,relatime shared:140 - exfat /dev/sdb1 rw,fmask=0022,dmask=0022',
  '121 27 8:33 / /media/usb rw,nosuid,nodev,relatime shared:141 - ext4 /dev/sdc1 rw',
  '122 27 8:49 / /media/usb2 rw,nosuid,nodev,relatime shared:142 - vfat /dev/sdd1 rw',
  '123 27 8:17 /backups /srv/bind rw,relatime shared:140 - exfat /dev/sdb1 rw',
  '',
].join('\n');

const UUIDS = new Map([
  ['8:17', '1A2B-3C4D'],
  ['8:33', 'c0ffee00-1111-2222-3333-444455556666'],
  ['254:1', 'root-uuid'],
]);

describe('parseMountinfo', () => {
  const mounts = parseMountinfo(MOUNTINFO, UUIDS);
  test('one entry per line, blank lines skipped', () => assert.equal(mounts.length, 7));
  test('mount point, device and UUID', () => {
    assert.deepEqual(mounts[1], { point: '/', dev: '254:1', uuid: 'root-uuid', root: '/' });
    assert.deepEqual(mounts[4], { point: '/media/usb', dev: '8:33', uuid: 'c0ffee00-1111-2222-3333-444455556666', root: '/' });
  });
  test('no UUID for a device without one', () => {
    assert.equal(mounts[0].uuid, undefined);
    assert.equal(mounts[5].uuid, undefined);
  });
  test('\\040 in a mount point is a space', () => {
    assert.equal(mounts[3].point, '/media/me/My Passport');
    assert.equal(mounts[3].uuid, '1A2B-3C4D');
  });
  test('the mounted folder of a bind mount is kept', () => assert.equal(mounts[6].root, '/backups'));
  test('other octal escapes (tab, newline, backslash)', () => {
    const [m] = parseMountinfo('1 1 8:1 / /mnt/a\\011b\\012c\\134d rw - ext4 /dev/x rw', new Map());
    assert.equal(m.point, '/mnt/a\tb\nc\\d');
  });
  test('garbage lines are skipped', () => assert.deepEqual(parseMountinfo('nonsense\n1 2 3\n', new Map()), []));
});

describe('mountOf', () => {
  const mounts = parseMountinfo(MOUNTINFO, UUIDS);
  test('the longest mount point that holds the path', () => {
    assert.equal(mountOf('/media/usb/backup/mamori', mounts)?.point, '/media/usb');
    assert.equal(mountOf('/home/me/docs', mounts)?.point, '/');
    assert.equal(mountOf('/media/me/My Passport/restic', mounts)?.point, '/media/me/My Passport');
  });
  test('the mount point itself', () => assert.equal(mountOf('/media/usb', mounts)?.point, '/media/usb'));
  test('/media/usb does not hold /media/usb2', () => {
    assert.equal(mountOf('/media/usb2/backup', mounts)?.point, '/media/usb2');
    const withoutUsb2 = mounts.filter((m) => m.point !== '/media/usb2');
    assert.equal(mountOf('/media/usb2/backup', withoutUsb2)?.point, '/');
  });
  test('a folder whose name starts with ".." is inside the mount', () => {
    assert.equal(mountOf('/media/usb/..backup', mounts)?.point, '/media/usb');
  });
  test('no mounts, no answer', () => assert.equal(mountOf('/x', []), undefined));
  test('a path outside every mount', () => assert.equal(mountOf('/elsewhere', [{ point: '/media/usb', dev: '8:1' }]), undefined));
  test('of two mounts on the same point, the later (on top) wins', () => {
    const stacked: Mount[] = [
      { point: '/media/usb', dev: '8:1', uuid: 'under' },
      { point: '/media/usb', dev: '8:2', uuid: 'over' },
    ];
    assert.equal(mountOf('/media/usb/backup', stacked)?.uuid, 'over');
  });
});

describe('volumeIdentity and candidatePaths', () => {
  let base: string;
  let repo: string;
  before(() => {
    base = realpathSync(mkdtempSync(join(tmpdir(), 'mamori-volume-')));
    repo = join(base, 'drive', 'backups', 'mamori repo');
    mkdirSync(repo, { recursive: true });
  });
  after(() => rmSync(base, { recursive: true, force: true }));

  test('the UUID of the volume and the folder relative to its mount point', () => {
    const mounts: Mount[] = [
      { point: '/', dev: '254:1', uuid: 'root-uuid' },
      { point: join(base, 'drive'), dev: '8:17', uuid: 'DRIVE-UUID' },
    ];
    assert.deepEqual(volumeIdentity(repo, mounts), { volumeUuid: 'DRIVE-UUID', volumePath: 'backups/mamori repo' });
  });
  test('the mount point is the parent of the repository folder', () => {
    const mounts: Mount[] = [{ point: dirname(repo), dev: '8:17', uuid: 'DRIVE-UUID' }];
    assert.deepEqual(volumeIdentity(repo, mounts), { volumeUuid: 'DRIVE-UUID', volumePath: 'mamori repo' });
  });
  test('the repository at the root of the volume', () => {
    assert.deepEqual(volumeIdentity(repo, [{ point: repo, dev: '8:17', uuid: 'U' }]), { volumeUuid: 'U', volumePath: '' });
  });
  test('a symlinked path resolves to the real folder first', async () => {
    const { symlinkSync } = await import('node:fs');
    const link = join(base, 'link-to-repo');
    symlinkSync(repo, link);
    const mounts: Mount[] = [{ point: join(base, 'drive'), dev: '8:17', uuid: 'DRIVE-UUID' }];
    assert.deepEqual(volumeIdentity(link, mounts), { volumeUuid: 'DRIVE-UUID', volumePath: 'backups/mamori repo' });
  });
  test('a volume without a UUID gives nothing to remember', () => {
    assert.deepEqual(volumeIdentity(repo, [{ point: join(base, 'drive'), dev: '0:44' }]), {});
    assert.deepEqual(volumeIdentity(repo, []), {});
  });
  test('a path through a bind mount is remembered relative to the volume root', () => {
    const mounts: Mount[] = [
      { point: '/media/other', dev: '8:17', uuid: 'DRIVE-UUID', root: '/' },
      { point: join(base, 'drive'), dev: '8:17', uuid: 'DRIVE-UUID', root: '/exports' },
    ];
    assert.deepEqual(volumeIdentity(repo, mounts), { volumeUuid: 'DRIVE-UUID', volumePath: 'exports/backups/mamori repo' });
  });
  test('a folder that does not exist yet uses the path as given', () => {
    const mounts: Mount[] = [{ point: join(base, 'drive'), dev: '8:17', uuid: 'U' }];
    assert.deepEqual(volumeIdentity(join(base, 'drive', 'new', 'repo'), mounts), { volumeUuid: 'U', volumePath: 'new/repo' });
  });

  test('the same UUID mounted elsewhere gives the folder there', () => {
    const id = volumeIdentity(repo, [{ point: join(base, 'drive'), dev: '8:17', uuid: 'DRIVE-UUID' }]);
    assert.ok(id.volumeUuid && id.volumePath !== undefined);
    const later = parseMountinfo(MOUNTINFO.replace('/media/usb2', '/run/media/me/DRIVE'), new Map([...UUIDS, ['8:49', 'DRIVE-UUID']]));
    assert.deepEqual(candidatePaths(id.volumeUuid, id.volumePath, later), [join('/run/media/me/DRIVE', 'backups', 'mamori repo')]);
  });
  test('every mount of the UUID is a candidate; other volumes are not', () => {
    const mounts: Mount[] = [
      { point: '/media/a', dev: '8:1', uuid: 'U' },
      { point: '/media/b', dev: '8:2', uuid: 'OTHER' },
      { point: '/media/c', dev: '8:1', uuid: 'U' },
    ];
    assert.deepEqual(candidatePaths('U', 'backups/repo', mounts), ['/media/a/backups/repo', '/media/c/backups/repo']);
    assert.deepEqual(candidatePaths('U', '', mounts), ['/media/a', '/media/c']);
    assert.deepEqual(candidatePaths('NOWHERE', 'x', mounts), []);
  });
  test('a bind mount of the repository folder\'s ancestor is a candidate; of another folder is not', () => {
    const mounts: Mount[] = [
      { point: '/srv/bind', dev: '8:1', uuid: 'U', root: '/backups' },
      { point: '/srv/photos', dev: '8:1', uuid: 'U', root: '/photos' },
      { point: '/srv/deeper', dev: '8:1', uuid: 'U', root: '/backups/repo/data' },
    ];
    assert.deepEqual(candidatePaths('U', 'backups/repo', mounts), ['/srv/bind/repo']);
  });
  test('round trip: identity on one mount, candidates after a remount', () => {
    const before1: Mount[] = [{ point: join(base, 'drive'), dev: '8:17', uuid: 'DRIVE-UUID', root: '/' }];
    const id = volumeIdentity(repo, before1);
    assert.deepEqual(candidatePaths(id.volumeUuid!, id.volumePath!, before1), [repo]);
  });
});

describe('currentMounts (this machine)', () => {
  test('returns mounts; on Linux "/" is among them', () => {
    const mounts = currentMounts();
    assert.ok(Array.isArray(mounts));
    if (process.platform === 'linux') {
      assert.ok(mounts.some((m) => m.point === '/'), 'no "/" in /proc/self/mountinfo');
      for (const m of mounts) assert.match(m.dev, /^\d+:\d+$/);
      assert.equal(mountOf('/', mounts)?.point, '/');
    } else {
      assert.deepEqual(mounts, []);
    }
  });
});
