// How the CLI turns failures into words and exit codes.
//
// Exit codes (restic's, so scripts written for restic keep working):
//   0   success
//   1   failure: usage errors, MamoriError of any code (wrong password, not a repository, locked,
//       damaged repository found by check, files that could not be restored...), unexpected errors
//   3   backup finished but some source files could not be read (the snapshot holds the rest)
//   130 interrupted by Ctrl-C (SIGINT), 143 by SIGTERM
import { isMamoriError } from '../../../shared/errors';

export const EXIT_OK = 0;
export const EXIT_FAILURE = 1;
export const EXIT_PARTIAL = 3;
export const EXIT_SIGINT = 130;
export const EXIT_SIGTERM = 143;

/** A malformed command line: the message plus a short usage is printed, exit 1. */
export class UsageError extends Error {
  constructor(
    message: string,
    /** The usage text to show with it (the command's, or the global one). */
    readonly usage?: string,
  ) {
    super(message);
    this.name = 'UsageError';
  }
}

/** Thrown when the user interrupted (Ctrl-C at a prompt, or an aborted operation). */
export class InterruptedError extends Error {
  constructor(message = 'interrupted') {
    super(message);
    this.name = 'InterruptedError';
  }
}

export function isAbortError(e: unknown): boolean {
  return e instanceof InterruptedError || (e instanceof Error && (e.name === 'AbortError' || (e as { code?: string }).code === 'ABORT_ERR'));
}

/** Prints an error to `err` the way every command does and returns the exit code. */
export function reportError(e: unknown, err: (line: string) => void, env: NodeJS.ProcessEnv): number {
  if (e instanceof UsageError) {
    err(`mamori: ${e.message}`);
    if (e.usage) {
      err('');
      err(e.usage.trimEnd());
    }
    return EXIT_FAILURE;
  }
  if (isMamoriError(e)) {
    err(`mamori: ${e.message}`);
    if (e.hint) err(e.hint);
    if (env.MAMORI_DEBUG === '1' && e.stack) err(e.stack);
    return EXIT_FAILURE;
  }
  const message = e instanceof Error ? e.message : String(e);
  err(`mamori: unexpected error: ${message}`);
  if (env.MAMORI_DEBUG === '1' && e instanceof Error && e.stack) err(e.stack);
  else err('This is probably a bug in Mamori. Run again with MAMORI_DEBUG=1 to see where it happened, and report it.');
  return EXIT_FAILURE;
}
