// mamori check: verify the repository's structure (and with --read-data every stored byte), and say
// in plain words what is damaged and which snapshots and files it affects.
// Exit 0 when no errors were found, 1 when the repository is damaged or the check failed.
import { checkRepository, type CheckProgress } from '../../../engine/index';
import { commandHelp, type OptionDefs } from '../args';
import type { Command } from '../context';
import { EXIT_FAILURE, EXIT_OK } from '../errors';
import { formatTime, plural, shortId } from '../output';

const options: OptionDefs = {
  'read-data': { type: 'boolean', help: 'also download and verify every pack (slow: reads the whole repository)' },
};

const PHASES: Partial<Record<CheckProgress['phase'], string>> = {
  index: 'reading the index',
  packs: 'checking packs',
  snapshots: 'reading snapshots',
  trees: 'checking folders',
  'read-data': 'reading data',
  affected: 'finding the damaged files',
};

/** Files listed per damaged snapshot in text mode (all of them with --json). */
const MAX_FILES_SHOWN = 50;

export const check: Command = {
  name: 'check',
  summary: 'check the repository for damage',
  options,
  help: commandHelp(
    'mamori check --repo PATH [--read-data] [--json]',
    `Checks that every snapshot, folder and file the repository lists is present and consistent.
With --read-data, also reads back every pack and verifies every piece of data.
Damage is reported with the snapshots and files it affects.
Exit status: 0 no errors found, 1 the repository is damaged (or could not be checked).`,
    options,
  ),
  async run(ctx) {
    if (ctx.args.positionals.length) throw ctx.usage(`unexpected argument: ${ctx.args.positionals.join(' ')}`);
    const readData = ctx.args.bool('read-data');
    const repo = await ctx.openRepository();
    ctx.out.info(`checking ${repo.location}${readData ? ' (reading all data)' : ''}`);
    const progress = ctx.progress();
    const result = await ctx.locked(repo, false, () =>
      checkRepository(repo, {
        readData,
        signal: ctx.signal,
        onProgress: (p) => progress.update({ label: PHASES[p.phase] ?? p.phase, itemsDone: p.done, itemsTotal: p.total }),
      }),
    );
    progress.done();

    if (ctx.json) {
      ctx.out.jsonLine({ message_type: 'check', ...result });
      return result.ok ? EXIT_OK : EXIT_FAILURE;
    }
    const say = (line: string): void => (result.ok ? ctx.out.text(line) : ctx.out.err(line));
    if (result.errors.length) {
      say('');
      say('Problems found:');
      for (const p of result.errors) say(`  - ${p.message.includes(p.subject) ? p.message : `${p.subject}: ${p.message}`}`);
    }
    if (result.affected.length) {
      say('');
      say(`${plural(result.affected.length, 'snapshot')} cannot be fully restored:`);
      for (const a of result.affected) {
        say(`  snapshot ${shortId(a.snapshot)} of [${a.paths.join(' ')}] at ${formatTime(a.time)}: ${plural(a.files.length, 'damaged file or folder', 'damaged files or folders')}`);
        for (const f of a.files.slice(0, MAX_FILES_SHOWN)) say(`      ${f}`);
        if (a.files.length > MAX_FILES_SHOWN) say(`      ... and ${a.files.length - MAX_FILES_SHOWN} more (use --json for the full list)`);
      }
    }
    if (result.hints.length && !ctx.out.quiet) {
      ctx.out.text('');
      for (const h of result.hints) ctx.out.text(`note: ${h}`);
    }
    const s = result.stats;
    if (result.ok) {
      ctx.out.info(`no errors were found (${plural(s.snapshots, 'snapshot')}, ${plural(s.packs, 'pack')}, ${plural(s.blobs, 'blob')} checked)`);
      return EXIT_OK;
    }
    ctx.out.err('');
    ctx.out.err(`The repository is damaged: ${plural(result.errors.length, 'problem')} found.`);
    ctx.out.err('Restore the affected files from another destination if you have one; new backups will store missing data again.');
    return EXIT_FAILURE;
  },
};
