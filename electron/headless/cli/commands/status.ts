// mamori status: for every source, how safe it is in plain words (copies, places, media, ages,
// 3-2-1, what single failure would lose data) and every warning with what to do about it.
// Exit 0 when every source is protected, 3 when something needs attention.
import { statusReport } from '../../../engine/index';
import { commandHelp, type OptionDefs } from '../args';
import type { Command } from '../context';
import { EXIT_OK, EXIT_PARTIAL } from '../errors';

const options: OptionDefs = {
  probe: { type: 'boolean', help: 'connect to every destination to see if it is reachable now (slower)' },
};

export const status: Command = {
  name: 'status',
  summary: 'how safe each source is, and what needs attention',
  options,
  help: commandHelp(
    'mamori status [--json] [--probe]',
    `The protection report: per source, how many up-to-date copies exist, where and on what media, how
old they are, whether the 3-2-1 rule holds and what single failure would lose data; then every
warning about a destination with a suggested action. Exit status 0 when all is well, 3 otherwise.`,
    options,
  ),
  async run(ctx) {
    const s = await ctx.state();
    const r = await statusReport(s, { probe: ctx.args.bool('probe') });
    const healthy = r.sources.length > 0 && r.sources.every((x) => x.verdict === 'protected') && !r.warnings.some((w) => w.severity !== 'info');
    if (ctx.json) {
      ctx.out.jsonLine(r);
      return healthy ? EXIT_OK : EXIT_PARTIAL;
    }
    if (r.sources.length === 0) ctx.out.text('Nothing is protected yet: add a folder with "mamori source add FOLDER".');
    for (const src of r.sources) {
      ctx.out.text(`${src.sourceName}: ${src.headline}`);
      for (const c of src.copies) {
        const age = c.snapshotAge ? `newest copy ${c.snapshotAge} old` : 'no copy yet';
        const media = c.mediaAge ? `, media ${c.mediaAge} old` : '';
        ctx.out.text(`  - ${c.name} (${c.mediaLabel}, ${c.place}): ${age}${media}${c.current ? '' : ' [not current]'}`);
      }
      ctx.out.text(`  3-2-1 rule: ${src.rule321.holds ? 'holds' : `not yet (needs ${src.rule321.missing.join(', ')})`}`);
      for (const risk of src.risks) ctx.out.text(`  ! ${risk.text}`);
      ctx.out.text('');
    }
    if (r.warnings.length) {
      ctx.out.text('Warnings:');
      for (const w of r.warnings) {
        const d = r.destinations.find((x) => x.id === w.destinationId);
        ctx.out.text(`  [${w.severity}] ${d ? `${d.name}: ` : ''}${w.text}`);
        ctx.out.text(`      What to do: ${w.action}`);
      }
    }
    return healthy ? EXIT_OK : EXIT_PARTIAL;
  },
};
