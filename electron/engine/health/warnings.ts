// Destination health warnings: pure functions of a destination's recorded facts, the thresholds and
// an injected `now`. Defaults and texts follow ../shared/docs/media-longevity.md.
//
// Severities: "info" asks the user to plan (age approaching, NAS disks ageing together, a drive not
// connected for a while); "warning" asks them to act soon (past service life, check due, backups
// falling behind, never verified lately); "critical" means data may already be unreadable or
// missing (read-back failure, flash unplugged for a year, no backup for a month).
//
// Which checks apply follows the media:
// - age: every kind with warn/replace ages (not cloud). Discs past their replace age get
//   "disc-migration" (the doc's migration rule), a NAS approaching it gets "raid-age" (member disks
//   bought together fail together), other kinds "age-approaching" / "age-exceeded".
// - unplugged flash (usb-flash, sd-card, ssd): counted from the last time the device was seen
//   (lastConnected, or a successful backup or check on it, or its first use); never while connected.
// - read-back: discs and tape have a check interval ("check-due") instead of "not-verified", because
//   their only health signal is reading them back; every other kind gets "not-verified".
// - a failed read-back newer than the last passing one is critical, whatever the media.
// - backups falling behind: every kind but write-once discs (a disc set is written once; the next
//   set is a new destination), which still get "never-backed-up".
import {
  mergeThresholds,
  SEVERITY_RANK,
  type DestinationFacts,
  type HealthThresholds,
  type HealthThresholdsInput,
  type MediaKind,
  type MediaRule,
  type Severity,
  type Warning,
  type WarningCode,
} from '../../../shared/protection';
import { daysSince, formatDays, mediaAgeDays, parseInstant } from './media-age';

const DISCS: readonly MediaKind[] = ['cd-r', 'dvd-r', 'bd-r', 'm-disc'];

export function isDisc(kind: MediaKind): boolean {
  return DISCS.includes(kind);
}

/** Media whose only health signal is a full read-back: they get "check-due" on an interval. */
function hasCheckInterval(rule: MediaRule): boolean {
  return rule.checkEveryDays !== undefined;
}

/**
 * Every warning that applies to the destination at `now`, most severe first (stable within a severity).
 * `thresholds` are the user's overrides (or a full HealthThresholds); missing values use the defaults.
 */
export function destinationWarnings(d: DestinationFacts, now: Date, thresholds?: HealthThresholdsInput): Warning[] {
  const t = mergeThresholds(thresholds);
  const rule = t.media[d.mediaKind];
  const out: Warning[] = [];
  const add = (code: WarningCode, severity: Severity, params: Record<string, string | number>, text: string, action: string) =>
    out.push({ destinationId: d.id, code, severity, params: { name: d.name, ...params }, text, action });

  ageWarnings(d, rule, now, add);
  connectionWarnings(d, rule, now, add);
  backupWarnings(d, t, now, add);
  verifyWarnings(d, rule, t, now, add);
  return sortWarnings(out);
}

export function sortWarnings(ws: Warning[]): Warning[] {
  return [...ws].sort((a, b) => SEVERITY_RANK[a.severity] - SEVERITY_RANK[b.severity]);
}

type Add = (code: WarningCode, severity: Severity, params: Record<string, string | number>, text: string, action: string) => void;

/** How a warning names the media: "This backup drive is ...", "These backup discs are ...". */
function mediaWords(kind: MediaKind): { one: string; many: string; plural: boolean } {
  if (isDisc(kind)) return { one: 'disc', many: 'Discs', plural: true };
  if (kind === 'tape') return { one: 'tape', many: 'Tapes', plural: false };
  if (kind === 'sd-card') return { one: 'card', many: 'Cards', plural: false };
  return { one: 'drive', many: 'Drives', plural: false };
}

