// What every command gets: its parsed arguments, output, the interrupt signal, and helpers to open
// the repository the same way everywhere (location, password, test-only KDF).
import { ErrorCode, MamoriError } from '../../../shared/errors';
import { openBackend, Repository, type KdfParams } from '../../engine/index';
import type { OptionDefs, ParsedArgs } from './args';
import { InterruptedError, UsageError } from './errors';
import type { Output, Streams } from './output';
import { readPassword } from './password';
import { ProgressLine } from './progress';

export interface Command {
  name: string;
  /** One line for the command list. */
  summary: string;
  /** Full help text (mamori COMMAND --help); also shown after a usage error. */
  help: string;
  options: OptionDefs;
  run(ctx: Context): Promise<number>;
}

export class Context {
  private readonly cleanups: (() => unknown)[] = [];
  private current: ProgressLine | undefined;

  constructor(
    readonly command: Command,
    readonly args: ParsedArgs,
    readonly streams: Streams,
    readonly env: NodeJS.ProcessEnv,
    readonly signal: AbortSignal,
    readonly out: Output,
  ) {}

  get json(): boolean {
    return this.out.json;
  }

  /** A usage error for this command (message + its help). */
  usage(message: string): UsageError {
    return new UsageError(message, this.command.help);
  }

  /** Runs fn when the command ends, whatever happens (last registered, first run). */
  defer(fn: () => unknown): void {
    this.cleanups.push(fn);
  }

  async cleanup(): Promise<void> {
    this.current?.done();
    while (this.cleanups.length) {
      const fn = this.cleanups.pop()!;
      try {
        await fn();
      } catch {
        /* best effort: the command's own result matters more */
      }
    }
  }

  /** A progress line on stderr: drawn only when stderr is a terminal and --quiet is not given. */
  progress(): ProgressLine {
    this.current?.done();
    const enabled = this.streams.stderr.isTTY === true && !this.out.quiet && this.env.TERM !== 'dumb';
    this.current = new ProgressLine(this.streams.stderr, enabled);
    return this.current;
  }

  /** Clears the progress line so a warning does not end up glued to it. */
  clearProgress(): void {
    this.current?.clear();
  }

  throwIfAborted(): void {
    if (this.signal.aborted) throw new InterruptedError();
  }

  /** --repo, or MAMORI_REPOSITORY; a usage error if neither is given. */
  repoLocation(): string {
    const loc = this.args.str('repo') ?? this.env.MAMORI_REPOSITORY;
    if (!loc) throw this.usage('no repository given: use --repo PATH or set MAMORI_REPOSITORY');
    return loc;
  }

  /** The password of the repository (see password.ts for the sources, in order). */
  password(location: string, confirm = false): Promise<string> {
    return readPassword(
      {
        file: this.args.str('password-file'),
        envValue: this.env.MAMORI_PASSWORD,
        envName: 'MAMORI_PASSWORD',
        fileFlag: '--password-file',
        prompt: confirm ? `enter a password for the new repository ${location}` : `enter password for repository ${location}`,
        confirm,
      },
      this.streams,
      this.signal,
    );
  }

  /** Opens the repository named on the command line; its backend is closed when the command ends. */
  async openRepository(): Promise<Repository> {
    const backend = openBackend(this.repoLocation());
    this.defer(() => backend.close());
    const password = await this.password(backend.location);
    this.throwIfAborted();
    return Repository.open(backend, password);
  }

  /** Loads the index; a damaged index file is not fatal for reading, but the user should know. */
  async loadIndex(repo: Repository): Promise<void> {
    const problems = await repo.loadIndex();
    for (const p of problems) this.out.err(`warning: index ${p.index.slice(0, 8)} cannot be read (${p.error}); run "mamori check"`);
  }

  /** Runs fn under a repository lock; the lock is released even on Ctrl-C (fn sees ctx.signal). */
  locked<T>(repo: Repository, exclusive: boolean, fn: () => Promise<T>): Promise<T> {
    this.throwIfAborted();
    return repo.withLock(exclusive, async () => {
      this.throwIfAborted();
      return fn();
    });
  }
}

/**
 * TEST-ONLY: MAMORI_TEST_KDF="N,r,p" (e.g. "1024,8,1") makes init and key add/passwd derive keys with
 * cheap scrypt parameters so test suites do not spend seconds per key. Never set it for real
 * repositories: such keys are fast to brute-force. Unset, the engine's default (restic's) is used.
 */
export function testKdf(env: NodeJS.ProcessEnv): KdfParams | undefined {
  const v = env.MAMORI_TEST_KDF;
  if (!v) return undefined;
  const m = /^\s*(\d+)\s*,\s*(\d+)\s*,\s*(\d+)\s*$/.exec(v);
  const [N, r, p] = m ? [Number(m[1]), Number(m[2]), Number(m[3])] : [0, 0, 0];
  if (!m || N < 2 || (N & (N - 1)) !== 0 || r < 1 || p < 1) {
    throw new MamoriError(ErrorCode.InvalidRequest, `MAMORI_TEST_KDF must be "N,r,p" with N a power of two, e.g. "1024,8,1" (got "${v}")`, {
      hint: 'Unset MAMORI_TEST_KDF: it is meant for test suites only.',
    });
  }
  return { N, r, p };
}
