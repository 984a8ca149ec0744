// mamori destination add|list|remove|test: where copies go. Each destination is its own restic
// repository with its own key. "add" creates the repository (sharing Mamori's chunker polynomial so
// one read of the source serves every destination) or adopts an existing one, recovering its
// sources from its snapshots; "remove" forgets it and never deletes anything on it.
import { resolve } from 'node:path';
import { ErrorCode, MamoriError } from '../../../../shared/errors';
import { addDestination, openDestination, statusReport, type Services } from '../../../engine/index';
import { commandHelp, type OptionDefs } from '../args';
import type { Command, Context } from '../context';
import { EXIT_FAILURE, EXIT_OK } from '../errors';
import { table } from '../output';

const options: OptionDefs = {
  name: { type: 'string', arg: 'NAME', help: 'a name for it, e.g. "USB drive" (required for add)' },
  media: { type: 'string', arg: 'KIND', help: 'internal-hdd, external-hdd, ssd, usb-flash, sd-card, cd-r, dvd-r, bd-r, m-disc, tape, nas, cloud' },
  place: { type: 'string', arg: 'PLACE', help: 'home, office or offsite' },
  'first-use': { type: 'string', arg: 'DATE', help: 'when the media was first used (YYYY-MM-DD; default today)' },
  purchased: { type: 'string', arg: 'DATE', help: 'when the media was bought (YYYY-MM-DD), if known' },
  'key-file': { type: 'string', arg: 'FILE', help: 'SFTP: private key file for logging in' },
  region: { type: 'string', arg: 'REGION', help: 'S3: region (default from the endpoint, else us-east-1)' },
  'virtual-host': { type: 'boolean', help: 'S3: virtual-host style addressing (default: path style except on AWS)' },
  'no-link': { type: 'boolean', help: 'do not back existing sources up to it' },
};

async function requireDest(ctx: Context, s: Services, ref: string | undefined) {
  if (!ref) throw ctx.usage('which destination? give its name');
  const d = s.store.findDestination(ref);
  if (!d) throw new MamoriError(ErrorCode.InvalidRequest, `no destination named "${ref}"`, { subject: ref, hint: 'See "mamori destination list".' });
  return d;
}

async function add(ctx: Context): Promise<number> {
  const location = ctx.args.positionals[1];
  if (!location) throw ctx.usage('give the location, e.g. /media/usb/mamori or sftp:me@nas:/backup');
  const name = ctx.args.str('name');
  if (!name) throw ctx.usage('give the destination a name with --name');
  const s = await ctx.state();
  const keyFile = ctx.args.str('key-file');
  const region = ctx.args.str('region');
  const passwordFile = ctx.args.str('password-file');
  const r = await addDestination(s, {
    location,
    name,
    ...(ctx.args.str('media') ? { mediaKind: ctx.args.str('media') } : {}),
    ...(ctx.args.str('place') ? { place: ctx.args.str('place') } : {}),
    ...(ctx.args.str('first-use') ? { firstUse: ctx.args.str('first-use') } : {}),
    ...(ctx.args.str('purchased') ? { purchased: ctx.args.str('purchased') } : {}),
    options: {
      ...(keyFile ? { keyFile: resolve(keyFile) } : {}),
      ...(region ? { region } : {}),
      ...(ctx.args.bool('virtual-host') ? { pathStyle: false } : {}),
      ...(passwordFile ? { passwordFile: resolve(passwordFile) } : {}),
    },
    ...(ctx.args.bool('no-link') ? { linkAllSources: false } : {}),
  });
  const d = r.destination;
  if (ctx.json) {
    ctx.out.jsonLine({ destination: d, created: r.created, importedSources: r.importedSources, markerWritten: r.markerWritten });
    return EXIT_OK;
  }
  ctx.out.text(r.created ? `created a new repository for "${d.name}" at ${d.location}` : `adopted the existing repository at ${d.location} as "${d.name}"`);
  ctx.out.text(`media: ${d.mediaKind}, place: ${d.place}, first use: ${d.firstUse ?? 'unknown'}`);
  for (const src of r.importedSources) ctx.out.text(`recovered source "${src.name}" (${src.paths.join(', ')}) from its snapshots`);
  if (!r.markerWritten) ctx.out.err(`note: ${d.location} has no room for Mamori's marker file; its facts are kept in the state database only.`);
  if (s.store.listDestinations().length === 1) {
    ctx.out.err('Tip: one copy is not enough. Add a second destination in another place (a NAS, a cloud bucket, a drive kept at work).');
  }
  return EXIT_OK;
}