function ageWarnings(d: DestinationFacts, rule: MediaRule, now: Date, add: Add): void {
  const age = mediaAgeDays(d, now);
  if (age === undefined) return;
  const params = { ageDays: age, age: formatDays(age) };
  const w = mediaWords(d.mediaKind);
  const replace = rule.replaceAgeDays;
  const warn = rule.warnAgeDays;

  if (replace !== undefined && age >= replace) {
    if (isDisc(d.mediaKind)) {
      add('disc-migration', 'warning', { ...params, replaceAgeDays: replace },
        `These discs are ${params.age} old. Recordable discs like these often stop reading after a few years. Copy these backups to new media.`,
        'Back up to new media (new discs, a drive or cloud storage), then keep these discs until that backup is complete.');
    } else if (d.mediaKind === 'nas') {
      add('age-exceeded', 'warning', { ...params, replaceAgeDays: replace },
        `Your NAS disks are ${params.age} old, past their safe service life. Copy your backups to new media soon.`,
        'Replace the NAS disks one at a time, oldest first, and keep another copy of your backups away from the NAS meanwhile.');
    } else {
      add('age-exceeded', 'warning', { ...params, replaceAgeDays: replace },
        `This ${w.one} is ${params.age} old, past its safe service life. Copy your backups to new media soon.`,
        `Add a new destination on new media, back up to it, then retire this ${w.one}.`);
    }
    return;
  }
  if (warn !== undefined && age >= warn) {
    const left = replace !== undefined ? formatDays(replace - age) : undefined;
    const p = { ...params, warnAgeDays: warn, ...(replace !== undefined ? { replaceInDays: replace - age } : {}) };
    if (d.mediaKind === 'nas') {
      add('raid-age', 'info', p,
        `Your NAS disks are ${params.age} old and were likely bought together, so they may fail close together.`,
        `Plan to replace the disks one at a time${left ? ` within ${left}` : ''}, and keep another copy of your backups away from the NAS.`);
    } else if (w.plural) {
      add('age-approaching', 'info', p,
        `These backup discs are ${params.age} old. ${w.many} like these become more likely to fail from about now. Plan to copy them to new media${left ? ` within ${left}` : ''}.`,
        'Keep checking these discs, and plan a backup to new media.');
    } else {
      add('age-approaching', 'info', p,
        `This backup ${w.one} is ${params.age} old. ${w.many} like it become more likely to fail from about now. Plan to replace it${left ? ` within ${left}` : ''}.`,
        `Plan to buy a replacement ${w.one} and add it as a new destination; keep this one until the new one holds a full backup.`);
    }
  }
}

/** The last time a removable device is known to have been plugged in. */
function lastSeen(d: DestinationFacts): string | undefined {
  let best: { iso: string; t: number } | undefined;
  // A backup attempt is left out: it may have failed precisely because the device was not there.
  for (const iso of [d.lastConnected, d.lastBackupOk, d.lastVerifiedOk, d.lastVerifyFailed, d.firstUse]) {
    const t = parseInstant(iso);
    if (t !== undefined && iso !== undefined && (!best || t > best.t)) best = { iso, t };
  }
  return best?.iso;
}

function connectionWarnings(d: DestinationFacts, rule: MediaRule, now: Date, add: Add): void {
  if (d.connected) return;
  const away = daysSince(lastSeen(d), now);
  if (away === undefined) return;
  const params = { daysUnplugged: away, unplugged: formatDays(away) };
  if (rule.unpoweredWarnDays !== undefined || rule.unpoweredCriticalDays !== undefined) {
    const critical = rule.unpoweredCriticalDays !== undefined && away >= rule.unpoweredCriticalDays;
    if (critical || (rule.unpoweredWarnDays !== undefined && away >= rule.unpoweredWarnDays)) {
      add('unpowered-flash', critical ? 'critical' : 'warning', params,
        `This flash device hasn't been plugged in for ${params.unplugged}. Flash slowly loses data while unplugged. Connect it so we can check and refresh your backups.`,
        'Plug it in: Mamori will check it and bring its backups up to date.');
      return;
    }
  }
  if (rule.connectEveryDays !== undefined && away >= rule.connectEveryDays) {
    const every = formatDays(rule.connectEveryDays);
    add('not-connected', 'info', { ...params, connectEveryDays: rule.connectEveryDays },
      `This drive hasn't been connected for ${params.unplugged}. Connect it at least every ${every} so its health can be read and its backups kept up to date.`,
      'Connect the drive and let a backup run.');
  }
}

