// Repository locations in restic's syntax, so a restic user's habits and scripts carry over:
//   /path, local:/path                         a folder (drive, NAS mount)
//   sftp:user@host:/path, sftp:host:path       SFTP (path relative to the login folder unless absolute)
//   sftp://user@host:port//abs/path            SFTP URL form (restic: a second slash for an absolute path)
//   s3:https://host[:port]/bucket[/prefix]     S3-compatible (s3:host/bucket means https)
//   s3:s3.amazonaws.com/bucket[/prefix]        AWS
//   rest:http://[user:pass@]host:port/[path/]  restic REST protocol (rest-server, rclone serve restic)
//   rclone:remote:path                         any rclone remote, through `rclone serve restic --stdio`
// Parsing is pure (no I/O) and never keeps a password: credentials embedded in a rest: URL are split
// out so that `display` can be logged and stored in plain config.

import { ErrorCode, MamoriError } from '../../../shared/errors';

export type Location =
  | { kind: 'local'; path: string; display: string }
  | { kind: 'sftp'; user?: string; host: string; port: number; path: string; display: string }
  | { kind: 's3'; endpoint: string; bucket: string; prefix: string; display: string }
  | { kind: 'rest'; url: string; username?: string; password?: string; display: string }
  | { kind: 'rclone'; remote: string; display: string };

const OTHER_RESTIC_SCHEMES = ['b2', 'azure', 'gs', 'swift'];

/**
 * The location with any password in it masked, so that an error can quote what the user typed: the
 * userinfo of a URL form (the last "@" before the first "/" ends it, as in URL parsing) and the
 * user part of the short forms (sftp:user:pw@host:/path, s3:key:secret@host/bucket).
 */
