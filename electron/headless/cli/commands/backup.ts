// mamori backup: back up files and folders into a new snapshot.
// Exit 0 when everything was read, 3 when some source files could not be (the snapshot holds the
// rest; each one is listed on stderr with the reason), 1 on failure.
import { lstat } from 'node:fs/promises';
import { resolve } from 'node:path';
import { ErrorCode, MamoriError } from '../../../../shared/errors';
import { backup as runBackup } from '../../../engine/index';
import { commandHelp, type OptionDefs } from '../args';
import type { Command } from '../context';
import { EXIT_OK, EXIT_PARTIAL } from '../errors';
import { formatBytes, formatDuration, plural, shortId } from '../output';

const options: OptionDefs = {
  tag: { type: 'string', multiple: true, arg: 'TAG', help: 'add a tag to the snapshot ("a,b" adds two)' },
  host: { type: 'string', arg: 'HOST', help: 'host name recorded in the snapshot (default: this computer\'s)' },
};

export const backup: Command = {
  name: 'backup',
  summary: 'back up files and folders',
  options,
  help: commandHelp(
    'mamori backup --repo PATH [--tag TAG]... [--host HOST] SOURCE...',
    `Saves the SOURCE files and folders as a new snapshot. Unchanged files are not read again when an
earlier snapshot of the same paths and host exists.
Exit status: 0 done, 3 done but some files could not be read (listed on stderr), 1 failed.`,
    options,
  ),
  async run(ctx) {
    const sources = ctx.args.positionals;
    if (sources.length === 0) throw ctx.usage('nothing to back up: give at least one file or folder');
    const paths = sources.map((p) => resolve(p));
    const missing: string[] = [];
    for (const p of paths) {
      try {
        await lstat(p);
      } catch (e) {
        if ((e as NodeJS.ErrnoException).code === 'ENOENT' || (e as NodeJS.ErrnoException).code === 'ENOTDIR') missing.push(p);
        else throw new MamoriError(ErrorCode.SourceUnreadable, `cannot read ${p}: ${(e as Error).message}`, { subject: p });
      }
    }
    if (missing.length) {
      throw new MamoriError(ErrorCode.PathNotFound, `${missing.length === 1 ? 'source does' : 'sources do'} not exist: ${missing.join(', ')}`, {
        subject: missing[0],
        hint: 'Check the spelling, and that the drive holding it is connected.',
      });
    }
    const tags = ctx.args.list('tag').flatMap((t) => t.split(',')).map((t) => t.trim()).filter(Boolean);
    const hostname = ctx.args.str('host');

    const repo = await ctx.openRepository();
    const progress = ctx.progress();
    const started = Date.now();
    const result = await ctx.locked(repo, false, () =>
      runBackup(repo, {
        paths,
        tags,
        ...(hostname ? { hostname } : {}),
        signal: ctx.signal,
        onProgress: (p) =>
          progress.update({
            filesDone: p.filesDone,
            filesTotal: p.filesTotal,
            bytesDone: p.bytesDone,
            bytesTotal: p.bytesTotal,
            totalsFinal: p.scanDone,
            current: p.currentPath,
          }),
      }),
    );
    progress.done();
    const seconds = (Date.now() - started) / 1000;

    for (const e of result.errors) ctx.out.err(`error: ${e.path}: ${e.message}`);
    const filesProcessed = result.filesNew + result.filesChanged + result.filesUnmodified;
    if (ctx.json) {
      ctx.out.jsonLine({
        message_type: 'summary',
        files_new: result.filesNew,
        files_changed: result.filesChanged,
        files_unmodified: result.filesUnmodified,
        dirs: result.dirs,
        data_blobs_added: result.blobsAdded,
        data_added: result.bytesAdded,
        total_files_processed: filesProcessed,
        total_bytes_processed: result.bytesRead,
        total_duration: seconds,
        snapshot_id: result.snapshotId,
        errors: result.errors.map((e) => ({ path: e.path, message: e.message })),
      });
    } else if (!ctx.out.quiet) {
      const n = (v: number): string => String(v).padStart(5);
      ctx.out.text(`Files:       ${n(result.filesNew)} new, ${n(result.filesChanged)} changed, ${n(result.filesUnmodified)} unmodified`);
      ctx.out.text(`Dirs:        ${n(result.dirs)}`);
      ctx.out.text(`Added to the repository: ${formatBytes(result.bytesAdded)}`);
      ctx.out.text('');
      ctx.out.text(`processed ${plural(filesProcessed, 'file')}, ${formatBytes(result.bytesRead)} in ${formatDuration(seconds)}`);
      ctx.out.text(`snapshot ${shortId(result.snapshotId)} saved`);
    }
    if (result.errors.length) {
      ctx.out.err(`Warning: ${plural(result.errors.length, 'source file')} could not be read; the snapshot holds everything else.`);
      return EXIT_PARTIAL;
    }
    return EXIT_OK;
  },
};
