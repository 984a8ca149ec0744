// Media age and the plain wording of durations, for destination warnings and the protection report.
//
// Ages are whole days: floor((now - date) / 24 h), never negative (a date in the future, e.g. from a
// wrong clock, counts as 0). Media age is counted from the earlier of the purchase date and the first
// use (the conservative choice: a drive ages on the shelf too), and for a NAS from its oldest member
// disk when that is known. Cloud storage has no media age.
//
// Wording uses a 365-day year and a 365/12-day month, the same units as the thresholds in
// shared/protection.ts, so "4 years" appears exactly when a 4-year threshold (1460 days) is reached.
// Dates that do not parse are treated as unknown rather than failing the whole health view.
import { mergeThresholds, type DestinationFacts, type HealthThresholdsInput, type MediaKind, type MediaRule } from '../../../shared/protection';

export const DAY_MS = 86_400_000;

/** Milliseconds since the epoch, or undefined for a missing or unparseable date. */
export function parseInstant(iso: string | undefined): number | undefined {
  if (iso === undefined || iso === '') return undefined;
  const t = Date.parse(iso);
  return Number.isNaN(t) ? undefined : t;
}

/** Whole days from `iso` to `now`, or undefined when the date is unknown. */
export function daysSince(iso: string | undefined, now: Date): number | undefined {
  const t = parseInstant(iso);
  return t === undefined ? undefined : wholeDays(now.getTime() - t);
}

export function wholeDays(ms: number): number {
  return ms <= 0 ? 0 : Math.floor(ms / DAY_MS);
}

/** The date media age is counted from (ISO string as recorded), or undefined. */
export function mediaAgeStart(d: DestinationFacts): string | undefined {
  if (d.mediaKind === 'cloud') return undefined;
  const candidates = [d.purchased, d.firstUse];
  if (d.mediaKind === 'nas') candidates.push(d.raidOldestDiskFirstUse);
  let best: { iso: string; t: number } | undefined;
  for (const iso of candidates) {
    const t = parseInstant(iso);
    if (t !== undefined && iso !== undefined && (!best || t < best.t)) best = { iso, t };
  }
  return best?.iso;
}

/** Age of the media in whole days; undefined for cloud storage or when no date is known. */
export function mediaAgeDays(d: DestinationFacts, now: Date): number | undefined {
  return daysSince(mediaAgeStart(d), now);
}

/**
 * A duration in plain words: "less than a day", "1 day", "9 days" (up to 60 days), "3 months",
 * "1 year", "2 years and 4 months".
 */
export function formatDays(days: number): string {
  const d = Math.floor(Math.max(0, days));
  if (d < 1) return 'less than a day';
  if (d <= 60) return count(d, 'day');
  if (d < 365) return count(Math.floor((d * 12) / 365), 'month');
  const years = Math.floor(d / 365);
  const months = Math.floor(((d - years * 365) * 12) / 365);
  return months === 0 ? count(years, 'year') : `${count(years, 'year')} and ${count(months, 'month')}`;
}

function count(n: number, unit: string): string {
  return `${n} ${unit}${n === 1 ? '' : 's'}`;
}

/** The effective rule for a media kind, with the user's overrides. */
export function ruleFor(kind: MediaKind, thresholds?: HealthThresholdsInput): MediaRule {
  return mergeThresholds(thresholds).media[kind];
}
