// mamori snapshots: list the repository's snapshots, oldest first.
import type { SnapshotWithId } from '../../../engine/index';
import { commandHelp } from '../args';
import type { Command } from '../context';
import { EXIT_OK } from '../errors';
import { formatTime, plural, shortId, table } from '../output';

/** A snapshot as restic's `snapshots --json` prints it (empty optional fields left out, tags always an array). */
export function snapshotJson(s: SnapshotWithId): Record<string, unknown> {
  return {
    time: s.time,
    ...(s.parent ? { parent: s.parent } : {}),
    tree: s.tree,
    paths: s.paths,
    hostname: s.hostname ?? '',
    username: s.username ?? '',
    ...(s.uid !== undefined ? { uid: s.uid } : {}),
    ...(s.gid !== undefined ? { gid: s.gid } : {}),
    ...(s.excludes?.length ? { excludes: s.excludes } : {}),
    tags: s.tags ?? [],
    ...(s.original ? { original: s.original } : {}),
    id: s.id,
    short_id: shortId(s.id),
  };
}

export const snapshots: Command = {
  name: 'snapshots',
  summary: 'list snapshots',
  options: {},
  help: commandHelp(
    'mamori snapshots --repo PATH [--json]',
    `Lists the snapshots in the repository, oldest first. With --json, prints a JSON array like
restic's "snapshots --json" (id, short_id, time, hostname, username, paths, tags, tree, parent).`,
    {},
  ),
  async run(ctx) {
    const repo = await ctx.openRepository();
    const list = await ctx.locked(repo, false, () => repo.listSnapshots());
    if (ctx.json) {
      ctx.out.jsonLine(list.map(snapshotJson));
      return EXIT_OK;
    }
    const rows = list.map((s) => [shortId(s.id), formatTime(s.time), s.hostname ?? '', (s.tags ?? []).join(','), s.paths.join('\n')]);
    for (const line of table(['ID', 'Time', 'Host', 'Tags', 'Paths'], rows)) ctx.out.text(line);
    ctx.out.text(plural(list.length, 'snapshot'));
    return EXIT_OK;
  },
};
