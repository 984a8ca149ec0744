// The pieces of `mamori serve [--port N]`: start the headless server, print its address (token
// included) as the very first line of output so scripts and the e2e test can read it, and run until
// interrupted. The engine's ApiHandler is built by the caller (makeServeCommand takes a factory), so
// this file knows the server and the CLI's command shape but not how the engine is assembled.
import { existsSync } from 'node:fs';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { commandHelp, type OptionDefs } from '../cli/args';
import type { Command, Context } from '../cli/context';
import { EXIT_OK } from '../cli/errors';
import { startServer } from './server';
import type { ApiHandler } from './types';

export const serveOptions: OptionDefs = {
  port: { type: 'string', arg: 'N', help: 'port on 127.0.0.1 to listen on (default: any free port)' },
  'static-dir': { type: 'string', arg: 'DIR', help: 'folder of the built user interface (default: renderer/dist of this checkout)' },
};

export const serveHelp = commandHelp(
  'mamori serve [--port N] [--static-dir DIR]',
  `Serves Mamori's user interface and API to your browser on 127.0.0.1 only, and keeps Mamori's
background work running. The first line of output is the address to open, with a one-time token:
  http://127.0.0.1:PORT/?token=TOKEN
Anyone holding that address can control Mamori as you: do not share it. A new token is made on every
start. Stop the server with Ctrl-C.`,
  serveOptions,
);

/** The checkout's built UI folder: <project>/renderer/dist. */
export function defaultStaticDir(): string {
  let dir = dirname(fileURLToPath(import.meta.url));
  for (let i = 0; i < 6; i++) {
    if (existsSync(join(dir, 'package.json')) && existsSync(join(dir, 'renderer'))) return join(dir, 'renderer', 'dist');
    dir = dirname(dir);
  }
  return resolve(dirname(fileURLToPath(import.meta.url)), '..', '..', '..', 'renderer', 'dist');
}

/** --port's value: absent = 0 (any free port); otherwise an integer 0..65535. */
export function parsePort(value: string | undefined): number {
  if (value === undefined || value === '') return 0;
  if (!/^\d{1,5}$/.test(value) || Number(value) > 65535) {
    throw new Error(`--port must be a number from 0 to 65535 (0 = any free port), not ${JSON.stringify(value)}`);
  }
  return Number(value);
}

export interface RunServeOptions {
  handler: ApiHandler;
  port?: number;
  staticDir?: string;
  token?: string;
  /** Writes one line to standard output; the first call is the address. */
  out: (line: string) => void;
  /** Writes one line to standard error (notes for the operator; never the token). */
  err: (line: string) => void;
  /** Aborting stops the server; runServe then resolves. */
  signal: AbortSignal;
  /** Called once the server listens (tests use it to learn the address without parsing output). */
  onListening?: (url: string) => void;
}

/** Starts the server, prints its address first, and resolves after `signal` aborts and the server closed. */
export async function runServe(o: RunServeOptions): Promise<void> {
  if (o.signal.aborted) return;
  const staticDir = o.staticDir ?? defaultStaticDir();
  const server = await startServer({
    handler: o.handler,
    staticDir,
    port: o.port ?? 0,
    token: o.token,
    onInternalError: (method, e) => {
      const msg = e instanceof Error ? e.stack ?? e.message : String(e);
      o.err(`mamori serve: unexpected error in ${method}: ${msg}`);
    },
  });
  o.out(server.url);
  if (!existsSync(join(staticDir, 'index.html'))) {
    o.err(`mamori serve: the user interface is not built (no index.html in ${staticDir}); the API works, pages show how to build it.`);
  }
  o.err('mamori serve: open the address above in your browser; press Ctrl-C to stop.');
  o.onListening?.(server.url);
  await new Promise<void>((resolveWait) => {
    if (o.signal.aborted) resolveWait();
    else o.signal.addEventListener('abort', () => resolveWait(), { once: true });
  });
  await server.close();
}

/**
 * The `serve` command for the CLI's command list. `createHandler` builds the engine's ApiHandler (and
 * starts its background work); the returned dispose, if any, runs when the server has stopped.
 */
export function makeServeCommand(createHandler: (ctx: Context) => Promise<{ handler: ApiHandler; dispose?: () => unknown }>): Command {
  return {
    name: 'serve',
    summary: 'serve the user interface to your browser on 127.0.0.1 (headless mode)',
    options: serveOptions,
    help: serveHelp,
    async run(ctx) {
      let port: number;
      try {
        port = parsePort(ctx.args.str('port'));
      } catch (e) {
        throw ctx.usage((e as Error).message);
      }
      const staticDir = ctx.args.str('static-dir');
      const { handler, dispose } = await createHandler(ctx);
      if (dispose) ctx.defer(dispose);
      await runServe({
        handler,
        port,
        staticDir: staticDir ? resolve(staticDir) : undefined,
        out: (line) => void ctx.streams.stdout.write(line + '\n'),
        err: (line) => void ctx.streams.stderr.write(line + '\n'),
        signal: ctx.signal,
      });
      return EXIT_OK;
    },
  };
}
