// RcloneBackend: a repository on any rclone remote (rclone:remote:path), reached the way restic
// does it: Mamori starts `rclone serve restic --stdio <remote:path>`, which speaks restic's REST
// protocol as an HTTP/2 server (prior knowledge, no TLS) on its stdin/stdout, and RestBackend talks
// to it through a transport whose "socket" is that pair of pipes. Nothing listens on a port, so no
// other local user or process can reach the repository through it.
//
// Process lifetime: rclone starts on the first request, not in the constructor. If it dies (killed,
// crashed, lost its remote at start-up), requests in flight fail as 'transient' with the tail of
// rclone's stderr (its log) in the message; the next request starts a fresh rclone, so a retrying
// caller recovers. close() ends the HTTP/2 session and closes rclone's stdin, on which rclone exits;
// it is killed if it does not. rclone also exits by itself if Mamori dies, since its stdin closes.
//
// rclone remotes may carry secrets inline (":s3,secret_access_key=...:bucket"): `location` and the
// stderr excerpts in messages show such parameters with their values replaced by "***".

import { spawn } from 'node:child_process';
import type { ChildProcessWithoutNullStreams } from 'node:child_process';
import http2 from 'node:http2';
import { Duplex } from 'node:stream';
import { BackendError } from './backend';
import { DEFAULT_REST_TIMEOUT_MS, RestBackend, collectBody } from './rest';
import type { RestRequest, RestResponse, RestTransport } from './rest';

export interface RcloneBackendOptions {
  /** An rclone remote and path, as after "rclone:" in a location: "myremote:bucket/path", ":local:/tmp/x". */
  remote: string;
  /** Default "rclone" (found on PATH). */
  rcloneBinary?: string;
  /** Extra rclone flags, placed before the remote (e.g. ["--config", "/path/rclone.conf"]). */
  args?: string[];
  /** Idle limit per request, as RestBackendOptions.timeoutMs (default 5 minutes). */
  timeoutMs?: number;
}

// Large windows let a 16-100 MiB pack flow without waiting for a window update every 64 KiB.
const WINDOW_SIZE = 16 * 1024 * 1024;
const SESSION_WINDOW_SIZE = 64 * 1024 * 1024;
const STDERR_TAIL_CHARS = 2000;
// After a stream fails, how long to wait for rclone's exit so the message can say why it died.
const EXIT_GRACE_MS = 2000;
// How long close() lets rclone finish on its own before it is killed.
const CLOSE_GRACE_MS = 5000;

function errCode(err: unknown): string | undefined {
  const code = (err as { code?: unknown } | null)?.code;
  return typeof code === 'string' ? code : undefined;
}

/**
 * Hides the values of inline parameters in an rclone remote ("s3,access_key_id=X:bucket" →
 * "s3,access_key_id=***:bucket"), which may be keys or passwords.
 */
