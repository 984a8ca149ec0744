// A real OpenSSH sshd for tests, listening on 127.0.0.1 on a free port, owned by the test.
//
// Everything lives in one temp folder: a fresh ed25519 host key and user key (ssh-keygen), the
// authorized_keys, sshd_config, the pid file and a `root` folder the login user can write (the SFTP
// session starts there, so relative repository paths resolve inside it). sshd runs with -D -e as our
// child; its stderr is kept so a failed start says why.
//
// Why stop() walks the process tree: sshd forks a privilege-separated process per connection and
// calls setsid() in it, so killing the listener (or its process group) leaves live sessions behind.
// To simulate a crashed or rebooted server we kill every descendant by PID, then the listener.
// restart() brings the same server (same port, same host key) back, for reconnect tests.
import { spawn, spawnSync } from 'node:child_process';
import type { ChildProcess } from 'node:child_process';
import { createHash } from 'node:crypto';
import { existsSync, mkdirSync, promises as fsp, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { createConnection, createServer } from 'node:net';
import { tmpdir, userInfo } from 'node:os';
import { join } from 'node:path';

export const SSHD_PATH = '/usr/sbin/sshd';
const INSTALL = 'apt-get install openssh-server';

export interface Sshd {
  port: number;
  /** The login user: the user running the tests (root here). */
  user: string;
  userKeyPath: string;
  privateKey: Buffer;
  /** OpenSSH's SHA256:<base64> fingerprint of the host key, as `ssh-keygen -lf` prints it. */
  hostKeyFingerprint: string;
  hostKeyPath: string;
  /** A temp folder the user can write; the SFTP session's starting folder. */
  root: string;
  /** The temp folder holding keys and config (not visible through SFTP unless given by absolute path). */
  dir: string;
  /** sshd's stderr so far (connection and auth log lines), for assertion messages. */
  log(): string;
  /** Kills every session and the listener, as a crash would; connections drop at once. */
  kill(): Promise<void>;
  /** Starts sshd again on the same port with the same keys (after kill()). */
  restart(): Promise<void>;
  /** Stops sshd and removes the temp folder. */
  stop(): Promise<void>;
}

/**
 * Returns a reason to skip when sshd or ssh-keygen is missing or cannot run here (undefined when
 * usable). Under CI a missing tool is an error, as with needTool().
 */
export function needSshd(): string | undefined {
  const missing = !existsSync(SSHD_PATH) ? SSHD_PATH
    : spawnSync('ssh-keygen', ['-?'], { stdio: 'ignore' }).error ? 'ssh-keygen' : undefined;
  let reason: string | undefined;
  if (missing) {
    reason = `${missing} is not installed`;
  } else if (!existsSync('/run/sshd')) {
    // The privilege separation folder; sshd refuses to start without it.
    try {
      mkdirSync('/run/sshd', { mode: 0o755 });
    } catch {
      reason = '/run/sshd is missing and cannot be created (run the tests as root once, or create it)';
    }
  }
  if (!reason) return undefined;
  const msg = `*** ${reason}: SKIPPING tests that need sshd (install: ${INSTALL}) ***`;
  if (process.env.CI) throw new Error(`sshd is required in CI: ${reason} (${INSTALL})`);
  console.error(msg);
  return msg;
}

function run(cmd: string, args: string[]): string {
  const r = spawnSync(cmd, args, { encoding: 'utf8' });
  if (r.error) throw r.error;
  if (r.status !== 0) throw new Error(`${cmd} ${args.join(' ')} failed (${r.status}): ${r.stderr}`);
  return r.stdout;
}

/** The fingerprint of a public key file computed from its blob (cross-checked against ssh-keygen in tests). */
export function fingerprintOfPublicKeyFile(pubPath: string): string {
  const blob = Buffer.from(readFileSync(pubPath, 'utf8').trim().split(/\s+/)[1], 'base64');
  return `SHA256:${createHash('sha256').update(blob).digest('base64').replace(/=+$/, '')}`;
}

/** What `ssh-keygen -lf` reports for a key file: its SHA256:... fingerprint. */
export function sshKeygenFingerprint(keyPath: string): string {
  const out = run('ssh-keygen', ['-l', '-E', 'sha256', '-f', keyPath]);
  const fp = out.split(/\s+/)[1];
  if (!fp?.startsWith('SHA256:')) throw new Error(`unexpected ssh-keygen -lf output: ${out}`);
  return fp;
}

export function generateKey(path: string, comment = 'mamori-test'): void {
  run('ssh-keygen', ['-q', '-t', 'ed25519', '-N', '', '-C', comment, '-f', path]);
}

async function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const srv = createServer();
    srv.once('error', reject);
    srv.listen(0, '127.0.0.1', () => {
      const addr = srv.address();
      const port = typeof addr === 'object' && addr ? addr.port : 0;
      srv.close(() => resolve(port));
    });
  });
}

function canConnect(port: number): Promise<boolean> {
  return new Promise((resolve) => {
    const s = createConnection({ host: '127.0.0.1', port });
    s.once('connect', () => {
      s.destroy();
      resolve(true);
    });
    s.once('error', () => resolve(false));
  });
}

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

