// Where the CLI gets passwords from, in this order:
//   1. a file named on the command line (--password-file / --new-password-file): its first line,
//      without the trailing newline (\n or \r\n);
//   2. the environment (MAMORI_PASSWORD / MAMORI_NEW_PASSWORD);
//   3. a prompt on the terminal, without echo, when stdin is a TTY (twice for a new password);
// otherwise a clear error saying how to give one. A password is never printed or logged.
import { readFile } from 'node:fs/promises';
import { ErrorCode, MamoriError } from '../../../shared/errors';
import { InterruptedError } from './errors';
import type { Streams } from './output';

export interface PasswordSource {
  /** Path from --password-file (or --new-password-file). */
  file?: string;
  /** Value of the environment variable (MAMORI_PASSWORD or MAMORI_NEW_PASSWORD). */
  envValue?: string;
  envName: string;
  fileFlag: string;
  /** Prompt text; with `confirm`, asked twice and both must match. */
  prompt: string;
  confirm?: boolean;
}

export async function readPassword(src: PasswordSource, streams: Streams, signal?: AbortSignal): Promise<string> {
  if (src.file !== undefined) return readPasswordFile(src.file, src.fileFlag);
  if (src.envValue !== undefined && src.envValue !== '') return src.envValue;
  if (streams.stdin.isTTY && typeof streams.stdin.setRawMode === 'function') {
    const first = await promptHidden(streams, `${src.prompt}: `, signal);
    if (!first) throw new MamoriError(ErrorCode.InvalidRequest, 'an empty password is not allowed');
    if (src.confirm) {
      const again = await promptHidden(streams, `${src.prompt} again: `, signal);
      if (again !== first) {
        throw new MamoriError(ErrorCode.InvalidRequest, 'the passwords do not match', { hint: 'Run the command again and type the same password twice.' });
      }
    }
    return first;
  }
  throw new MamoriError(ErrorCode.InvalidRequest, `no password given (${src.envName} is not set and stdin is not a terminal)`, {
    hint: `Set ${src.envName}, or use ${src.fileFlag} FILE (first line of FILE), or run the command in a terminal to be asked.`,
  });
}

async function readPasswordFile(path: string, flag: string): Promise<string> {
  let text: string;
  try {
    text = await readFile(path, 'utf8');
  } catch (e) {
    const code = (e as NodeJS.ErrnoException).code;
    throw new MamoriError(
      code === 'ENOENT' ? ErrorCode.PathNotFound : ErrorCode.InvalidRequest,
      `cannot read the password file ${path} (${flag}): ${code === 'ENOENT' ? 'it does not exist' : (e as Error).message}`,
      { subject: path, hint: 'Check the path given to ' + flag + '.' },
    );
  }
  const nl = text.indexOf('\n');
  let pw = nl === -1 ? text : text.slice(0, nl);
  if (pw.endsWith('\r')) pw = pw.slice(0, -1);
  if (!pw) throw new MamoriError(ErrorCode.InvalidRequest, `the password file ${path} is empty (its first line is the password)`, { subject: path });
  return pw;
}

/** Reads one line from the terminal with echo off. Ctrl-C cancels (InterruptedError). */
function promptHidden(streams: Streams, prompt: string, signal?: AbortSignal): Promise<string> {
  const stdin = streams.stdin as NodeJS.ReadStream;
  return new Promise<string>((resolve, reject) => {
    let buf = '';
    const finish = (err: Error | undefined, value?: string): void => {
      stdin.removeListener('data', onData);
      signal?.removeEventListener('abort', onAbort);
      try {
        stdin.setRawMode(false);
      } catch {
        /* the terminal went away */
      }
      stdin.pause();
      streams.stderr.write('\n');
      if (err) reject(err);
      else resolve(value ?? '');
    };
    const onAbort = (): void => finish(new InterruptedError());
    const onData = (chunk: Buffer | string): void => {
      for (const ch of chunk.toString()) {
        if (ch === '\r' || ch === '\n') return finish(undefined, buf);
        if (ch === '\u0003') return finish(new InterruptedError()); // Ctrl-C
        if (ch === '\u0004') return finish(undefined, buf); // Ctrl-D
        if (ch === '\u007f' || ch === '\b') {
          buf = Array.from(buf).slice(0, -1).join('');
          continue;
        }
        if (ch === '\u0015') {
          buf = ''; // Ctrl-U
          continue;
        }
        if (ch < ' ') continue;
        buf += ch;
      }
    };
    if (signal?.aborted) return reject(new InterruptedError());
    streams.stderr.write(prompt);
    stdin.setRawMode(true);
    stdin.on('data', onData);
    stdin.resume();
    signal?.addEventListener('abort', onAbort, { once: true });
  });
}
