// A real restic REST server for tests: `rclone serve restic` on 127.0.0.1. rclone picks the free
// port itself (--addr 127.0.0.1:0) and logs it ("Serving restic REST API on http://127.0.0.1:N/"),
// which avoids the race of choosing a port first and binding it later. Resolves once the server
// answers an HTTP request. rclone serves a repository at the root and at any sub-path.
import { spawn } from 'node:child_process';
import http from 'node:http';

export interface RcloneRestServer {
  /** http://127.0.0.1:PORT/ (no credentials). */
  url: string;
  pid: number;
  stop(): Promise<void>;
}

export interface RcloneRestServerOptions {
  root: string;
  appendOnly?: boolean;
  /** Basic auth (rclone --user/--pass). */
  user?: string;
  pass?: string;
  /** Listen on this port (to restart a server where its clients expect it); default: any free port. */
  port?: number;
}

function answers(url: string): Promise<boolean> {
  return new Promise((resolve) => {
    const req = http.get(url, { headers: { accept: 'application/vnd.x.restic.rest.v2' }, agent: false }, (res) => {
      res.resume();
      res.on('end', () => resolve(true));
    });
    req.on('error', () => resolve(false));
  });
}

export async function startRcloneRestServer(opts: RcloneRestServerOptions): Promise<RcloneRestServer> {
  const args = ['serve', 'restic', '--addr', `127.0.0.1:${opts.port ?? 0}`];
  if (opts.appendOnly) args.push('--append-only');
  if (opts.user !== undefined) args.push('--user', opts.user);
  if (opts.pass !== undefined) args.push('--pass', opts.pass);
  args.push(opts.root);
  const child = spawn('rclone', args, { stdio: ['ignore', 'ignore', 'pipe'] });
  let log = '';
  let exited = false;
  const exit = new Promise<void>((resolve) => child.on('exit', () => {
    exited = true;
    resolve();
  }));
  const url = await new Promise<string>((resolve, reject) => {
    child.stderr.setEncoding('utf8');
    child.stderr.on('data', (s: string) => {
      log += s;
      const m = /Serving restic REST API on \[?(http:\/\/127\.0\.0\.1:\d+\/)/.exec(log);
      if (m) resolve(m[1]);
    });
    child.on('error', reject);
    void exit.then(() => reject(new Error(`rclone serve restic exited before serving:\n${log}`)));
  });
  const stop = async (): Promise<void> => {
    if (exited) return;
    child.kill('SIGTERM');
    const timer = setTimeout(() => child.kill('SIGKILL'), 5000);
    await exit;
    clearTimeout(timer);
  };
  for (let i = 0; !(await answers(url)); i++) {
    if (i >= 100 || exited) {
      await stop();
      throw new Error(`rclone serve restic at ${url} does not answer:\n${log}`);
    }
    await new Promise((r) => setTimeout(r, 50));
  }
  return { url, pid: child.pid ?? -1, stop };
}
