// Transfer rate and time left for progress bars: bytes per second over a sliding window of recent
// samples (a whole-run average would hide a stall; a single interval jumps around), and an ETA
// only once the totals are known.

export class RateMeter {
  private samples: { t: number; bytes: number }[] = [];

  constructor(private readonly windowMs = 10_000, private readonly now: () => number = Date.now) {}

  /** Records the running byte count; returns bytes per second over the window (0 until two samples). */
  update(bytes: number): number {
    const t = this.now();
    this.samples.push({ t, bytes });
    while (this.samples.length > 2 && t - this.samples[0].t > this.windowMs) this.samples.shift();
    const first = this.samples[0];
    const dt = (t - first.t) / 1000;
    return dt > 0 ? Math.max(0, (bytes - first.bytes) / dt) : 0;
  }
}

/** Seconds left, or undefined when it cannot be estimated honestly. */
export function etaSeconds(bytesDone: number, bytesTotal: number, totalsFinal: boolean, rate: number): number | undefined {
  if (!totalsFinal || rate <= 0 || bytesTotal <= 0) return undefined;
  return Math.max(0, Math.round((bytesTotal - bytesDone) / rate));
}