export function redactRemote(remote: string): string {
  return remote.replace(/([,{]\s*[A-Za-z0-9_-]+\s*=\s*)("[^"]*"|'[^']*'|[^,:}]*)/g, '$1***');
}

interface Running {
  child: ChildProcessWithoutNullStreams;
  session: http2.ClientHttp2Session;
  exited: Promise<string>;
  pipe: Duplex;
  /** The end of rclone's log (stderr), for messages when it dies. */
  stderrTail: string;
  exitInfo?: string;
  /** rclone never ran (binary missing, not executable): retrying cannot help. */
  spawnFailed?: boolean;
}

class RcloneTransport implements RestTransport {
  readonly unreachableHint: string;
  private running?: Running;
  private closed = false;

  constructor(private readonly opts: RcloneBackendOptions) {
    this.unreachableHint = `check the rclone remote (try \`rclone lsd ${redactRemote(opts.remote)}\`) and the network, then try again`;
  }

  get pid(): number | undefined {
    return this.running && this.running.exitInfo === undefined ? this.running.child.pid : undefined;
  }

  private redact(text: string): string {
    let out = text;
    const raw = this.opts.remote;
    if (raw) out = out.split(raw).join(redactRemote(raw));
    return redactRemote(out);
  }

  private start(): Running {
    if (this.closed) throw new BackendError('other', `rclone backend for ${redactRemote(this.opts.remote)} is closed`);
    const binary = this.opts.rcloneBinary ?? 'rclone';
    const child = spawn(binary, ['serve', 'restic', '--stdio', ...(this.opts.args ?? []), this.opts.remote], {
      stdio: ['pipe', 'pipe', 'pipe'],
      windowsHide: true,
    });
    const run: Running = {
      child,
      session: undefined as unknown as http2.ClientHttp2Session,
      pipe: childPipe(child),
      stderrTail: '',
      exited: Promise.resolve(''),
    };
    child.stderr.setEncoding('utf8');
    child.stderr.on('data', (s: string) => {
      run.stderrTail = (run.stderrTail + s).slice(-STDERR_TAIL_CHARS);
    });
    run.exited = new Promise<string>((resolve) => {
      child.on('error', (err: NodeJS.ErrnoException) => {
        // Spawn failed (binary missing): there will be no exit event.
        run.spawnFailed = true;
        run.exitInfo = err.code === 'ENOENT'
          ? `rclone was not found ("${binary}"): install rclone or set its path in the destination's settings`
          : `rclone could not be started (${err.message})`;
        resolve(run.exitInfo);
      });
      child.on('exit', (code, signal) => {
        const tail = this.redact(run.stderrTail.trim());
        run.exitInfo = `rclone exited ${signal ? `on signal ${signal}` : `with code ${String(code)}`}`
          + (tail ? `; its last messages: ${tail.slice(-600)}` : '');
        resolve(run.exitInfo);
      });
    });
    const session = http2.connect('http://localhost', {
      createConnection: () => run.pipe,
      settings: { initialWindowSize: WINDOW_SIZE },
    });
    session.on('error', () => undefined);
    session.on('connect', () => {
      try {
        session.setLocalWindowSize(SESSION_WINDOW_SIZE);
      } catch {
        // Only throughput depends on it.
      }
    });
    run.session = session;
    void run.exited.then(() => {
      // Tearing down the "socket" (not the session) is what fails the streams in flight: see childPipe().
      run.pipe.destroy();
      if (this.running === run) this.running = undefined;
    });
    this.running = run;
    return run;
  }

  async request(req: RestRequest): Promise<RestResponse> {
    const run = this.running && !this.running.session.destroyed && !this.running.session.closed ? this.running : this.start();
    try {
      return await this.exchange(run, req);
    } catch (err) {
      if (err instanceof BackendError || errCode(err) === 'ETIMEDOUT') throw err;
      // Most failures here are rclone going away: give it a moment to exit and say why it did.
      const why = run.exitInfo ?? await Promise.race([run.exited, new Promise<undefined>((r) => setTimeout(() => r(undefined), EXIT_GRACE_MS).unref())]);
      if (run.spawnFailed && why !== undefined) {
        throw new BackendError('other', `cannot use rclone:${redactRemote(this.opts.remote)}: ${why}`);
      }
      if (why !== undefined) throw Object.assign(new Error(why), { code: 'ERCLONE' });
      throw err;
    }
  }

  private exchange(run: Running, req: RestRequest): Promise<RestResponse> {
    const timeoutMs = this.opts.timeoutMs ?? DEFAULT_REST_TIMEOUT_MS;
    return new Promise<RestResponse>((resolve, reject) => {
      const headers: http2.OutgoingHttpHeaders = { ':method': req.method, ':path': `/${req.path}`, ...req.headers };
      let stream: http2.ClientHttp2Stream;
      try {
        stream = run.session.request(headers, { endStream: req.body === undefined });
      } catch (err) {
        reject(err);
        return;
      }
      stream.setTimeout(timeoutMs, () => {
        stream.close(http2.constants.NGHTTP2_CANCEL);
        reject(Object.assign(new Error(`rclone gave no answer for ${Math.round(timeoutMs / 1000)} s`), { code: 'ETIMEDOUT' }));
      });
      stream.on('error', reject);
      // A session torn down under it (rclone gone) closes the stream without an error event.
      let responded = false;
      stream.on('close', () => {
        // After the headers, collectBody() judges whether the body arrived whole.
        if (responded) return;
        reject(Object.assign(new Error(`rclone closed the request (HTTP/2 code ${stream.rstCode})`), { code: 'ECONNRESET' }));
      });
      stream.on('response', (h) => {
        responded = true;
        const out: Record<string, string | undefined> = {};
        for (const [k, v] of Object.entries(h)) {
          if (k.startsWith(':')) continue;
          out[k] = Array.isArray(v) ? v.join(', ') : v === undefined ? undefined : String(v);
        }
        const cl = out['content-length'];
        collectBody(stream, req.method === 'HEAD', cl).then((body) => {
          resolve({ status: Number(h[':status']), headers: out, body });
        }, reject);
      });
      if (req.body !== undefined) stream.end(req.body);
    });
  }

  async close(): Promise<void> {
    this.closed = true;
    const run = this.running;
    if (!run) return;
    await new Promise<void>((resolve) => {
      if (run.session.closed || run.session.destroyed) resolve();
      else run.session.close(() => resolve());
      // Streams still open (an abandoned request) must not hold close() forever.
      setTimeout(() => {
        run.pipe.destroy();
        resolve();
      }, CLOSE_GRACE_MS).unref();
    });
    // rclone returns from serving when its stdin ends, and exits.
    run.child.stdin.end();
    if (run.exitInfo !== undefined) return;
    const timer = setTimeout(() => run.child.kill('SIGKILL'), CLOSE_GRACE_MS);
    try {
      await run.exited;
    } finally {
      clearTimeout(timer);
    }
  }
}

/**
 * rclone's stdout and stdin as the one Duplex an HTTP/2 session needs. Not Duplex.from(): Node wraps
 * a non-socket stream in an internal JSStreamSocket, which asserts (and crashes the process) when a
 * write, such as the RST_STREAM frames of a session being torn down, arrives while the half-close
 * that follows an end-of-file is still pending; and a write blocked on a pipe rclone no longer reads
 * would stay pending forever. So this pipe never reports end-of-file (rclone's stdout ending means
 * rclone is gone, and the pipe is destroyed instead), finishes its half-close at once (ending
 * stdin), and completes a blocked write as soon as stdin closes. Writes still wait for stdin to
 * drain, so memory stays bounded; HTTP/2 flow control bounds what is in flight anyway.
 */
function childPipe(child: ChildProcessWithoutNullStreams): Duplex {
  let blocked: (() => void) | undefined;
  const release = (): void => {
    const cb = blocked;
    blocked = undefined;
    cb?.();
  };
  const pipe = new Duplex({
    read() {
      child.stdout.resume();
    },
    write(chunk: Buffer, _enc, cb) {
      if (child.stdin.destroyed || child.stdin.writableEnded) {
        cb();
        return;
      }
      if (child.stdin.write(chunk)) cb();
      else blocked = cb;
    },
    final(cb) {
      // The session is done: rclone stops serving when its stdin ends, and exits.
      child.stdin.end();
      cb();
    },
    destroy(err, cb) {
      release();
      cb(err);
    },
  });
  child.stdout.on('data', (chunk: Buffer) => {
    if (!pipe.push(chunk)) child.stdout.pause();
  });
  child.stdout.on('end', () => pipe.destroy());
  child.stdin.on('drain', release);
  child.stdin.on('close', release);
  // Broken pipes show up as failed requests, with rclone's exit status in the message.
  child.stdin.on('error', release);
  child.stdout.on('error', () => pipe.destroy());
  pipe.on('error', () => undefined);
  return pipe;
}

export class RcloneBackend extends RestBackend {
  private readonly rclone: RcloneTransport;

  constructor(opts: RcloneBackendOptions) {
    if (!opts.remote) throw new BackendError('other', 'no rclone remote given: write it as remote:path (a remote from `rclone config`)');
    const transport = new RcloneTransport(opts);
    super({ transport, location: `rclone:${redactRemote(opts.remote)}` });
    this.rclone = transport;
  }

  /** The running rclone process's id, or undefined when none runs (not yet started, exited or closed). */
  get pid(): number | undefined {
    return this.rclone.pid;
  }
}