function backupWarnings(d: DestinationFacts, t: HealthThresholds, now: Date, add: Add): void {
  const connectAction = d.connected
    ? 'Run a backup now; if it fails, the job log says why.'
    : 'Connect this destination so the next backup can reach it, or run a backup now.';
  const okDays = daysSince(d.lastBackupOk, now);
  if (okDays === undefined) {
    // Since when a backup could have been expected: the day it was added (first use stands in).
    const since = daysSince(d.added ?? d.firstUse, now) ?? daysSince(d.lastBackupAttempt, now);
    if (since === undefined || since < t.neverBackedUpAfterDays) return;
    const attempted = parseInstant(d.lastBackupAttempt) !== undefined;
    const severity = since >= t.noBackupCriticalDays ? 'critical' : 'warning';
    add('never-backed-up', severity, { daysSinceAdded: since, sinceAdded: formatDays(since), attempted: attempted ? 1 : 0 },
      attempted
        ? `Nothing has been backed up to this destination yet: every attempt has failed. It was added ${formatDays(since)} ago.`
        : `Nothing has been backed up to this destination yet. It was added ${formatDays(since)} ago.`,
      connectAction);
    return;
  }
  // Write-once discs are archives: each new set is a new destination, so an old last backup is normal.
  if (okDays < t.noBackupWarnDays || isDisc(d.mediaKind)) return;
  const failedSince = (parseInstant(d.lastBackupAttempt) ?? -Infinity) > (parseInstant(d.lastBackupOk) ?? Infinity);
  add('no-recent-backup', okDays >= t.noBackupCriticalDays ? 'critical' : 'warning',
    { daysSinceBackup: okDays, sinceBackup: formatDays(okDays), failedSince: failedSince ? 1 : 0 },
    `The last successful backup to this destination was ${formatDays(okDays)} ago.${failedSince ? ' Backups since then have failed.' : ''}`,
    connectAction);
}

function verifyWarnings(d: DestinationFacts, rule: MediaRule, t: HealthThresholds, now: Date, add: Add): void {
  const okT = parseInstant(d.lastVerifiedOk);
  const failT = parseInstant(d.lastVerifyFailed);
  if (failT !== undefined && (okT === undefined || failT > okT)) {
    const days = daysSince(d.lastVerifyFailed, now) ?? 0;
    const what = d.mediaKind === 'cloud' || d.mediaKind === 'nas' ? 'destination' : isDisc(d.mediaKind) ? 'set of discs' : mediaWords(d.mediaKind).one;
    add('read-back-failed', 'critical', { daysSinceFailure: days },
      `Some backed-up data could not be read back correctly. Don't rely on this ${what}. Make a fresh copy on other media.`,
      'Back up to another destination now; the check report lists which files are affected.');
    // A failed check is a check: no reminder to check as well.
    return;
  }
  const verifiedDays = daysSince(d.lastVerifiedOk, now);
  const everBackedUp = parseInstant(d.lastBackupOk) !== undefined;

  if (hasCheckInterval(rule)) {
    const every = rule.checkEveryDays as number;
    const w = mediaWords(d.mediaKind);
    const insert = d.mediaKind === 'tape' ? 'Load it' : 'Insert them';
    const these = d.mediaKind === 'tape' ? 'This tape was' : 'These discs were';
    const action = d.mediaKind === 'tape' ? 'Load the tape and run a check that reads all data.' : 'Insert the discs and run a check that reads all data.';
    if (verifiedDays !== undefined) {
      if (verifiedDays >= every) {
        add('check-due', 'warning', { daysSinceCheck: verifiedDays, sinceCheck: formatDays(verifiedDays), checkEveryDays: every },
          `${these} last checked ${formatDays(verifiedDays)} ago. ${insert} so we can confirm every file still reads correctly.`, action);
      }
      return;
    }
    const age = mediaAgeDays(d, now);
    if (everBackedUp && age !== undefined && age >= every) {
      const never = w.plural ? 'These discs have never been checked' : 'This tape has never been checked';
      add('check-due', 'warning', { ageDays: age, age: formatDays(age), checkEveryDays: every },
        `${never}, and ${w.plural ? 'they are' : 'it is'} ${formatDays(age)} old. ${insert} so we can confirm every file still reads correctly.`, action);
    }
    return;
  }

  const limit = rule.notVerifiedDays ?? t.notVerifiedDays;
  const action = 'Run a check that reads the backed-up data back.';
  if (verifiedDays !== undefined) {
    if (verifiedDays >= limit) {
      add('not-verified', 'warning', { daysSinceCheck: verifiedDays, sinceCheck: formatDays(verifiedDays), notVerifiedDays: limit },
        `We haven't confirmed this backup can be restored in ${formatDays(verifiedDays)}. Run a check.`, action);
    }
    return;
  }
  const since = daysSince(d.added ?? d.firstUse, now);
  if (everBackedUp && since !== undefined && since >= limit) {
    add('not-verified', 'warning', { daysSinceAdded: since, sinceAdded: formatDays(since), notVerifiedDays: limit, never: 1 },
      `We have never confirmed this backup can be restored, and it was added ${formatDays(since)} ago. Run a check.`, action);
  }
}

