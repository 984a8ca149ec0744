import { describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { ErrorCode, MamoriError } from '../../../shared/errors';
import type { Location } from './location';
import { parseLocation } from './location';

/** Asserts that parsing fails with INVALID_REQUEST, that the message quotes the location, and that no secret leaks. */
function refused(location: string, opts: { mentions?: RegExp; secret?: string; quoted?: string } = {}): MamoriError {
  let caught: unknown;
  try {
    parseLocation(location);
  } catch (e) {
    caught = e;
  }
  assert.ok(caught instanceof MamoriError, `${location} should be refused with a MamoriError, got ${String(caught)}`);
  assert.equal(caught.code, ErrorCode.InvalidRequest);
  if (opts.quoted !== undefined) assert.ok(caught.message.includes(opts.quoted), `message "${caught.message}" should name ${opts.quoted}`);
  if (opts.mentions) assert.match(`${caught.message} ${caught.hint ?? ''}`, opts.mentions);
  if (opts.secret) {
    for (const text of [caught.message, caught.subject ?? '', caught.hint ?? '']) {
      assert.ok(!text.includes(opts.secret), `"${text}" must not contain the secret`);
    }
  }
  return caught;
}

function parsed<K extends Location['kind']>(location: string, kind: K): Extract<Location, { kind: K }> {
  const l = parseLocation(location);
  assert.equal(l.kind, kind, `${location} should parse as ${kind}`);
  return l as Extract<Location, { kind: K }>;
}

describe('parseLocation: folders', () => {
  test('a plain absolute path is a folder', () => {
    assert.deepEqual(parseLocation('/media/usb/backup'), { kind: 'local', path: '/media/usb/backup', display: '/media/usb/backup' });
  });
  test('a relative path is a folder', () => {
    assert.deepEqual(parseLocation('backup'), { kind: 'local', path: 'backup', display: 'backup' });
  });
  test('local: is stripped', () => {
    assert.deepEqual(parseLocation('local:/srv/repo'), { kind: 'local', path: '/srv/repo', display: '/srv/repo' });
  });
  test('local: with no folder is refused', () => {
    refused('local:', { quoted: 'local:' });
  });
  test('a Windows drive letter stays a folder, upper or lower case', () => {
    assert.deepEqual(parseLocation('D:\\backup'), { kind: 'local', path: 'D:\\backup', display: 'D:\\backup' });
    assert.deepEqual(parseLocation('d:\\backup'), { kind: 'local', path: 'd:\\backup', display: 'd:\\backup' });
    assert.equal(parsed('C:/Users/me/backup', 'local').path, 'C:/Users/me/backup');
  });
  test('"backup:2024" is a folder name, not a scheme', () => {
    assert.deepEqual(parseLocation('backup:2024'), { kind: 'local', path: 'backup:2024', display: 'backup:2024' });
  });
  test('a colon later in a path does not make a scheme', () => {
    assert.equal(parsed('/mnt/a:b', 'local').path, '/mnt/a:b');
  });
});

describe('parseLocation: sftp', () => {
  test('sftp:user@host:/abs', () => {
    assert.deepEqual(parseLocation('sftp:me@nas.local:/srv/backup'), {
      kind: 'sftp', user: 'me', host: 'nas.local', port: 22, path: '/srv/backup', display: 'sftp:me@nas.local:/srv/backup',
    });
  });
  test('sftp:host:relative keeps the path relative to the login folder', () => {
    const l = parsed('sftp:nas:backup/mamori', 'sftp');
    assert.equal(l.user, undefined);
    assert.equal(l.host, 'nas');
    assert.equal(l.port, 22);
    assert.equal(l.path, 'backup/mamori');
    assert.equal(l.display, 'sftp:nas:backup/mamori');
  });
  test('sftp:[::1]:/path unwraps the IPv6 address', () => {
    const l = parsed('sftp:[::1]:/path', 'sftp');
    assert.equal(l.host, '::1');
    assert.equal(l.path, '/path');
    assert.equal(l.display, 'sftp:[::1]:/path');
  });
  test('sftp:user@[fe80::1]:/p', () => {
    const l = parsed('sftp:me@[fe80::1]:/p', 'sftp');
    assert.equal(l.user, 'me');
    assert.equal(l.host, 'fe80::1');
  });
  test('sftp://user@host:2222//abs/path is absolute, with a port', () => {
    assert.deepEqual(parseLocation('sftp://me@host:2222//abs/path'), {
      kind: 'sftp', user: 'me', host: 'host', port: 2222, path: '/abs/path', display: 'sftp://me@host:2222//abs/path',
    });
  });
  test('sftp://host/rel is relative, default port 22', () => {
    const l = parsed('sftp://host/rel/dir', 'sftp');
    assert.equal(l.user, undefined);
    assert.equal(l.port, 22);
    assert.equal(l.path, 'rel/dir');
  });
  test('sftp://[::1]:2222//srv', () => {
    const l = parsed('sftp://[::1]:2222//srv', 'sftp');
    assert.equal(l.host, '::1');
    assert.equal(l.port, 2222);
    assert.equal(l.path, '/srv');
  });
  test('a password in the sftp:// URL is refused and not repeated', () => {
    refused('sftp://me:hunter2@host//srv', { secret: 'hunter2', quoted: 'sftp://me:***@host//srv', mentions: /password/ });
  });
  test('a password in the short sftp form is refused and not repeated', () => {
    refused('sftp:me:hunter2@host:/srv', { secret: 'hunter2', quoted: 'host:/srv', mentions: /password/ });
  });
  test('no folder is refused', () => {
    refused('sftp:me@host:', { quoted: 'sftp:me@host:', mentions: /folder/ });
    refused('sftp://me@host', { quoted: 'sftp://me@host', mentions: /folder/ });
  });
  test('no host is refused', () => void refused('sftp:/srv/backup', { quoted: 'sftp:/srv/backup' }));
});

describe('parseLocation: s3', () => {
  test('s3:https://host:9000/bucket/pre/fix', () => {
    assert.deepEqual(parseLocation('s3:https://minio.lan:9000/bucket/pre/fix'), {
      kind: 's3', endpoint: 'https://minio.lan:9000', bucket: 'bucket', prefix: 'pre/fix', display: 's3:https://minio.lan:9000/bucket/pre/fix',
    });
  });
  test('s3:http:// keeps http', () => {
    assert.equal(parsed('s3:http://127.0.0.1:9000/b', 's3').endpoint, 'http://127.0.0.1:9000');
  });
  test('s3:host/bucket means https', () => {
    const l = parsed('s3:objects.example.com/bucket', 's3');
    assert.equal(l.endpoint, 'https://objects.example.com');
    assert.equal(l.bucket, 'bucket');
    assert.equal(l.prefix, '');
    assert.equal(l.display, 's3:https://objects.example.com/bucket');
  });
  test('s3:s3.amazonaws.com/bucket/prefix is AWS', () => {
    const l = parsed('s3:s3.amazonaws.com/my-bucket/mamori', 's3');
    assert.equal(l.endpoint, 'https://s3.amazonaws.com');
    assert.equal(l.bucket, 'my-bucket');
    assert.equal(l.prefix, 'mamori');
  });
  test('trailing slashes do not make an empty prefix part', () => {
    const l = parsed('s3:https://h/b/p/', 's3');
    assert.equal(l.prefix, 'p');
  });
  test('no bucket is refused', () => {
    refused('s3:https://host:9000', { quoted: 's3:https://host:9000', mentions: /bucket/ });
    refused('s3:https://host:9000/', { quoted: 's3:https://host:9000/', mentions: /bucket/ });
  });
  test('keys in the URL are refused and not repeated', () => {
    refused('s3:https://AKIAEXAMPLE:wJalrSECRET@host/bucket', { secret: 'wJalrSECRET', quoted: 'host/bucket', mentions: /keys/ });
    refused('s3:AKIAEXAMPLE:wJalrSECRET@host/bucket', { secret: 'wJalrSECRET', quoted: 'host/bucket', mentions: /keys/ });
  });
});

describe('parseLocation: rest', () => {
  test('credentials are split out and never in display or url', () => {
    const l = parsed('rest:http://alice:s3cr3t@host:8000/path', 'rest');
    assert.equal(l.username, 'alice');
    assert.equal(l.password, 's3cr3t');
    assert.equal(l.url, 'http://host:8000/path/');
    assert.equal(l.display, 'rest:http://host:8000/path/');
    assert.ok(!l.display.includes('s3cr3t') && !l.url.includes('s3cr3t'));
  });
  test('percent-encoded credentials are decoded', () => {
    const l = parsed('rest:https://alice:p%40ss%3Aword@host/', 'rest');
    assert.equal(l.password, 'p@ss:word');
    assert.ok(!l.display.includes('p%40ss') && !l.display.includes('p@ss'));
  });
  test('a path without a trailing slash gets one', () => {
    assert.equal(parsed('rest:http://host:8000/repo', 'rest').url, 'http://host:8000/repo/');
    assert.equal(parsed('rest:http://host:8000/repo/', 'rest').url, 'http://host:8000/repo/');
    assert.equal(parsed('rest:http://host:8000', 'rest').url, 'http://host:8000/');
  });
  test('no credentials: username and password undefined', () => {
    const l = parsed('rest:https://backup.example.org/', 'rest');
    assert.equal(l.username, undefined);
    assert.equal(l.password, undefined);
    assert.equal(l.display, 'rest:https://backup.example.org/');
  });
  test('ftp:// is refused, without echoing a password', () => {
    refused('rest:ftp://host/path', { quoted: 'rest:ftp://host/path', mentions: /http/ });
    refused('rest:ftp://bob:topsecret@host/path', { secret: 'topsecret', quoted: 'host/path' });
  });
  test('not a URL is refused', () => void refused('rest:host:8000', { quoted: 'rest:host:8000' }));
});

describe('parseLocation: rclone', () => {
  test('rclone:remote:path', () => {
    assert.deepEqual(parseLocation('rclone:gdrive:backup/mamori'), { kind: 'rclone', remote: 'gdrive:backup/mamori', display: 'rclone:gdrive:backup/mamori' });
  });
  test('rclone::local:/tmp/x (an on-the-fly backend)', () => {
    assert.deepEqual(parseLocation('rclone::local:/tmp/x'), { kind: 'rclone', remote: ':local:/tmp/x', display: 'rclone::local:/tmp/x' });
  });
  test('rclone: without a remote is refused', () => void refused('rclone:justaname', { quoted: 'rclone:justaname', mentions: /rclone:remote:path/ }));
});

describe('parseLocation: other restic schemes and errors', () => {
  for (const loc of ['b2:bucket/path', 'azure:container:/path', 'gs:bucket:/path', 'swift:container:/path']) {
    test(`${loc} is refused with a hint naming rclone and s3`, () => {
      const e = refused(loc, { quoted: loc });
      assert.match(e.hint ?? '', /rclone:/);
      assert.match(e.hint ?? '', /s3:/);
      assert.equal(e.subject, loc);
    });
  }
  test('empty location', () => {
    const e = refused('');
    assert.match(e.message, /no repository location/);
    assert.ok(e.hint);
  });
  test('errors carry the (redacted) location as subject and a hint', () => {
    const e = refused('s3:https://host');
    assert.equal(e.subject, 's3:https://host');
    assert.ok(e.hint && e.hint.length > 0);
  });
});

describe('parseLocation: display never holds a password', () => {
  const secret = 'Pa55w0rd';
  const accepted = [
    `rest:http://u:${secret}@h:8000/p`,
    `rest:https://u:${secret}@h/`,
    '/media/usb/backup',
    'sftp:me@h:/p',
    's3:https://h/b/p',
    'rclone:r:p',
  ];
  for (const loc of accepted) {
    test(loc, () => {
      const l = parseLocation(loc);
      assert.ok(!l.display.includes(secret));
      if (l.kind === 'rest') assert.ok(!l.url.includes(secret));
    });
  }
  const rejected = [`sftp://me:${secret}@h//p`, `sftp:me:${secret}@h:/p`, `s3:https://k:${secret}@h/b`, `rest:ftp://u:${secret}@h/`, `rest:http://u:${secret}@[bad/`];
  for (const loc of rejected) test(`refused without the password: ${loc.replace(secret, '***')}`, () => void refused(loc, { secret }));
});
