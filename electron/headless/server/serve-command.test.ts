// `mamori serve`'s pieces: the address is the very first line of output and works, --port parsing,
// and the server stops when the run is interrupted.
import assert from 'node:assert/strict';
import { PassThrough } from 'node:stream';
import { describe, test } from 'node:test';
import { parseCommandArgs } from '../cli/args';
import { Context } from '../cli/context';
import { Output } from '../cli/output';
import { makeServeCommand, parsePort, runServe } from './serve-command';
import { FakeHandler, makeUiDir, raw } from './test-support';

describe('mamori serve', () => {
  test('prints the address first, serves with it, and stops on abort', async () => {
    const dir = makeUiDir();
    const out: string[] = [];
    const err: string[] = [];
    const controller = new AbortController();
    let listening!: (url: string) => void;
    const ready = new Promise<string>((r) => (listening = r));
    const run = runServe({ handler: new FakeHandler(), staticDir: dir.ui, port: 0, out: (l) => out.push(l), err: (l) => err.push(l), signal: controller.signal, onListening: listening });
    try {
      const url = await ready;
      assert.equal(out[0], url);
      assert.equal(out.length, 1, 'nothing else on stdout');
      const m = /^http:\/\/127\.0\.0\.1:(\d+)\/\?token=([A-Za-z0-9_-]{43})$/.exec(out[0]);
      assert.ok(m, out[0]);
      assert.ok(!err.join('\n').includes(m[2]), 'the token is printed once, on stdout only');
      const port = Number(m[1]);
      const login = await raw({ port, path: `/?token=${m[2]}` });
      assert.equal(login.status, 303);
      controller.abort();
      await run;
      await assert.rejects(raw({ port, path: '/' }), /ECONNREFUSED/);
    } finally {
      controller.abort();
      await run;
      dir.cleanup();
    }
  });

  test('says when the UI is not built', async () => {
    const dir = makeUiDir(false);
    const err: string[] = [];
    const controller = new AbortController();
    const run = runServe({ handler: new FakeHandler(), staticDir: dir.ui, out: () => undefined, err: (l) => err.push(l), signal: controller.signal, onListening: () => controller.abort() });
    await run;
    dir.cleanup();
    assert.match(err.join('\n'), /not built/);
  });

  test('as a CLI command: --port and --static-dir are used, dispose runs after the server stops', async () => {
    const dir = makeUiDir();
    let disposed = false;
    const command = makeServeCommand(async () => ({ handler: new FakeHandler(), dispose: () => void (disposed = true) }));
    const stdout = new PassThrough();
    const stderr = new PassThrough();
    const streams = { stdout, stderr, stdin: new PassThrough() };
    const args = parseCommandArgs(['--port', '0', '--static-dir', dir.ui], command.options, command.help);
    const controller = new AbortController();
    const ctx: Context = new Context(command, args, streams, {}, controller.signal, new Output(streams, false, false, () => ctx.clearProgress()));
    const firstLine = new Promise<string>((resolve) => {
      let buf = '';
      stdout.on('data', (c: Buffer) => {
        buf += c.toString('utf8');
        if (buf.includes('\n')) resolve(buf.split('\n')[0]);
      });
    });
    const run = command.run(ctx);
    try {
      const url = new URL(await firstLine);
      const page = await raw({ port: Number(url.port), path: '/assets/app.js', headers: { Authorization: `Bearer ${url.searchParams.get('token')}` } });
      assert.equal(page.status, 200, 'serves the given --static-dir');
      controller.abort();
      assert.equal(await run, 0);
      await ctx.cleanup();
      assert.ok(disposed);
      const bad = makeServeCommand(async () => assert.fail('no handler is built for a bad --port'));
      const badArgs = parseCommandArgs(['--port', 'http'], bad.options, bad.help);
      const badCtx: Context = new Context(bad, badArgs, streams, {}, controller.signal, new Output(streams, false, false, () => badCtx.clearProgress()));
      await assert.rejects(bad.run(badCtx), /--port must be a number/);
    } finally {
      controller.abort();
      await run.catch(() => undefined);
      dir.cleanup();
    }
  });

  test('--port accepts 0..65535 only', () => {
    assert.equal(parsePort(undefined), 0);
    assert.equal(parsePort('0'), 0);
    assert.equal(parsePort('8123'), 8123);
    assert.equal(parsePort('65535'), 65535);
    for (const bad of ['65536', '-1', '80a', ' 80', '1e3', '0x50']) assert.throws(() => parsePort(bad), /--port/, bad);
  });
});
