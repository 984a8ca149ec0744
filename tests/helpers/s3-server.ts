// A real S3 server for tests: Ceph radosgw on a throwaway single-node cluster, started through
// ../shared/tools/s3-server-ceph.sh (its header documents the details) in a fresh temporary folder on
// a free 127.0.0.1 port. Starting takes a few seconds, so a test file starts one and separates its
// tests by bucket or prefix. Missing ../shared or radosgw skips loudly; under CI both are required.
// If the test process dies without calling stop(), an exit hook still stops the daemons.
import { execFile, spawnSync } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { createServer } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { needTool, sharedFixture } from './tools';

export interface S3Server {
  /** http://127.0.0.1:PORT */
  endpoint: string;
  accessKeyId: string;
  secretAccessKey: string;
  region: string;
  stop(): Promise<void>;
}

const REGION = 'us-east-1';

/** A TCP port that is free right now on 127.0.0.1 (the kernel's choice). */
export function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const srv = createServer();
    srv.once('error', reject);
    srv.listen(0, '127.0.0.1', () => {
      const addr = srv.address();
      const port = typeof addr === 'object' && addr ? addr.port : 0;
      srv.close(() => (port ? resolve(port) : reject(new Error('no port assigned'))));
    });
  });
}

function run(cmd: string, args: string[], env: NodeJS.ProcessEnv, timeoutMs: number): Promise<{ code: number; stdout: string; stderr: string }> {
  return new Promise((resolve) => {
    execFile(cmd, args, { env, timeout: timeoutMs, maxBuffer: 16 * 1024 * 1024, encoding: 'utf8' }, (err, stdout, stderr) => {
      const code = err ? (typeof err.code === 'number' ? err.code : -1) : 0;
      resolve({ code, stdout, stderr });
    });
  });
}

export async function startS3Server(): Promise<S3Server | { skip: string }> {
  const script = sharedFixture('tools/s3-server-ceph.sh');
  if (script.skip !== undefined) return { skip: script.skip };
  const skip = needTool('radosgw', 'apt-get install ceph-mon ceph-osd radosgw');
  if (skip) return { skip };

  const env = { ...process.env, S3_REGION: REGION };
  // The port is free when chosen but could be taken before radosgw binds it: one more try then.
  let lastError = '';
  for (let attempt = 0; attempt < 2; attempt++) {
    const root = mkdtempSync(join(tmpdir(), 'mamori-s3-'));
    const dir = join(root, 'ceph');
    const port = await freePort();
    let stopped = false;
    const stopSync = () => {
      if (stopped) return;
      stopped = true;
      spawnSync(script.path, ['stop', dir], { stdio: 'ignore', timeout: 60_000 });
      rmSync(root, { recursive: true, force: true });
    };
    process.once('exit', stopSync);
    const r = await run(script.path, ['start', dir, String(port)], env, 240_000);
    if (r.code !== 0) {
      stopSync();
      process.removeListener('exit', stopSync);
      lastError = `s3-server-ceph.sh start failed (exit ${r.code}):\n${r.stderr.split('\n').slice(-40).join('\n')}`;
      if (/already in use/.test(r.stderr)) continue;
      break;
    }
    const vars = new Map<string, string>();
    for (const line of r.stdout.split('\n')) {
      const m = /^([A-Z0-9_]+)=(.*)$/.exec(line.trim());
      if (m) vars.set(m[1], m[2]);
    }
    const endpoint = vars.get('S3_ENDPOINT');
    const accessKeyId = vars.get('AWS_ACCESS_KEY_ID');
    const secretAccessKey = vars.get('AWS_SECRET_ACCESS_KEY');
    if (!endpoint || !accessKeyId || !secretAccessKey) {
      stopSync();
      process.removeListener('exit', stopSync);
      throw new Error(`s3-server-ceph.sh printed no S3_ENDPOINT/AWS_ACCESS_KEY_ID/AWS_SECRET_ACCESS_KEY lines:\n${r.stdout}`);
    }
    return {
      endpoint,
      accessKeyId,
      secretAccessKey,
      region: REGION,
      async stop() {
        if (stopped) return;
        stopped = true;
        process.removeListener('exit', stopSync);
        const s = await run(script.path, ['stop', dir], env, 120_000);
        rmSync(root, { recursive: true, force: true });
        if (s.code !== 0) throw new Error(`s3-server-ceph.sh stop failed (exit ${s.code}): ${s.stderr}`);
      },
    };
  }
  throw new Error(lastError);
}
