// Writing and formatting for the CLI. Rule: with --json, stdout carries only JSON (one document, or
// one object per line for streams) and everything meant for people goes to stderr or nowhere.

export interface Streams {
  stdout: NodeJS.WritableStream & { isTTY?: boolean };
  stderr: NodeJS.WritableStream & { isTTY?: boolean; columns?: number };
  stdin: NodeJS.ReadableStream & { isTTY?: boolean; setRawMode?: (mode: boolean) => unknown };
}

export class Output {
  constructor(
    readonly streams: Streams,
    readonly json: boolean,
    readonly quiet: boolean,
    /** Called before anything is written to stderr, so a progress line can get out of the way. */
    private readonly beforeStderr: () => void = () => undefined,
  ) {}

  /** A line of the command's result (listing, summary) on stdout; dropped in --json mode. */
  text(line = ''): void {
    if (!this.json) this.streams.stdout.write(line + '\n');
  }

  /** A line of chatter (what is being done): stdout in text mode, nothing with --quiet or --json. */
  info(line = ''): void {
    if (!this.json && !this.quiet) this.streams.stdout.write(line + '\n');
  }

  /** One JSON document on a line of stdout. */
  jsonLine(value: unknown): void {
    this.streams.stdout.write(JSON.stringify(value) + '\n');
  }

  /** Warnings and errors: always stderr, even with --quiet. */
  err(line = ''): void {
    this.beforeStderr();
    this.streams.stderr.write(line + '\n');
  }
}

// ---- formatting ----------------------------------------------------------------------------------

const UNITS = ['B', 'KiB', 'MiB', 'GiB', 'TiB', 'PiB'];

/** 1536 -> "1.500 KiB", like restic's ui.FormatBytes. */
export function formatBytes(n: number): string {
  if (!Number.isFinite(n) || n < 1024) return `${Math.max(0, Math.round(n || 0))} B`;
  let u = 0;
  let v = n;
  while (v >= 1024 && u < UNITS.length - 1) {
    v /= 1024;
    u++;
  }
  return `${v.toFixed(3)} ${UNITS[u]}`;
}

/** Seconds -> "0:05", "12:34", "1:02:03". */
export function formatDuration(seconds: number): string {
  const s = Math.max(0, Math.floor(seconds));
  const h = Math.floor(s / 3600);
  const m = Math.floor((s % 3600) / 60);
  const sec = String(s % 60).padStart(2, '0');
  return h > 0 ? `${h}:${String(m).padStart(2, '0')}:${sec}` : `${m}:${sec}`;
}

function pad2(n: number): string {
  return String(n).padStart(2, '0');
}

/** A snapshot or key time (RFC3339Nano) in the local zone, as restic prints it: 2006-01-02 15:04:05. */
export function formatTime(rfc3339: string): string {
  const ms = Date.parse(rfc3339);
  if (Number.isNaN(ms)) return rfc3339;
  const d = new Date(ms);
  return `${d.getFullYear()}-${pad2(d.getMonth() + 1)}-${pad2(d.getDate())} ${pad2(d.getHours())}:${pad2(d.getMinutes())}:${pad2(d.getSeconds())}`;
}

export function shortId(id: string): string {
  return id.slice(0, 8);
}

/** Go's os.FileMode.String() for the bits restic stores: "drwxr-xr-x", "Lrwxrwxrwx", "-rw-r--r--". */
export function goModeString(mode: number): string {
  // Go: type letters "dalTLDpSugct?" for bits 31 down to 19, then rwxrwxrwx.
  const letters = 'dalTLDpSugct?';
  let s = '';
  for (let i = 0; i < letters.length; i++) {
    const bit = 31 - i;
    if (Math.floor(mode / 2 ** bit) % 2 === 1) s += letters[i];
  }
  if (!s) s = '-';
  const rwx = 'rwxrwxrwx';
  for (let i = 0; i < 9; i++) s += mode & (1 << (8 - i)) ? rwx[i] : '-';
  return s;
}

/** Renders rows as left-aligned columns separated by two spaces (cells may hold several lines). */
export function table(header: string[], rows: string[][]): string[] {
  const widths = header.map((h, c) => Math.max(h.length, ...rows.map((r) => Math.max(...(r[c] ?? '').split('\n').map((l) => l.length)))));
  const fmt = (cells: string[]): string => cells.map((cell, c) => (c === cells.length - 1 ? cell : cell.padEnd(widths[c]))).join('  ').trimEnd();
  const rule = '-'.repeat(widths.reduce((a, b) => a + b, 0) + 2 * (widths.length - 1));
  const out = [fmt(header), rule];
  for (const r of rows) {
    const lines = Math.max(...r.map((cell) => cell.split('\n').length));
    for (let i = 0; i < lines; i++) out.push(fmt(r.map((cell) => cell.split('\n')[i] ?? '')));
  }
  out.push(rule);
  return out;
}

export function plural(n: number, one: string, many = `${one}s`): string {
  return `${n} ${n === 1 ? one : many}`;
}
