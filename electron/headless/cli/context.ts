// What every command gets: its parsed arguments, output, the interrupt signal, and helpers to open
// the repository the same way everywhere (location, password, test-only KDF).
import { ErrorCode, MamoriError } from '../../../shared/errors';
import {
  EnvSecretStore,
  KeyringSecretStore,
  mamoriHome,
  openLocation,
  openStateDb,
  PasswordFileStore,
  Repository,
  SecretChain,
  StateStore,
  type Backend,
  type KdfParams,
  type SecretStore,
  type Services,
} from '../../engine/index';
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

  /** Mamori's state (MAMORI_HOME or the app data folder), opened once per command. */
  private services?: Services;

  async state(): Promise<Services> {
    if (this.services) return this.services;
    const opened = openStateDb(mamoriHome(this.env));
    this.defer(() => opened.db.close());
    if (opened.movedAside) {
      this.out.err(`warning: the state database was damaged; it was moved to ${opened.movedAside} and a new one started.`);
      this.out.err('Your backups are untouched: add your destinations again ("mamori destination add") to see every restore point.');
    }
    const store = new StateStore(opened.db);
    this.services = {
      store,
      secrets: await this.secretStore(),
      ...(testKdf(this.env) ? { kdf: testKdf(this.env) } : {}),
      onNewHostKey: (fp, host) => this.acceptHostKey(fp, host),
    };
    return this.services;
  }

  /** Environment first, then --password-file for repository passwords, then the desktop keyring if there is one. */
  async secretStore(): Promise<SecretStore> {
    const stores: SecretStore[] = [new EnvSecretStore(this.env)];
    const file = this.args.str('password-file');
    if (file) stores.push(new PasswordFileStore(file, (n) => n === 'repository-password' || n.endsWith('/password')));
    if (this.env.MAMORI_NO_KEYRING !== '1' && (await KeyringSecretStore.available())) stores.push(new KeyringSecretStore());
    return new SecretChain(stores);
  }

  /**
   * SSH host keys are pinned on first use, as ssh does: the fingerprint is shown and remembered in
   * the state database; a changed key is refused by the SFTP backend itself.
   */
  acceptHostKey(fingerprint: string, host: string): boolean {
    this.out.err(`The SSH server ${host} presents the host key ${fingerprint}; Mamori will trust this key from now on.`);
    this.out.err('If this is not the fingerprint your server administrator gave you, stop now and remove the destination.');
    return this.env.MAMORI_SFTP_REFUSE_NEW_HOST_KEYS !== '1';
  }

  /** The backend of --repo in restic's location syntax; SFTP host keys are pinned in the state database. */
  async openBackend(): Promise<Backend> {
    const location = this.repoLocation();
    const remote = /^(sftp|s3|rest|rclone):/.test(location);
    const services = remote ? await this.state() : undefined;
    const pins = services?.store.getSetting<Record<string, string>>('knownHosts') ?? {};
    const { backend, hostKey } = await openLocation(location, {
      secrets: services?.secrets ?? new EnvSecretStore(this.env),
      ...(pins[location] ? { hostKey: pins[location] } : {}),
      onNewHostKey: (fp, host) => this.acceptHostKey(fp, host),
    });
    this.defer(async () => {
      const fp = hostKey?.();
      if (services && fp && !pins[location]) services.store.setSetting('knownHosts', { ...pins, [location]: fp });
      await backend.close();
    });
    return backend;
  }

  /** Opens the repository named on the command line; its backend is closed when the command ends. */
  async openRepository(): Promise<Repository> {
    const backend = await this.openBackend();
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
