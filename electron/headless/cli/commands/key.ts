// mamori key: list, add, remove and change the passwords (restic "keys") that open the repository.
// Every key file wraps the same master key, so adding a key does not re-encrypt anything and any key
// opens every snapshot.
import { ErrorCode, MamoriError } from '../../../../shared/errors';
import type { KeyInfo, Repository } from '../../../engine/index';
import { commandHelp, type OptionDefs } from '../args';
import { testKdf, type Command, type Context } from '../context';
import { EXIT_OK } from '../errors';
import { formatTime, shortId, table } from '../output';
import { readPassword } from '../password';

const options: OptionDefs = {
  'new-password-file': { type: 'string', arg: 'FILE', help: 'read the new password from the first line of FILE (default: env MAMORI_NEW_PASSWORD, or a prompt)' },
};

const SUBCOMMANDS = ['list', 'add', 'remove', 'passwd'];

export const key: Command = {
  name: 'key',
  summary: 'list, add, remove or change passwords',
  options,
  help: commandHelp(
    'mamori key list|add|remove KEY-ID|passwd --repo PATH [--json]',
    `  list     show the keys (the one opened by the given password is marked with *)
  add      add another password that opens the repository
  remove   remove a key (by ID or unique ID prefix); it cannot be the one in use
  passwd   change the password in use (a new key replaces the current one)
The new password for add and passwd comes from --new-password-file, MAMORI_NEW_PASSWORD, or is
asked twice on a terminal.`,
    options,
  ),
  async run(ctx) {
    const [sub, ...rest] = ctx.args.positionals;
    if (!sub) throw ctx.usage('which key command? list, add, remove or passwd');
    if (!SUBCOMMANDS.includes(sub)) throw ctx.usage(`unknown key command "${sub}": use list, add, remove or passwd`);
    const wantArgs = sub === 'remove' ? 1 : 0;
    if (sub === 'remove' && rest.length === 0) throw ctx.usage('which key? give the ID (or a unique prefix) shown by "mamori key list"');
    if (rest.length > wantArgs) throw ctx.usage(`too many arguments: ${rest.slice(wantArgs).join(' ')}`);
    const kdf = testKdf(ctx.env);
    const repo = await ctx.openRepository();

    switch (sub) {
      case 'list': {
        const keys = await ctx.locked(repo, false, () => repo.listKeys());
        if (ctx.json) {
          ctx.out.jsonLine(keys.map((k) => ({ current: k.current, id: k.id, userName: k.username, hostName: k.hostname, created: k.created })));
        } else {
          const rows = keys.map((k) => [`${k.current ? '*' : ' '}${shortId(k.id)}`, k.username, k.hostname, formatTime(k.created)]);
          for (const line of table([' ID', 'User', 'Host', 'Created'], rows)) ctx.out.text(line);
        }
        return EXIT_OK;
      }
      case 'add': {
        const pw = await newPassword(ctx, repo);
        const id = await ctx.locked(repo, false, () => repo.addKey(pw, kdf));
        report(ctx, { message_type: 'key_added', id }, `saved new key ${shortId(id)}`);
        return EXIT_OK;
      }
      case 'remove': {
        const id = await ctx.locked(repo, true, async () => {
          const target = resolveKey(await repo.listKeys(), rest[0]);
          await repo.removeKey(target.id);
          return target.id;
        });
        report(ctx, { message_type: 'key_removed', id }, `removed key ${shortId(id)}`);
        return EXIT_OK;
      }
      default: {
        const pw = await newPassword(ctx, repo);
        const id = await ctx.locked(repo, true, () => repo.changePassword(pw, kdf));
        report(ctx, { message_type: 'password_changed', id }, `password changed: saved new key ${shortId(id)} and removed the old one`);
        return EXIT_OK;
      }
    }
  },
};

function report(ctx: Context, json: Record<string, unknown>, text: string): void {
  if (ctx.json) ctx.out.jsonLine(json);
  else ctx.out.text(text);
}

function newPassword(ctx: Context, repo: Repository): Promise<string> {
  return readPassword(
    {
      file: ctx.args.str('new-password-file'),
      envValue: ctx.env.MAMORI_NEW_PASSWORD,
      envName: 'MAMORI_NEW_PASSWORD',
      fileFlag: '--new-password-file',
      prompt: `enter the new password for ${repo.location}`,
      confirm: true,
    },
    ctx.streams,
    ctx.signal,
  );
}

/** A key by full ID or unique prefix. */
function resolveKey(keys: KeyInfo[], ref: string): KeyInfo {
  const r = ref.toLowerCase();
  if (!/^[0-9a-f]{1,64}$/.test(r)) throw new MamoriError(ErrorCode.KeyError, `"${ref}" is not a key ID`, { subject: ref, hint: 'Use an ID shown by "mamori key list".' });
  const matches = keys.filter((k) => k.id.startsWith(r));
  if (matches.length === 0) throw new MamoriError(ErrorCode.KeyError, `no key ${ref} in this repository`, { subject: ref, hint: 'List the keys with "mamori key list".' });
  if (matches.length > 1) throw new MamoriError(ErrorCode.KeyError, `"${ref}" matches ${matches.length} keys: give more characters`, { subject: ref });
  return matches[0];
}
