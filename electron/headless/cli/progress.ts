// One updating status line on a terminal: files, bytes, rate and ETA, redrawn at most ~4 times a
// second and cleared when the command ends. Nothing is drawn when stderr is not a terminal (logs,
// pipes, tests) or with --quiet: the engine's progress events are then simply ignored.
import { formatBytes, formatDuration } from './output';

const REDRAW_MS = 250;

export interface ProgressState {
  /** What is being done, e.g. "backup", "restore", "checking packs". */
  label?: string;
  filesDone?: number;
  filesTotal?: number;
  bytesDone?: number;
  bytesTotal?: number;
  /** True once the totals are final (the ETA is shown only then). */
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
  private timer: NodeJS.Timeout | undefined;
  private readonly start: number;

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
    if (!this.enabled) return;
    this.state = s;
    const now = this.clock.now();
    if (now - this.last >= REDRAW_MS) {
      this.draw();
      return;
    }
    // Draw the last state even if no further update comes (a long file at the end).
    this.timer ??= setTimeout(() => {
      this.timer = undefined;
      this.draw();
    }, REDRAW_MS - (now - this.last));
    this.timer.unref();
  }

  /** Removes the line (before other output, and at the end). */
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
    this.state = undefined;
    this.on = false;
  }

  private draw(): void {
    const s = this.state;
    if (!s || !this.enabled) return;
    this.last = this.clock.now();
    const width = Math.max(20, (this.stream.columns ?? 80) - 1);
    let line = renderProgress(s, (this.last - this.start) / 1000);
    if (line.length > width) line = line.slice(0, width - 1) + '…';
    this.stream.write('\r\x1b[2K' + line);
    this.drawn = true;
  }
}

/** The text of the line, e.g. "[0:12] 45.2%  120 / 300 files  1.2 GiB / 2.5 GiB  40 MiB/s  ETA 0:32". */
export function renderProgress(s: ProgressState, elapsedSec: number): string {
  const parts: string[] = [`[${formatDuration(elapsedSec)}]`];
  if (s.label) parts.push(s.label);
  const bytesDone = s.bytesDone ?? 0;
  if (s.itemsTotal !== undefined) {
    parts.push(`${s.itemsDone ?? 0} / ${s.itemsTotal}`);
  }
  if (s.bytesTotal && s.totalsFinal) parts.push(`${((100 * bytesDone) / s.bytesTotal).toFixed(1)}%`);
  if (s.filesDone !== undefined) parts.push(s.filesTotal !== undefined ? `${s.filesDone} / ${s.filesTotal} files` : `${s.filesDone} files`);
  if (s.bytesDone !== undefined) parts.push(s.bytesTotal !== undefined ? `${formatBytes(bytesDone)} / ${formatBytes(s.bytesTotal)}` : formatBytes(bytesDone));
  const rate = elapsedSec > 0.5 ? bytesDone / elapsedSec : 0;
  if (s.bytesDone !== undefined && rate > 0) parts.push(`${formatBytes(rate)}/s`);
  if (s.totalsFinal && s.bytesTotal !== undefined && rate > 0 && s.bytesTotal > bytesDone) {
    parts.push(`ETA ${formatDuration((s.bytesTotal - bytesDone) / rate)}`);
  }
  if (s.current) parts.push(s.current);
  return parts.join('  ');
}
