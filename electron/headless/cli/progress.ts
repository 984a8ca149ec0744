// One updating status line on a terminal: files, bytes, rate and ETA, redrawn at most ~4 times a
// second (and once a second while nothing reports, so the clock keeps moving), cleared when the
// command ends. Nothing is drawn when stderr is not a terminal (logs, pipes, tests) or with --quiet:
// the engine's progress events are then simply ignored.
//
// The rate is measured over the last few seconds, not since the start, so a long scan before the
// first byte (restore plans every file first) does not make the rate and ETA nonsense.
import { formatDuration } from './output';

const REDRAW_MS = 250;
const TICK_MS = 1000;
const RATE_WINDOW_MS = 5000;

export interface ProgressState {
  /** What is being done, e.g. "checking packs". */
  label?: string;
  filesDone?: number;
  filesTotal?: number;
  bytesDone?: number;
  bytesTotal?: number;
  /** True once the totals are final (the percentage and ETA are shown only then). */
  totalsFinal?: boolean;
  /** For counters that are not files or bytes (check): done/total items. */
  itemsDone?: number;
  itemsTotal?: number;
  current?: string;
}

export interface Clock {
  now(): number;
}

export class ProgressLine {
  private last = 0;
  private state: ProgressState | undefined;
  private drawn = false;
  private shown = '';
  private timer: NodeJS.Timeout | undefined;
  private ticker: NodeJS.Timeout | undefined;
  private readonly start: number;
  /** (time, bytesDone) samples of the last RATE_WINDOW_MS. */
  private samples: [number, number][] = [];

  constructor(
    private readonly stream: NodeJS.WritableStream & { isTTY?: boolean; columns?: number },
    private on: boolean,
    private readonly clock: Clock = { now: () => Date.now() },
  ) {
    this.start = clock.now();
  }

  get enabled(): boolean {
    return this.on;
  }

  /** Records the newest state; draws now if the last draw is old enough, else soon. */
  update(s: ProgressState): void {
    if (!this.on) return;
    this.state = s;
    const now = this.clock.now();
    if (s.bytesDone !== undefined) {
      this.samples.push([now, s.bytesDone]);
      while (this.samples.length > 2 && now - this.samples[0][0] > RATE_WINDOW_MS) this.samples.shift();
    }
    if (!this.ticker) {
      this.ticker = setInterval(() => this.draw(), TICK_MS);
      this.ticker.unref();
    }
    if (now - this.last >= REDRAW_MS) {
      this.draw();
      return;
    }
    // Draw the last state even if no further update comes (a long file at the end).
    this.timer ??= setTimeout(() => this.draw(), REDRAW_MS - (now - this.last));
    this.timer.unref();
  }

  /** Removes the line (before other output, and at the end); the next update draws it again. */
  clear(): void {
    if (this.timer) {
      clearTimeout(this.timer);
      this.timer = undefined;
    }
    if (this.drawn) {
      this.stream.write('\r\x1b[2K');
      this.drawn = false;
    }
  }

  /** Stops for good: clears the line; later updates are ignored. */
  done(): void {
    this.clear();
    if (this.ticker) clearInterval(this.ticker);
    this.ticker = undefined;
    this.state = undefined;
    this.on = false;
  }

  /** Bytes per second over the recent window (0 until there are two samples a second apart). */
  private rate(): number {
    const first = this.samples[0];
    const lastS = this.samples[this.samples.length - 1];
    if (!first || !lastS || lastS[0] - first[0] < 1000) return 0;
    return (lastS[1] - first[1]) / ((lastS[0] - first[0]) / 1000);
  }

  private draw(): void {
    if (this.timer) {
      clearTimeout(this.timer);
      this.timer = undefined;
    }
    const s = this.state;
    if (!s || !this.on) return;
    this.last = this.clock.now();
    // A terminal that reports no size (some ptys say 0 columns) gets the classic 80.
    const width = Math.max(20, (this.stream.columns || 80) - 1);
    let line = renderProgress(s, (this.last - this.start) / 1000, this.rate());
    if (line.length > width) line = line.slice(0, width - 1) + '…';
    if (this.drawn && line === this.shown) return;
    this.stream.write('\r\x1b[2K' + line);
    this.shown = line;
    this.drawn = true;
  }
}

/** The text of the line, e.g. "[0:12]  45.2%  120/300 files  1.2 GiB/2.5 GiB  40.1 MiB/s  ETA 0:32  /path". */
export function renderProgress(s: ProgressState, elapsedSec: number, rate: number): string {
  const parts: string[] = [`[${formatDuration(elapsedSec)}]`];
  if (s.label) parts.push(s.label);
  const bytesDone = s.bytesDone ?? 0;
  if (s.itemsTotal !== undefined) parts.push(`${s.itemsDone ?? 0}/${s.itemsTotal}`);
  if (s.bytesTotal && s.totalsFinal) parts.push(`${Math.min(100, (100 * bytesDone) / s.bytesTotal).toFixed(1)}%`);
  if (s.filesDone !== undefined) parts.push(s.filesTotal !== undefined ? `${s.filesDone}/${s.filesTotal} files` : `${s.filesDone} files`);
  if (s.bytesDone !== undefined) parts.push(s.bytesTotal !== undefined ? `${compactBytes(bytesDone)}/${compactBytes(s.bytesTotal)}` : compactBytes(bytesDone));
  if (s.bytesDone !== undefined && rate > 0) parts.push(`${compactBytes(rate)}/s`);
  if (s.totalsFinal && s.bytesTotal !== undefined && rate > 0 && s.bytesTotal > bytesDone) {
    parts.push(`ETA ${formatDuration((s.bytesTotal - bytesDone) / rate)}`);
  }
  if (s.current) parts.push(s.current);
  return parts.join('  ');
}

/** 1.5 GiB, 40.1 MiB, 512 B: one decimal, so the line fits 80 columns. */
function compactBytes(n: number): string {
  const units = ['B', 'KiB', 'MiB', 'GiB', 'TiB'];
  let u = 0;
  let v = Math.max(0, n);
  while (v >= 1024 && u < units.length - 1) {
    v /= 1024;
    u++;
  }
  return u === 0 ? `${Math.round(v)} B` : `${v.toFixed(1)} ${units[u]}`;
}
