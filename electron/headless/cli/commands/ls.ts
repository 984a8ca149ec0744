// mamori ls: list the files and folders of a snapshot (everything, or what is under PATH).
import { posix } from 'node:path';
import { ErrorCode, MamoriError } from '../../../../shared/errors';
import { findNode, walkTree, type TreeNode } from '../../../engine/index';
import { commandHelp, type OptionDefs } from '../args';
import type { Command } from '../context';
import { EXIT_FAILURE, EXIT_OK } from '../errors';
import { formatTime, goModeString, shortId } from '../output';
import { snapshotJson } from './snapshots';

const options: OptionDefs = {
  long: { type: 'boolean', short: 'l', help: 'show permissions, owner, size and modification time' },
};

export const ls: Command = {
  name: 'ls',
  summary: 'list files in a snapshot',
  options,
  help: commandHelp(
    'mamori ls --repo PATH [--long] [--json] SNAPSHOT [PATH]',
    `Lists the paths stored in SNAPSHOT (an ID, a unique ID prefix, or "latest"), one per line;
with PATH, only PATH and what is below it. Paths are absolute, as they were on the backed-up computer.
With --json, prints one JSON object per line like restic's "ls --json": first the snapshot
(struct_type "snapshot"), then one per file or folder (struct_type "node": name, type, path, size,
mode, permissions, mtime, ...).`,
    options,
  ),
  async run(ctx) {
    const [ref, dirArg, ...extra] = ctx.args.positionals;
    if (!ref) throw ctx.usage('which snapshot? give an ID, an ID prefix or "latest"');
    if (extra.length) throw ctx.usage(`too many arguments: ${extra.join(' ')}`);
    const dir = dirArg === undefined ? undefined : normalizeSnapshotPath(dirArg);
    const repo = await ctx.openRepository();
    let damaged = 0;
    const onError = (path: string, err: Error): void => {
      damaged++;
      ctx.out.err(`error: ${path}: ${err.message}`);
    };
    await ctx.locked(repo, false, async () => {
      const sn = await repo.resolveSnapshot(ref);
      await ctx.loadIndex(repo);
      if (ctx.json) ctx.out.jsonLine({ ...snapshotJson(sn), struct_type: 'snapshot' });
      else if (!ctx.out.quiet) ctx.out.err(`snapshot ${shortId(sn.id)} of [${sn.paths.join(' ')}] at ${formatTime(sn.time)}:`);
      const print = (path: string, node: TreeNode): void => {
        if (ctx.json) ctx.out.jsonLine(nodeJson(path, node));
        else if (ctx.args.bool('long')) ctx.out.text(longLine(path, node));
        else ctx.out.text(path);
      };
      if (dir === undefined || dir === '/') {
        for await (const { path, node } of walkTree(repo, sn.tree, '', { onError })) {
          ctx.throwIfAborted();
          print(path, node);
        }
        return;
      }
      const node = await findNode(repo, sn, dir);
      if (!node) {
        throw new MamoriError(ErrorCode.PathNotFound, `${dir} is not in snapshot ${shortId(sn.id)}`, {
          subject: dir,
          hint: `List the snapshot with "mamori ls ${shortId(sn.id)}" to see its paths.`,
        });
      }
      print(dir, node);
      if (node.type === 'dir' && node.subtree) {
        for await (const { path, node: child } of walkTree(repo, node.subtree, dir, { onError })) {
          ctx.throwIfAborted();
          print(path, child);
        }
      }
    });
    if (damaged) {
      ctx.out.err(`${damaged} folder(s) of the snapshot could not be read; run "mamori check" to see what is damaged`);
      return EXIT_FAILURE;
    }
    return EXIT_OK;
  },
};

/** "home/me/" -> "/home/me": snapshot paths are absolute, without a trailing slash. */
export function normalizeSnapshotPath(p: string): string {
  const n = posix.normalize('/' + p);
  return n.length > 1 && n.endsWith('/') ? n.slice(0, -1) : n;
}

function nodeJson(path: string, n: TreeNode): Record<string, unknown> {
  return {
    name: n.name.toString('utf8'),
    type: n.type,
    path,
    uid: n.uid,
    gid: n.gid,
    size: n.type === 'file' ? (n.size ?? 0) : 0,
    mode: n.mode,
    permissions: goModeString(n.mode),
    mtime: n.mtime,
    atime: n.atime,
    ctime: n.ctime,
    ...(n.linktarget ? { linktarget: n.linktarget.toString('utf8') } : {}),
    struct_type: 'node',
  };
}

function longLine(path: string, n: TreeNode): string {
  const user = n.user || String(n.uid);
  const group = n.group || String(n.gid);
  const size = String(n.type === 'file' ? (n.size ?? 0) : 0);
  const target = n.type === 'symlink' && n.linktarget ? ` -> ${n.linktarget.toString('utf8')}` : '';
  return `${goModeString(n.mode)} ${user.padStart(5)} ${group.padStart(5)} ${size.padStart(10)} ${formatTime(n.mtime)} ${path}${target}`;
}