/** PIDs of every descendant of `pid` (children first-level and below), from /proc or ps. */
function descendants(pid: number): number[] {
  const parentOf = new Map<number, number>();
  if (existsSync('/proc/self/stat')) {
    for (const name of readdirSync('/proc')) {
      if (!/^\d+$/.test(name)) continue;
      try {
        const stat = readFileSync(`/proc/${name}/stat`, 'utf8');
        // Field 4 (ppid) follows the parenthesised command name, which may itself hold spaces.
        const ppid = Number(stat.slice(stat.lastIndexOf(')') + 2).split(' ')[1]);
        parentOf.set(Number(name), ppid);
      } catch {
        // The process exited while we looked.
      }
    }
  } else {
    for (const line of run('ps', ['-A', '-o', 'pid=,ppid=']).split('\n')) {
      const [p, pp] = line.trim().split(/\s+/).map(Number);
      if (p) parentOf.set(p, pp);
    }
  }
  const out: number[] = [];
  const walk = (p: number) => {
    for (const [child, parent] of parentOf) {
      if (parent === p) {
        out.push(child);
        walk(child);
      }
    }
  };
  walk(pid);
  return out;
}

function signal(pid: number, sig: NodeJS.Signals): void {
  try {
    process.kill(pid, sig);
  } catch {
    // Already gone.
  }
}

export interface StartSshdOptions {
  /** Also allow password logins (the login user's real password, if it has one). */
  passwordAuthentication?: boolean;
  /** Extra internal-sftp flags, e.g. ['-P', 'posix-rename'] to ban a request. */
  sftpServerFlags?: string[];
}

/** Starts a private sshd. Call needSshd() first (or skip) where sshd may be missing. */
export async function startSshd(opts: StartSshdOptions = {}): Promise<Sshd> {
  const dir = await fsp.mkdtemp(join(tmpdir(), 'mamori-sshd-'));
  const root = join(dir, 'root');
  await fsp.mkdir(root, { mode: 0o700 });
  const hostKeyPath = join(dir, 'host_ed25519');
  const userKeyPath = join(dir, 'user_ed25519');
  generateKey(hostKeyPath, 'mamori-test-host');
  generateKey(userKeyPath, 'mamori-test-user');
  await fsp.copyFile(`${userKeyPath}.pub`, join(dir, 'authorized_keys'));
  const user = userInfo().username;
  const port = await freePort();
  const configPath = join(dir, 'sshd_config');
  writeFileSync(configPath, [
    `Port ${port}`,
    'ListenAddress 127.0.0.1',
    `HostKey ${hostKeyPath}`,
    `PidFile ${join(dir, 'sshd.pid')}`,
    `AuthorizedKeysFile ${join(dir, 'authorized_keys')}`,
    'StrictModes no',
    'UsePAM no',
    // prohibit-password would do for keys; yes lets the password test reach the password check.
    'PermitRootLogin yes',
    'PubkeyAuthentication yes',
    `PasswordAuthentication ${opts.passwordAuthentication ? 'yes' : 'no'}`,
    'KbdInteractiveAuthentication no',
    'PermitEmptyPasswords no',
    'X11Forwarding no',
    'AllowTcpForwarding no',
    'MaxStartups 100',
    'MaxSessions 100',
    'LogLevel VERBOSE',
    `Subsystem sftp internal-sftp -d ${root}${opts.sftpServerFlags ? ` ${opts.sftpServerFlags.join(' ')}` : ''}`,
    '',
  ].join('\n'));

  let child: ChildProcess | undefined;
  let stderr = '';

  async function launch(): Promise<void> {
    const c = spawn(SSHD_PATH, ['-D', '-e', '-f', configPath], { stdio: ['ignore', 'ignore', 'pipe'] });
    child = c;
    let exited: string | undefined;
    c.once('exit', (code, sig) => (exited = `exited with ${code ?? sig}`));
    c.once('error', (e) => (exited = e.message));
    c.stderr?.setEncoding('utf8');
    c.stderr?.on('data', (d: string) => (stderr += d));
    for (let i = 0; i < 1000; i++) {
      if (exited) throw new Error(`sshd ${exited}:\n${stderr}`);
      if (await canConnect(port)) return;
      await sleep(10);
    }
    signal(c.pid ?? 0, 'SIGKILL');
    throw new Error(`sshd did not accept connections on 127.0.0.1:${port}:\n${stderr}`);
  }

  // sshd outlives us unless killed: a test process that crashes or exits early must not leave it running.
  const killOnExit = () => {
    if (child?.pid && child.exitCode === null && child.signalCode === null) {
      for (const pid of descendants(child.pid)) signal(pid, 'SIGKILL');
      signal(child.pid, 'SIGKILL');
    }
    rmSync(dir, { recursive: true, force: true });
  };
  process.on('exit', killOnExit);

  async function kill(): Promise<void> {
    const c = child;
    child = undefined;
    if (!c?.pid || c.exitCode !== null || c.signalCode !== null) return;
    const gone = new Promise<void>((r) => c.once('exit', () => r()));
    // Freeze the listener first so it cannot fork new sessions while we kill the existing ones.
    signal(c.pid, 'SIGSTOP');
    for (const pid of descendants(c.pid)) signal(pid, 'SIGKILL');
    signal(c.pid, 'SIGKILL');
    await gone;
  }

  try {
    await launch();
  } catch (err) {
    process.off('exit', killOnExit);
    await fsp.rm(dir, { recursive: true, force: true });
    throw err;
  }
  return {
    port,
    user,
    userKeyPath,
    privateKey: readFileSync(userKeyPath),
    hostKeyFingerprint: fingerprintOfPublicKeyFile(`${hostKeyPath}.pub`),
    hostKeyPath,
    root,
    dir,
    log: () => stderr,
    kill,
    restart: async () => {
      await kill();
      // The port was ours a moment ago; a retry covers the kernel's brief hold after a kill.
      for (let attempt = 0; ; attempt++) {
        try {
          await launch();
          return;
        } catch (e) {
          if (attempt >= 20) throw e;
          await sleep(100);
        }
      }
    },
    stop: async () => {
      await kill();
      process.off('exit', killOnExit);
      await fsp.rm(dir, { recursive: true, force: true });
    },
  };
}