function redact(location: string): string {
  const mask = (userinfo: string) => userinfo.replace(/:.*$/s, ':***');
  return location
    .replace(/^(.*?\/\/)([^/?#]*)@/s, (_, head: string, userinfo: string) => `${head}${mask(userinfo)}@`)
    .replace(/^([a-z0-9]+:)(?!\/\/)([^/]*)@/, (_, head: string, userinfo: string) => `${head}${mask(userinfo)}@`);
}

function bad(location: string, why: string, hint: string): MamoriError {
  const shown = redact(location);
  return new MamoriError(ErrorCode.InvalidRequest, `"${shown}" is not a repository location: ${why}`, { subject: shown, hint });
}

function parseSftp(location: string, rest: string): Location {
  if (rest.startsWith('//')) {
    let url: URL;
    try {
      url = new URL(`sftp:${rest}`);
    } catch {
      throw bad(location, 'not a valid sftp:// URL', 'Write it as sftp://user@host:port//absolute/path or sftp:user@host:/path.');
    }
    if (!url.hostname) throw bad(location, 'no host', 'Write it as sftp:user@host:/path.');
    if (url.password) throw bad(location, 'passwords do not belong in the location', 'Give the password when asked, or use a key.');
    const path = decodeURIComponent(url.pathname.replace(/^\//, ''));
    if (!path) throw bad(location, 'no folder on the server', 'Add the folder, e.g. sftp://user@host//srv/backup.');
    const host = url.hostname.replace(/^\[(.*)\]$/, '$1');
    const port = url.port ? Number(url.port) : 22;
    const user = url.username ? decodeURIComponent(url.username) : undefined;
    return { kind: 'sftp', user, host, port, path, display: `sftp://${user ? `${user}@` : ''}${url.host}/${path}` };
  }
  // sftp:[user@]host:path; the host may be a bracketed IPv6 address.
  const m = /^(?:([^@/]+)@)?(\[[^\]]+\]|[^:/]+):(.*)$/.exec(rest);
  if (!m) throw bad(location, 'expected sftp:user@host:/path', 'Write it as sftp:user@host:/path.');
  const [, user, rawHost, path] = m;
  if (user?.includes(':')) throw bad(location, 'passwords do not belong in the location', 'Give the password when asked, or use a key.');
  if (!path) throw bad(location, 'no folder on the server', 'Add the folder, e.g. sftp:user@host:/srv/backup.');
  const host = rawHost.replace(/^\[(.*)\]$/, '$1');
  return { kind: 'sftp', user, host, port: 22, path, display: `sftp:${user ? `${user}@` : ''}${rawHost}:${path}` };
}

function parseS3(location: string, rest: string): Location {
  const withScheme = /^https?:\/\//.test(rest) ? rest : `https://${rest}`;
  let url: URL;
  try {
    url = new URL(withScheme);
  } catch {
    throw bad(location, 'not a valid S3 address', 'Write it as s3:https://host/bucket/prefix.');
  }
  if (url.username || url.password) {
    throw bad(location, 'keys do not belong in the location', 'Give the access key and secret separately (they are stored in the secret store).');
  }
  const parts = url.pathname.split('/').filter(Boolean).map(decodeURIComponent);
  const bucket = parts.shift();
  if (!bucket) throw bad(location, 'no bucket', 'Add the bucket, e.g. s3:https://host/my-bucket/mamori.');
  const prefix = parts.join('/');
  const endpoint = `${url.protocol}//${url.host}`;
  return { kind: 's3', endpoint, bucket, prefix, display: `s3:${endpoint}/${bucket}${prefix ? `/${prefix}` : ''}` };
}

function parseRest(location: string, rest: string): Location {
  let url: URL;
  try {
    url = new URL(rest);
  } catch {
    throw bad(location, 'not a valid URL', 'Write it as rest:http://host:8000/path/.');
  }
  if (url.protocol !== 'http:' && url.protocol !== 'https:') {
    throw bad(location, 'only http and https are supported', 'Write it as rest:http://host:8000/path/.');
  }
  const username = url.username ? decodeURIComponent(url.username) : undefined;
  const password = url.password ? decodeURIComponent(url.password) : undefined;
  url.username = '';
  url.password = '';
  if (!url.pathname.endsWith('/')) url.pathname += '/';
  const clean = url.toString();
  return { kind: 'rest', url: clean, username, password, display: `rest:${clean}` };
}

/** Parses a location in restic's syntax; throws MamoriError(InvalidRequest) saying how to write it. */
export function parseLocation(location: string): Location {
  if (!location) {
    throw new MamoriError(ErrorCode.InvalidRequest, 'no repository location given', {
      hint: 'Give a folder (e.g. /media/usb/backup) or a remote location such as sftp:user@host:/srv/backup.',
    });
  }
  if (location.startsWith('local:')) {
    const path = location.slice('local:'.length);
    if (!path) throw bad(location, 'no folder', 'Write it as local:/path/to/folder.');
    return { kind: 'local', path, display: path };
  }
  const m = /^([a-z0-9]+):(.*)$/s.exec(location);
  // A Windows drive letter ("D:\backup") or a plain path is a folder.
  if (!m || m[1].length === 1) return { kind: 'local', path: location, display: location };
  const [, scheme, rest] = m;
  switch (scheme) {
    case 'sftp':
      return parseSftp(location, rest);
    case 's3':
      return parseS3(location, rest);
    case 'rest':
      return parseRest(location, rest);
    case 'rclone':
      if (!/^[^:]*:/.test(rest) && !rest.startsWith('/')) {
        throw bad(location, 'expected rclone:remote:path', 'Write it as rclone:remote:path, with a remote from `rclone config`.');
      }
      return { kind: 'rclone', remote: rest, display: location };
    default:
      if (OTHER_RESTIC_SCHEMES.includes(scheme)) {
        throw new MamoriError(ErrorCode.InvalidRequest, `${scheme}: repositories are not supported by Mamori (${redact(location)})`, {
          subject: redact(location),
          hint: `Reach the same storage through rclone (rclone:remote:path) or its S3-compatible endpoint (s3:).`,
        });
      }
      // "backup:2024" is a folder name, not a scheme.
      return { kind: 'local', path: location, display: location };
  }
}
