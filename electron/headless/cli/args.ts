// Command-line parsing on node:util parseArgs. Global options may come before or after the command
// name (`mamori --repo R snapshots` and `mamori snapshots --repo R` both work); everything after
// `--` is a positional argument, so paths starting with "-" can be given.
import { parseArgs } from 'node:util';
import { UsageError } from './errors';

export interface OptionDef {
  type: 'string' | 'boolean';
  short?: string;
  multiple?: boolean;
  /** Value placeholder in the help, e.g. "PATH". */
  arg?: string;
  help: string;
}
export type OptionDefs = Record<string, OptionDef>;

/** Options every command accepts. */
export const GLOBAL_OPTIONS: OptionDefs = {
  repo: { type: 'string', short: 'r', arg: 'PATH', help: 'repository location (default: env MAMORI_REPOSITORY)' },
  'password-file': { type: 'string', short: 'p', arg: 'FILE', help: 'read the password from the first line of FILE (default: env MAMORI_PASSWORD, or a prompt)' },
  json: { type: 'boolean', help: 'machine-readable output on stdout (nothing else is written there)' },
  quiet: { type: 'boolean', short: 'q', help: 'no progress and no chatter; results and errors only' },
  help: { type: 'boolean', short: 'h', help: 'show this help' },
};

export interface ParsedArgs {
  positionals: string[];
  str(name: string): string | undefined;
  bool(name: string): boolean;
  list(name: string): string[];
}

/** Global-only flags recognised before a command name. */
export interface Leading {
  command?: string;
  /** argv without the command name. */
  rest: string[];
}

/** Finds the command name: the first argument that is neither an option nor an option's value. */
export function splitCommand(argv: string[]): Leading {
  const takesValue = new Set<string>();
  for (const [name, d] of Object.entries(GLOBAL_OPTIONS)) {
    if (d.type === 'string') {
      takesValue.add(`--${name}`);
      if (d.short) takesValue.add(`-${d.short}`);
    }
  }
  for (let i = 0; i < argv.length; i++) {
    const a = argv[i];
    if (a === '--') break;
    if (a.startsWith('-') && a !== '-') {
      if (takesValue.has(a)) i++;
      continue;
    }
    return { command: a, rest: [...argv.slice(0, i), ...argv.slice(i + 1)] };
  }
  return { rest: argv };
}

/** Parses a command's arguments (its own options plus the global ones). Throws UsageError. */
export function parseCommandArgs(argv: string[], defs: OptionDefs, usage: string): ParsedArgs {
  const all: OptionDefs = { ...GLOBAL_OPTIONS, ...defs };
  const options: Record<string, { type: 'string' | 'boolean'; short?: string; multiple?: boolean }> = {};
  for (const [name, d] of Object.entries(all)) {
    options[name] = { type: d.type, ...(d.short ? { short: d.short } : {}), ...(d.multiple ? { multiple: true } : {}) };
  }
  let parsed: ReturnType<typeof parseArgs>;
  try {
    parsed = parseArgs({ args: argv, options, allowPositionals: true, strict: true });
  } catch (e) {
    throw new UsageError(cleanParseError((e as Error).message), usage);
  }
  const values = parsed.values as Record<string, string | boolean | (string | boolean)[] | undefined>;
  return {
    positionals: parsed.positionals,
    str(name) {
      const v = values[name];
      if (Array.isArray(v)) return v.length ? String(v[v.length - 1]) : undefined;
      return typeof v === 'string' ? v : undefined;
    },
    bool(name) {
      return values[name] === true;
    },
    list(name) {
      const v = values[name];
      if (v === undefined) return [];
      return (Array.isArray(v) ? v : [v]).map(String);
    },
  };
}

/** Node's parseArgs messages mention "node" APIs; keep them short and about mamori. */
function cleanParseError(msg: string): string {
  const unknown = /Unknown option '([^']+)'/.exec(msg);
  if (unknown) return `unknown option ${unknown[1]}`;
  const missing = /Option '([^']+?)(?: <value>)?' argument missing/.exec(msg);
  if (missing) return `option ${missing[1]} needs a value`;
  const ambiguous = /Option '([^']+?)(?: <value>)?' argument is ambiguous/.exec(msg);
  if (ambiguous) return `option ${ambiguous[1]} needs a value (to give a value starting with "-", write ${ambiguous[1]}=VALUE)`;
  const notBool = /Option '([^']+)' does not take an argument/.exec(msg);
  if (notBool) return `option ${notBool[1]} takes no value`;
  return msg.replace(/\. To specify a positional argument.*$/s, '');
}

/** The options section of a help text. */
export function describeOptions(defs: OptionDefs): string {
  const rows = Object.entries(defs).map(([name, d]) => {
    const flag = `${d.short ? `-${d.short}, ` : '    '}--${name}${d.type === 'string' ? ` ${d.arg ?? 'VALUE'}` : ''}`;
    return [flag, d.help + (d.multiple ? ' (repeatable)' : '')] as const;
  });
  const w = Math.max(...rows.map((r) => r[0].length));
  return rows.map(([f, h]) => `  ${f.padEnd(w)}  ${h}`).join('\n');
}

/** A command's complete help: usage line(s), description, its options, then the global ones. */
export function commandHelp(usage: string, description: string, defs: OptionDefs): string {
  const own = Object.keys(defs).length ? `\nOptions:\n${describeOptions(defs)}\n` : '';
  return `Usage: ${usage}\n\n${description.trim()}\n${own}\nGlobal options:\n${describeOptions(GLOBAL_OPTIONS)}\n`;
}
