// mamori init: create a new repository (restic format version 2) at --repo.
import { Repository } from '../../../engine/index';
import { commandHelp } from '../args';
import { testKdf, type Command } from '../context';
import { EXIT_OK } from '../errors';

export const init: Command = {
  name: 'init',
  summary: 'create a new repository',
  options: {},
  help: commandHelp(
    'mamori init --repo PATH',
    `Creates an empty repository (restic format version 2, readable by restic 0.14 and later) in PATH.
The password comes from --password-file, MAMORI_PASSWORD, or is asked twice on a terminal.`,
    {},
  ),
  async run(ctx) {
    const backend = await ctx.openBackend();
    const password = await ctx.password(backend.location, true);
    ctx.throwIfAborted();
    const repo = await Repository.init(backend, password, { version: 2, kdf: testKdf(ctx.env) });
    if (ctx.json) {
      ctx.out.jsonLine({ message_type: 'initialized', id: repo.config.id, repository: repo.location, version: repo.version });
    } else {
      ctx.out.text(`created repository ${repo.config.id} at ${repo.location} (restic format version ${repo.version})`);
    }
    ctx.out.err('');
    ctx.out.err('Keep the password safe: without it nobody, not even Mamori, can read this repository.');
    ctx.out.err('If you lose the password, the backups in it are lost.');
    return EXIT_OK;
  },
};
