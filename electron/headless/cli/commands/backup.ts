// mamori backup: back up files and folders into a new snapshot.
// Exit 0 when everything was read, 3 when some source files could not be (the snapshot holds the
// rest; each one is listed on stderr with the reason), 1 on failure.
import { lstat } from 'node:fs/promises';
import { resolve } from 'node:path';
import { ErrorCode, MamoriError } from '../../../../shared/errors';
import { backup as runBackup, backupSource } from '../../../engine/index';
import { commandHelp, type OptionDefs } from '../args';
import type { Command, Context } from '../context';
import { EXIT_OK, EXIT_PARTIAL } from '../errors';
import { formatBytes, formatDuration, plural, shortId } from '../output';

const options: OptionDefs = {
  source: { type: 'string', multiple: true, arg: 'NAME', help: 'without --repo: only this source (repeatable; default all)' },
  to: { type: 'string', multiple: true, arg: 'DEST', help: 'without --repo: only this destination (repeatable; default all of the source\'s)' },
  retries: { type: 'string', arg: 'N', help: 'without --repo: passes for destinations that dropped out mid-run (default 2, after 30 s and 2 min)' },
  tag: { type: 'string', multiple: true, arg: 'TAG', help: 'add a tag to the snapshot ("a,b" adds two)' },
  host: { type: 'string', arg: 'HOST', help: 'host name recorded in the snapshot (default: this computer\'s)' },
};

export const backup: Command = {
  name: 'backup',
  summary: 'back up files and folders',
  options,
  help: commandHelp(
    'mamori backup [--source NAME]... [--to DEST]...\n       mamori backup --repo LOCATION [--tag TAG]... [--host HOST] PATH...',
    `Without --repo: backs every source up to all of its destinations (see "mamori source" and
"mamori destination"). Each file is read once and written to every destination in parallel; a
destination that is missing, full or unreachable does not stop the others, is retried after a pause,
and is reported. With --repo: saves the PATH files and folders as a new snapshot in that repository.
Unchanged files are not read again when an earlier snapshot of the same paths and host exists.
Exit status: 0 done, 3 done but some files or destinations were missed (listed on stderr), 1 failed.`,
    options,
  ),
  async run(ctx) {
    if (!ctx.args.str('repo') && !ctx.env.MAMORI_REPOSITORY) {
      if (ctx.args.positionals.length) {
        throw ctx.usage('paths are given with --repo; without it, add them as a source first ("mamori source add PATH")');
      }
      return backupAllSources(ctx);
    }
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

/** mamori backup without --repo: every source (or --source) to its destinations (or --to). */
async function backupAllSources(ctx: Context): Promise<number> {
  const s = await ctx.state();
  const wanted = ctx.args.list('source');
  const sources = wanted.length
    ? wanted.map((ref) => {
      const src = s.store.findSource(ref);
      if (!src) throw new MamoriError(ErrorCode.InvalidRequest, `no source named "${ref}"`, { subject: ref, hint: 'See "mamori source list".' });
      return src;
    })
    : s.store.listSources();
  if (sources.length === 0) throw new MamoriError(ErrorCode.InvalidRequest, 'nothing to back up: no sources yet', { hint: 'Add one with "mamori source add FOLDER".' });
  const to = ctx.args.list('to').map((ref) => {
    const d = s.store.findDestination(ref);
    if (!d) throw new MamoriError(ErrorCode.InvalidRequest, `no destination named "${ref}"`, { subject: ref, hint: 'See "mamori destination list".' });
    return d.id;
  });
  const retriesArg = ctx.args.str('retries');
  const retries = retriesArg === undefined ? undefined : Number(retriesArg);
  if (retries !== undefined && (!Number.isInteger(retries) || retries < 0 || retries > 10)) throw ctx.usage('--retries must be a whole number from 0 to 10');
  let problems = 0;
  const summaries: unknown[] = [];
  for (const src of sources) {
    ctx.throwIfAborted();
    const progress = ctx.progress();
    const started = Date.now();
    if (!ctx.json && !ctx.out.quiet) ctx.out.text(`${src.name}: backing up ${src.paths.join(', ')}`);
    const { jobId, result } = await backupSource(s, src, {
      ...(to.length ? { to } : {}),
      ...(retries !== undefined ? { retries } : {}),
      signal: ctx.signal,
      onDestination: (o) => {
        if (o.status !== 'ok' && o.error && !ctx.json) ctx.out.err(`${src.name} -> ${o.name}: ${o.status === 'pending' ? 'will retry' : 'failed'}: ${o.error.message}`);
      },
      onProgress: (p) =>
        progress.update({
          filesDone: p.filesDone,
          filesTotal: p.filesTotal,
          bytesDone: p.bytesDone,
          bytesTotal: p.bytesTotal,
          totalsFinal: p.scanDone,
          current: p.currentPath,
        }),
    });
    progress.done();
    const seconds = (Date.now() - started) / 1000;
    for (const e of result.sourceErrors) ctx.out.err(`error: ${e.path}: ${e.message}`);
    const bad = result.destinations.filter((d) => d.status !== 'ok');
    if (bad.length || result.sourceErrors.length) problems++;
    if (ctx.json) {
      summaries.push({ source: src.name, job: jobId, seconds, ...result });
      continue;
    }
    if (ctx.out.quiet) continue;
    for (const d of result.destinations) {
      if (d.status === 'ok') ctx.out.text(`  ${d.name}: snapshot ${shortId(d.snapshotId ?? '')} saved, ${formatBytes(d.bytesAdded)} added`);
      else ctx.out.text(`  ${d.name}: ${d.status === 'pending' ? 'not reached, will be caught up' : 'FAILED'}: ${d.error?.message ?? ''}${d.error?.hint ? ` (${d.error.hint})` : ''}`);
    }
    if (result.source) ctx.out.text(`  ${plural(result.source.filesNew + result.source.filesChanged + result.source.filesUnmodified, 'file')}, ${formatBytes(result.source.bytesRead)} read in ${formatDuration(seconds)}`);
  }
  if (ctx.json) ctx.out.jsonLine({ message_type: 'summary', sources: summaries });
  return problems ? EXIT_PARTIAL : EXIT_OK;
}