async function list(ctx: Context): Promise<number> {
  const s = await ctx.state();
  const report = await statusReport(s);
  if (ctx.json) {
    ctx.out.jsonLine(report.destinations);
    return EXIT_OK;
  }
  if (report.destinations.length === 0) {
    ctx.out.text('no destinations yet: add one with "mamori destination add LOCATION --name NAME"');
    return EXIT_OK;
  }
  const rows = report.destinations.map((d) => {
    const last = s.store.lastBackupOk(d.id);
    return [d.name, d.location, d.mediaKind, d.place, last ? last.at.slice(0, 16).replace('T', ' ') : 'never', d.warnings.length ? `${d.warnings.length} warning(s)` : 'ok'];
  });
  for (const l of table(['Name', 'Location', 'Media', 'Place', 'Last backup', 'Health'], rows)) ctx.out.text(l);
  return EXIT_OK;
}

async function remove(ctx: Context): Promise<number> {
  const s = await ctx.state();
  const d = await requireDest(ctx, s, ctx.args.positionals[1]);
  s.store.removeDestination(d.id);
  if (ctx.json) ctx.out.jsonLine({ removed: d.id });
  else ctx.out.text(`Mamori forgot "${d.name}". Nothing on ${d.location} was deleted: its backups are still there.`);
  return EXIT_OK;
}

async function testDest(ctx: Context): Promise<number> {
  const s = await ctx.state();
  const d = await requireDest(ctx, s, ctx.args.positionals[1]);
  const started = Date.now();
  try {
    const repo = await openDestination(s, d, ctx.signal);
    ctx.defer(() => repo.backend.close());
    const snaps = await repo.listSnapshots();
    const ms = Date.now() - started;
    if (ctx.json) ctx.out.jsonLine({ ok: true, destination: d.id, snapshots: snaps.length, ms });
    else ctx.out.text(`"${d.name}" is reachable and opens with the password: ${snaps.length} snapshot(s), answered in ${ms} ms`);
    return EXIT_OK;
  } catch (e) {
    const msg = (e as Error).message;
    if (ctx.json) ctx.out.jsonLine({ ok: false, destination: d.id, error: msg });
    else ctx.out.err(`"${d.name}" failed the test: ${msg}`);
    return EXIT_FAILURE;
  }
}

export const destination: Command = {
  name: 'destination',
  summary: 'add, list, test or remove places where copies are kept',
  options,
  help: commandHelp(
    'mamori destination add LOCATION --name NAME [--media KIND] [--place PLACE] [--first-use DATE] [--purchased DATE]\n' +
      '       mamori destination list | test NAME | remove NAME',
    `LOCATION uses restic's syntax: a folder (/media/usb/mamori), sftp:user@host:/path,
s3:https://host/bucket/prefix, rest:http://host:8000/path/, rclone:remote:path.
Secrets come from the environment: MAMORI_PASSWORD (repository password), AWS_ACCESS_KEY_ID and
AWS_SECRET_ACCESS_KEY (S3), MAMORI_SFTP_PASSWORD or --key-file (SFTP), or --password-file.
A new destination shares Mamori's chunker settings, so each file is read once for all destinations.
An existing repository is adopted, and the sources in its snapshots are recovered.`,
    options,
  ),
  async run(ctx) {
    const sub = ctx.args.positionals[0];
    if (sub === 'add') return add(ctx);
    if (sub === 'list' || sub === undefined) return list(ctx);
    if (sub === 'remove' || sub === 'rm') return remove(ctx);
    if (sub === 'test') return testDest(ctx);
    throw ctx.usage(`unknown subcommand "${sub}" (add, list, test, remove)`);
  },
};
