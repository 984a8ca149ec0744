// mamori source add|list|remove: the folders and mail exports Mamori protects, kept in the state
// database (MAMORI_HOME). Removing a source forgets it; its snapshots stay on every destination.
import { lstat } from 'node:fs/promises';
import { basename, resolve } from 'node:path';
import { ErrorCode, MamoriError } from '../../../../shared/errors';
import { commandHelp, type OptionDefs } from '../args';
import type { Command, Context } from '../context';
import { EXIT_OK } from '../errors';
import { table } from '../output';

const options: OptionDefs = {
  name: { type: 'string', arg: 'NAME', help: 'name of the source (default: the folder\'s name)' },
  to: { type: 'string', multiple: true, arg: 'DEST', help: 'back it up to this destination (repeatable; default: every destination)' },
  mail: { type: 'boolean', help: 'the paths are mail exports (mbox files or folders of .eml)' },
};

async function add(ctx: Context): Promise<number> {
  const [, ...rawPaths] = ctx.args.positionals;
  if (rawPaths.length === 0) throw ctx.usage('give the folders or files to protect');
  const paths = rawPaths.map((p) => resolve(p));
  for (const p of paths) {
    try {
      await lstat(p);
    } catch {
      throw new MamoriError(ErrorCode.PathNotFound, `${p} does not exist`, { subject: p, hint: 'Check the path, and that its drive is connected.' });
    }
  }
  const s = await ctx.state();
  const to = ctx.args.list('to');
  const destIds = to.length
    ? to.map((ref) => {
      const d = s.store.findDestination(ref);
      if (!d) throw new MamoriError(ErrorCode.InvalidRequest, `no destination named "${ref}"`, { subject: ref, hint: 'See "mamori destination list".' });
      return d.id;
    })
    : s.store.listDestinations().map((d) => d.id);
  const src = s.store.addSource({
    name: ctx.args.str('name') ?? basename(paths[0]),
    paths,
    kind: ctx.args.bool('mail') ? 'mail' : 'folder',
    destinationIds: destIds,
  });
  if (ctx.json) ctx.out.jsonLine(src);
  else {
    ctx.out.text(`added source "${src.name}": ${src.paths.join(', ')}`);
    if (destIds.length === 0) ctx.out.err('It has no destination yet: add one with "mamori destination add".');
    else ctx.out.text(`backed up to: ${destIds.map((id) => s.store.getDestination(id)?.name ?? id).join(', ')}`);
  }
  return EXIT_OK;
}

async function list(ctx: Context): Promise<number> {
  const s = await ctx.state();
  const sources = s.store.listSources();
  if (ctx.json) {
    ctx.out.jsonLine(sources);
    return EXIT_OK;
  }
  if (sources.length === 0) {
    ctx.out.text('no sources yet: add one with "mamori source add FOLDER"');
    return EXIT_OK;
  }
  const rows = sources.map((x) => [x.name, x.kind, x.paths.join(', '), x.destinationIds.map((id) => s.store.getDestination(id)?.name ?? '?').join(', ') || '(none)']);
  for (const l of table(['Name', 'Kind', 'Paths', 'Destinations'], rows)) ctx.out.text(l);
  return EXIT_OK;
}

async function remove(ctx: Context): Promise<number> {
  const ref = ctx.args.positionals[1];
  if (!ref) throw ctx.usage('which source? give its name');
  const s = await ctx.state();
  const src = s.store.findSource(ref);
  if (!src) throw new MamoriError(ErrorCode.InvalidRequest, `no source named "${ref}"`, { subject: ref, hint: 'See "mamori source list".' });
  s.store.removeSource(src.id);
  if (ctx.json) ctx.out.jsonLine({ removed: src.id });
  else ctx.out.text(`Mamori no longer backs up "${src.name}". Its snapshots stay on every destination.`);
  return EXIT_OK;
}

export const source: Command = {
  name: 'source',
  summary: 'add, list or remove the folders Mamori protects',
  options,
  help: commandHelp(
    'mamori source add PATH... [--name NAME] [--to DEST]... [--mail]\n       mamori source list\n       mamori source remove NAME',
    `Sources are the folders, files and mail exports Mamori backs up. They live in Mamori's state
database (in MAMORI_HOME, or the app data folder). "remove" forgets a source; its snapshots stay.`,
    options,
  ),
  async run(ctx) {
    const sub = ctx.args.positionals[0];
    if (sub === 'add') return add(ctx);
    if (sub === 'list' || sub === undefined) return list(ctx);
    if (sub === 'remove' || sub === 'rm') return remove(ctx);
    throw ctx.usage(`unknown subcommand "${sub}" (add, list, remove)`);
  },
};
