// mamori restore: restore a snapshot (or parts of it) into a folder.
// Exit 0 when everything was restored; 1 when something could not be (each path is listed on
// stderr with the reason; everything else was restored) or on failure.
import { resolve } from 'node:path';
import { ErrorCode, MamoriError } from '../../../../shared/errors';
import { findNode, restoreSnapshot } from '../../../engine/index';
import { commandHelp, type OptionDefs } from '../args';
import type { Command } from '../context';
import { EXIT_FAILURE, EXIT_OK } from '../errors';
import { formatBytes, formatDuration, formatTime, plural, shortId } from '../output';
import { normalizeSnapshotPath } from './ls';

const options: OptionDefs = {
  target: { type: 'string', short: 't', arg: 'DIR', help: 'folder to restore into (required; created if missing)' },
  include: { type: 'string', short: 'i', multiple: true, arg: 'PATH', help: 'restore only PATH (as "mamori ls" shows it) and what is below it' },
};

export const restore: Command = {
  name: 'restore',
  summary: 'restore a snapshot into a folder',
  options,
  help: commandHelp(
    'mamori restore --repo PATH --target DIR [--include PATH]... SNAPSHOT',
    `Restores SNAPSHOT (an ID, a unique ID prefix, or "latest") into DIR. The snapshot's absolute
paths are recreated below DIR, as restic does: /home/me/Documents comes back as DIR/home/me/Documents.
Existing files are never overwritten.
Exit status: 0 all restored, 1 something could not be restored (listed on stderr) or failure.`,
    options,
  ),
  async run(ctx) {
    const [ref, ...extra] = ctx.args.positionals;
    if (!ref) throw ctx.usage('which snapshot? give an ID, an ID prefix or "latest"');
    if (extra.length) throw ctx.usage(`too many arguments: ${extra.join(' ')} (use --include PATH to restore only some paths)`);
    const targetArg = ctx.args.str('target');
    if (!targetArg) throw ctx.usage('where to? give --target DIR');
    const target = resolve(targetArg);
    const include = ctx.args.list('include').map(normalizeSnapshotPath);

    const repo = await ctx.openRepository();
    const progress = ctx.progress();
    const started = Date.now();
    const { sn, result } = await ctx.locked(repo, false, async () => {
      const sn = await repo.resolveSnapshot(ref);
      await ctx.loadIndex(repo);
      if (include.length) {
        const missing: string[] = [];
        for (const p of include) if (!(await findNode(repo, sn, p))) missing.push(p);
        if (missing.length) {
          throw new MamoriError(ErrorCode.PathNotFound, `not in snapshot ${shortId(sn.id)}: ${missing.join(', ')}`, {
            subject: missing[0],
            hint: `See its paths with "mamori ls ${shortId(sn.id)}".`,
          });
        }
      }
      ctx.out.info(`restoring snapshot ${shortId(sn.id)} of [${sn.paths.join(' ')}] at ${formatTime(sn.time)} to ${target}`);
      progress.update({ label: 'reading the folder structure' });
      const result = await restoreSnapshot(repo, sn, {
        target,
        ...(include.length ? { include } : {}),
        signal: ctx.signal,
        onProgress: (p) =>
          progress.update({ filesDone: p.filesDone, filesTotal: p.filesTotal, bytesDone: p.bytesDone, bytesTotal: p.bytesTotal, totalsFinal: true, current: p.currentPath }),
      });
      return { sn, result };
    });
    progress.done();
    const seconds = (Date.now() - started) / 1000;

    for (const e of result.errors) ctx.out.err(`error: ${e.path}: ${e.message}`);
    if (ctx.json) {
      ctx.out.jsonLine({
        message_type: 'summary',
        snapshot_id: sn.id,
        target,
        files_restored: result.filesRestored,
        dirs_restored: result.dirsRestored,
        bytes_restored: result.bytesRestored,
        total_duration: seconds,
        errors: result.errors.map((e) => ({ path: e.path, message: e.message })),
      });
    } else if (!ctx.out.quiet) {
      ctx.out.text(
        `restored ${plural(result.filesRestored, 'file')} and ${plural(result.dirsRestored, 'folder')}, ${formatBytes(result.bytesRestored)} in ${formatDuration(seconds)}`,
      );
    }
    if (result.errors.length) {
      ctx.out.err(`${plural(result.errors.length, 'path')} could not be restored (listed above); everything else was.`);
      return EXIT_FAILURE;
    }
    return EXIT_OK;
  },
};
