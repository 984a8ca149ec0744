// mamori unlock: remove locks left behind by processes that are gone (a crash, kill -9, a laptop that
// lost power). Locks of running processes stay unless --remove-all is given.
import { commandHelp, type OptionDefs } from '../args';
import type { Command } from '../context';
import { EXIT_OK } from '../errors';
import { plural } from '../output';

const options: OptionDefs = {
  'remove-all': { type: 'boolean', help: 'remove every lock, also those of processes that may still run (only if you are sure none does)' },
};

export const unlock: Command = {
  name: 'unlock',
  summary: 'remove stale locks',
  options,
  help: commandHelp(
    'mamori unlock --repo PATH [--remove-all]',
    `Removes locks whose process is gone: older than 30 minutes, or from this computer with a process
that no longer runs. With --remove-all, removes every lock.`,
    options,
  ),
  async run(ctx) {
    if (ctx.args.positionals.length) throw ctx.usage(`unexpected argument: ${ctx.args.positionals.join(' ')}`);
    const repo = await ctx.openRepository();
    const removed = await repo.unlock(ctx.args.bool('remove-all'));
    if (ctx.json) ctx.out.jsonLine({ message_type: 'unlock', removed });
    else ctx.out.text(`removed ${plural(removed.length, 'lock')}`);
    return EXIT_OK;
  },
};
