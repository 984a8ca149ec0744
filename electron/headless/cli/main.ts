// The `mamori` command line: dispatches to one file per command in ./commands. It imports the engine
// only through electron/engine/index.ts. Exit codes are listed in ./errors.ts.
import { readFileSync } from 'node:fs';
import { GLOBAL_OPTIONS, describeOptions, parseCommandArgs, splitCommand } from './args';
import { backup } from './commands/backup';
import { check } from './commands/check';
import { init } from './commands/init';
import { key } from './commands/key';
import { ls } from './commands/ls';
import { restore } from './commands/restore';
import { snapshots } from './commands/snapshots';
import { source } from './commands/source';
import { status } from './commands/status';
import { destination } from './commands/destination';
import { unlock } from './commands/unlock';
import { Context, testKdf, type Command } from './context';
import { createAppService, mamoriHome } from '../../engine/index';
import { makeServeCommand } from '../server/serve-command';
import { EXIT_OK, EXIT_SIGINT, EXIT_SIGTERM, isAbortError, reportError, UsageError } from './errors';
import { Output, type Streams } from './output';

/** mamori serve: the UI and API for a browser, backed by the same app service as the desktop app. */
const serve = makeServeCommand(async (ctx) => {
  const kdf = testKdf(ctx.env);
  const app = await createAppService({ home: mamoriHome(ctx.env), env: ctx.env, ...(kdf ? { kdf } : {}) });
  return { handler: app, dispose: () => app.close() };
});

const COMMANDS: Command[] = [source, destination, backup, status, serve, init, snapshots, ls, restore, check, key, unlock];
const EXIT_EPIPE = 141; // 128 + SIGPIPE, what a shell reports for `... | head`

export function globalHelp(): string {
  const w = Math.max(...COMMANDS.map((c) => c.name.length));
  return `Usage: mamori COMMAND [options]

Mamori keeps encrypted, verified backups in restic's repository format.

Commands:
${COMMANDS.map((c) => `  ${c.name.padEnd(w)}  ${c.summary}`).join('\n')}

Global options:
${describeOptions(GLOBAL_OPTIONS)}
      --version            print the version

Environment: MAMORI_HOME (state folder), MAMORI_REPOSITORY, MAMORI_PASSWORD, MAMORI_NEW_PASSWORD,\nAWS_ACCESS_KEY_ID, AWS_SECRET_ACCESS_KEY, MAMORI_SFTP_PASSWORD, MAMORI_DEBUG=1 (stack traces).
Run "mamori COMMAND --help" for a command's options.
`;
}

function shortUsage(): string {
  return `Usage: mamori COMMAND [options]   (commands: ${COMMANDS.map((c) => c.name).join(', ')})
Run "mamori --help" for more.`;
}

export function version(): string {
  try {
    const pkg = JSON.parse(readFileSync(new URL('../../../package.json', import.meta.url), 'utf8')) as { version?: string };
    return pkg.version ?? 'unknown';
  } catch {
    return 'unknown';
  }
}

export interface MainIo {
  streams?: Streams;
  env?: NodeJS.ProcessEnv;
}

export async function main(argv: string[], io: MainIo = {}): Promise<number> {
  const streams: Streams = io.streams ?? { stdout: process.stdout, stderr: process.stderr, stdin: process.stdin };
  const env = io.env ?? process.env;
  const errLine = (l: string): void => void streams.stderr.write(l + '\n');

  // ---- which command ---------------------------------------------------------------------------
  let { command: name, rest } = splitCommand(argv);
  if (name === 'help') {
    name = splitCommand(rest).command;
    rest = ['--help'];
    if (!name) {
      streams.stdout.write(globalHelp());
      return EXIT_OK;
    }
  }
  if (!name) {
    if (rest.includes('--version')) {
      streams.stdout.write(`mamori ${version()}\n`);
      return EXIT_OK;
    }
    if (rest.includes('--help') || rest.includes('-h')) {
      streams.stdout.write(globalHelp());
      return EXIT_OK;
    }
    return reportError(new UsageError(rest.length ? `no command given (${rest.join(' ')})` : 'no command given', shortUsage()), errLine, env);
  }
  const command = COMMANDS.find((c) => c.name === name);
  if (!command) return reportError(new UsageError(`unknown command "${name}"`, shortUsage()), errLine, env);

  let args;
  try {
    args = parseCommandArgs(rest, command.options, command.help);
  } catch (e) {
    return reportError(e, errLine, env);
  }
  if (args.bool('help')) {
    streams.stdout.write(command.help);
    return EXIT_OK;
  }

  // ---- interrupts: the first Ctrl-C stops the work and releases the lock, a second one quits now --
  const controller = new AbortController();
  const out = new Output(streams, args.bool('json'), args.bool('quiet'), () => ctx.clearProgress());
  const ctx = new Context(command, args, streams, env, controller.signal, out);
  let interruptCode = 0;
  const onSignal = (signal: NodeJS.Signals): void => {
    if (interruptCode) {
      errLine('mamori: interrupted again, quitting now (the repository may keep a stale lock)');
      process.exit(interruptCode);
    }
    interruptCode = signal === 'SIGTERM' ? EXIT_SIGTERM : EXIT_SIGINT;
    ctx.clearProgress();
    errLine('\nmamori: interrupted: stopping and releasing the repository lock (press Ctrl-C again to quit at once)');
    controller.abort(new Error('interrupted'));
  };
  let brokenPipe = false;
  const onStdoutError = (e: NodeJS.ErrnoException): void => {
    if (e.code === 'EPIPE') {
      brokenPipe = true;
      controller.abort(new Error('stdout closed'));
    }
  };
  process.on('SIGINT', onSignal);
  process.on('SIGTERM', onSignal);
  streams.stdout.on('error', onStdoutError);

  try {
    return await command.run(ctx);
  } catch (e) {
    if (brokenPipe) return EXIT_EPIPE;
    if (controller.signal.aborted && (interruptCode || isAbortError(e))) {
      errLine('mamori: interrupted');
      return interruptCode || EXIT_SIGINT;
    }
    if (isAbortError(e)) {
      errLine('mamori: interrupted');
      return EXIT_SIGINT;
    }
    ctx.clearProgress();
    return reportError(e, errLine, env);
  } finally {
    await ctx.cleanup();
    process.removeListener('SIGINT', onSignal);
    process.removeListener('SIGTERM', onSignal);
    streams.stdout.removeListener('error', onStdoutError);
  }
}
