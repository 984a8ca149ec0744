// Types and defaults for media age, destination health warnings and the per-source protection report,
// shared by the engine (which computes them: electron/engine/health) and the UI (which shows them and
// lets the user change every threshold). Plain data only: no Node, no DOM.
//
// The default thresholds come from ../shared/docs/media-longevity.md. Durations are whole days; a
// year is 365 days and a month 365/12 days, so "4 years" is 1460 days and "6 months" 183 days, and the
// wording of an age (electron/engine/health/media-age.ts) says "4 years" exactly when the 4-year
// threshold is reached. A threshold of N days fires when an age reaches N whole days.
import { ErrorCode, MamoriError } from './errors';

// ---- media and places ----------------------------------------------------------------------------

export type MediaKind =
  | 'internal-hdd'
  | 'external-hdd'
  | 'ssd'
  | 'usb-flash'
  | 'sd-card'
  | 'cd-r'
  | 'dvd-r'
  | 'bd-r'
  | 'm-disc'
  | 'tape'
  | 'nas'
  | 'cloud';

/** Media that share a failure mechanism, hence a weakness when every copy is on one of them. */
export type MediaFamily = 'hdd' | 'flash' | 'disc' | 'tape' | 'cloud';

export interface MediaKindInfo {
  kind: MediaKind;
  /** For lists and pickers: "USB flash drive". */
  label: string;
  /** For lists of several: "USB flash drives". */
  plural: string;
  /** For sentences, after "the": "the USB drive fails", "the USB drive copy". */
  noun: string;
  family: MediaFamily;
}

export const MEDIA_KINDS: readonly MediaKindInfo[] = Object.freeze([
  { kind: 'internal-hdd', label: 'Internal hard drive', plural: 'internal hard drives', noun: 'internal drive', family: 'hdd' },
  { kind: 'external-hdd', label: 'External hard drive', plural: 'external hard drives', noun: 'external drive', family: 'hdd' },
  { kind: 'ssd', label: 'SSD', plural: 'SSDs', noun: 'SSD', family: 'flash' },
  { kind: 'usb-flash', label: 'USB flash drive', plural: 'USB flash drives', noun: 'USB drive', family: 'flash' },
  { kind: 'sd-card', label: 'SD card', plural: 'SD cards', noun: 'SD card', family: 'flash' },
  { kind: 'cd-r', label: 'CD-R discs', plural: 'CD-R discs', noun: 'CD-R set', family: 'disc' },
  { kind: 'dvd-r', label: 'DVD-R discs', plural: 'DVD-R discs', noun: 'DVD-R set', family: 'disc' },
  { kind: 'bd-r', label: 'BD-R (Blu-ray) discs', plural: 'Blu-ray discs', noun: 'Blu-ray set', family: 'disc' },
  { kind: 'm-disc', label: 'M-DISC', plural: 'M-DISCs', noun: 'M-DISC set', family: 'disc' },
  { kind: 'tape', label: 'Tape (LTO)', plural: 'tapes', noun: 'tape', family: 'tape' },
  { kind: 'nas', label: 'NAS', plural: 'NAS boxes', noun: 'NAS', family: 'hdd' },
  { kind: 'cloud', label: 'Cloud storage', plural: 'cloud storage', noun: 'cloud storage', family: 'cloud' },
] satisfies MediaKindInfo[]);

export function isMediaKind(x: unknown): x is MediaKind {
  return MEDIA_KINDS.some((m) => m.kind === x);
}

export function mediaKindInfo(kind: MediaKind): MediaKindInfo {
  const info = MEDIA_KINDS.find((m) => m.kind === kind);
  if (!info) throw new MamoriError(ErrorCode.InvalidRequest, `unknown media kind "${String(kind)}"`);
  return info;
}

/** Where a computer or destination is kept. "offsite" means somewhere away from the computer. */
export type Place = 'home' | 'office' | 'offsite';

export const PLACES: readonly { place: Place; label: string }[] = Object.freeze([
  { place: 'home', label: 'Home' },
  { place: 'office', label: 'Office' },
  { place: 'offsite', label: 'Elsewhere (offsite)' },
] satisfies { place: Place; label: string }[]);

export function isPlace(x: unknown): x is Place {
  return PLACES.some((p) => p.place === x);
}

// ---- thresholds ----------------------------------------------------------------------------------

/**
 * Per-kind rules, in days. An absent field means that check does not apply to the kind
 * (cloud has no media age; only discs and tape have a check interval).
 */
export interface MediaRule {
  /** Age from which replacement should be planned (warning "age-approaching" / "raid-age"). */
  warnAgeDays?: number;
  /** Age past safe service life ("age-exceeded"; for discs "disc-migration"). */
  replaceAgeDays?: number;
  /** Flash left unplugged this long starts losing data ("unpowered-flash", warning). */
  unpoweredWarnDays?: number;
  /** ... and this long is critical. */
  unpoweredCriticalDays?: number;
  /** A drive that should be connected this often so its health can be read ("not-connected", info). */
  connectEveryDays?: number;
  /** Discs and tape: full read-back due this often ("check-due"). Replaces "not-verified" for the kind. */
  checkEveryDays?: number;
  /** Overrides HealthThresholds.notVerifiedDays for this kind. */
  notVerifiedDays?: number;
}

const YEAR = 365;
const MONTHS_6 = 183;

/** From media-longevity.md; (J) values there are judgement, every one is user-adjustable. */
export const DEFAULT_MEDIA_RULES: Readonly<Record<MediaKind, Readonly<MediaRule>>> = deepFreeze({
  'internal-hdd': { warnAgeDays: 4 * YEAR, replaceAgeDays: 5 * YEAR },
  'external-hdd': { warnAgeDays: 3 * YEAR, replaceAgeDays: 5 * YEAR, connectEveryDays: MONTHS_6 },
  // Client-SSD unpowered retention (JESD218: 1 year at 30 C); enterprise SSDs (3 months) are not told apart.
  ssd: { warnAgeDays: 5 * YEAR, replaceAgeDays: 7 * YEAR, unpoweredWarnDays: MONTHS_6, unpoweredCriticalDays: YEAR },
  'usb-flash': { warnAgeDays: 3 * YEAR, replaceAgeDays: 5 * YEAR, unpoweredWarnDays: MONTHS_6, unpoweredCriticalDays: YEAR },
  'sd-card': { warnAgeDays: 3 * YEAR, replaceAgeDays: 5 * YEAR, unpoweredWarnDays: MONTHS_6, unpoweredCriticalDays: YEAR },
  'cd-r': { warnAgeDays: 3 * YEAR, replaceAgeDays: 5 * YEAR, checkEveryDays: 2 * YEAR },
  'dvd-r': { warnAgeDays: 3 * YEAR, replaceAgeDays: 5 * YEAR, checkEveryDays: 2 * YEAR },
  'bd-r': { warnAgeDays: 3 * YEAR, replaceAgeDays: 5 * YEAR, checkEveryDays: 2 * YEAR },
  'm-disc': { warnAgeDays: 5 * YEAR, replaceAgeDays: 10 * YEAR, checkEveryDays: 3 * YEAR },
  tape: { warnAgeDays: 8 * YEAR, replaceAgeDays: 10 * YEAR, checkEveryDays: 2 * YEAR },
  // Ages apply to the oldest member disk (DestinationFacts.raidOldestDiskFirstUse) when known.
  nas: { warnAgeDays: 4 * YEAR, replaceAgeDays: 5 * YEAR },
  cloud: { notVerifiedDays: 90 },
});

export interface HealthThresholds {
  media: Record<MediaKind, MediaRule>;
  /** No successful backup to a destination for this long: warning ... */
  noBackupWarnDays: number;
  /** ... and critical. */
  noBackupCriticalDays: number;
  /** A destination added this long ago that never received a backup: "never-backed-up". */
  neverBackedUpAfterDays: number;
  /** No successful read-back check for this long ("not-verified"), unless the kind's rule says otherwise. */
  notVerifiedDays: number;
  /** Report: a copy is current when its newest snapshot is at most this old (or holds the latest change). */
  currentCopyMaxAgeDays: number;
}

export const DEFAULT_THRESHOLDS: Readonly<HealthThresholds> = deepFreeze({
  media: DEFAULT_MEDIA_RULES as Record<MediaKind, MediaRule>,
  noBackupWarnDays: 7,
  noBackupCriticalDays: 30,
  neverBackedUpAfterDays: 1,
  notVerifiedDays: 90,
  currentCopyMaxAgeDays: 7,
});

/** A media rule as the user overrides it: a number replaces the default, null turns the check off. */
export type MediaRuleInput = { [K in keyof MediaRule]?: number | null };

/** The user's overrides; anything left out keeps its default. */
export interface HealthThresholdsInput {
  media?: Partial<Record<MediaKind, MediaRuleInput>>;
  noBackupWarnDays?: number;
  noBackupCriticalDays?: number;
  neverBackedUpAfterDays?: number;
  notVerifiedDays?: number;
  currentCopyMaxAgeDays?: number;
}

const RULE_FIELDS: readonly (keyof MediaRule)[] = [
  'warnAgeDays', 'replaceAgeDays', 'unpoweredWarnDays', 'unpoweredCriticalDays', 'connectEveryDays', 'checkEveryDays', 'notVerifiedDays',
];
const GLOBAL_FIELDS = ['noBackupWarnDays', 'noBackupCriticalDays', 'neverBackedUpAfterDays', 'notVerifiedDays', 'currentCopyMaxAgeDays'] as const;

/**
 * The defaults with the user's overrides applied, as a fresh object (the defaults are never changed).
 * Throws MamoriError(InvalidRequest) naming the setting when a value is not a number of days >= 0
 * or a media kind is unknown, so a bad settings file is reported rather than silently half-applied.
 */
export function mergeThresholds(user?: HealthThresholdsInput): HealthThresholds {
  const media = {} as Record<MediaKind, MediaRule>;
  for (const { kind } of MEDIA_KINDS) media[kind] = { ...DEFAULT_MEDIA_RULES[kind] };
  const out: HealthThresholds = { ...DEFAULT_THRESHOLDS, media };
  if (!user) return out;
  for (const f of GLOBAL_FIELDS) {
    const v = user[f];
    if (v === undefined) continue;
    out[f] = checkDays(v, f);
  }
  for (const [kind, rule] of Object.entries(user.media ?? {})) {
    if (!isMediaKind(kind)) {
      throw new MamoriError(ErrorCode.InvalidRequest, `health thresholds: unknown media kind "${kind}"`, {
        hint: `Use one of: ${MEDIA_KINDS.map((m) => m.kind).join(', ')}.`,
      });
    }
    if (!rule) continue;
    for (const f of RULE_FIELDS) {
      const v = rule[f];
      if (v === undefined) continue;
      if (v === null) delete media[kind][f];
      else media[kind][f] = checkDays(v, `media.${kind}.${f}`);
    }
  }
  return out;
}

function checkDays(v: unknown, name: string): number {
  if (typeof v !== 'number' || !Number.isFinite(v) || v < 0) {
    throw new MamoriError(ErrorCode.InvalidRequest, `health threshold ${name} must be a number of days (0 or more), got ${String(v)}`, {
      hint: 'Correct the value in the warning settings, or reset it to the default.',
    });
  }
  return v;
}

function deepFreeze<T>(o: T): T {
  if (o && typeof o === 'object' && !Object.isFrozen(o)) {
    Object.freeze(o);
    for (const v of Object.values(o)) deepFreeze(v);
  }
  return o;
}

// ---- destination facts and warnings ----------------------------------------------------------------

/** What is recorded about a destination. Dates are ISO 8601 (a date, or a date and time). */
export interface DestinationFacts {
  id: string;
  name: string;
  mediaKind: MediaKind;
  place: Place;
  /** When the media was first used (for discs: written). */
  firstUse?: string;
  /** When the media was bought; media age uses the earlier of this and firstUse. */
  purchased?: string;
  /** When the destination was added to Mamori (for "never-backed-up"); firstUse stands in if absent. */
  added?: string;
  /** Last time the device was seen connected (removable media). */
  lastConnected?: string;
  lastBackupOk?: string;
  lastBackupAttempt?: string;
  /** Last read-back check that passed. */
  lastVerifiedOk?: string;
  /** A read-back check that failed; counts only when later than lastVerifiedOk. */
  lastVerifyFailed?: string;
  /** Reachable right now (plugged in, mounted, online). */
  connected: boolean;
  /** Backups there cannot be deleted or overwritten from this computer (append-only server, object lock). */
  appendOnly?: boolean;
  /** NAS: first use of its oldest member disk. */
  raidOldestDiskFirstUse?: string;
}

export type WarningCode =
  | 'age-approaching'
  | 'age-exceeded'
  | 'raid-age'
  | 'disc-migration'
  | 'unpowered-flash'
  | 'not-connected'
  | 'check-due'
  | 'no-recent-backup'
  | 'never-backed-up'
  | 'not-verified'
  | 'read-back-failed';

export type Severity = 'info' | 'warning' | 'critical';

export const SEVERITY_RANK: Readonly<Record<Severity, number>> = Object.freeze({ critical: 0, warning: 1, info: 2 });

export interface Warning {
  destinationId?: string;
  sourceId?: string;
  code: WarningCode;
  severity: Severity;
  /** Numbers and names the text is built from, so the UI can translate it later. */
  params: Record<string, string | number>;
  /** Plain English. */
  text: string;
  /** What to do, in plain English. */
  action: string;
}

// ---- protection report -----------------------------------------------------------------------------

export interface SourceFacts {
  id: string;
  name: string;
  /** When a change in the source was last seen; a snapshot taken after it holds everything. */
  lastChangeSeen?: string;
  /** Where the computer holding the original is. Default home. */
  originalPlace?: Place;
  /** How sentences name the computer: "the laptop". Default "this computer". */
  originalLabel?: string;
}

export interface CopyFacts {
  destination: DestinationFacts;
  /** ISO time of the newest snapshot of this source on the destination; absent if it holds none. */
  newestSnapshot?: string;
}

export interface ProtectionInput {
  source: SourceFacts;
  copies: CopyFacts[];
  now: Date;
  thresholds?: HealthThresholdsInput;
}

/** Why a copy does not count as current. */
export type NotCurrentReason = 'no-snapshot' | 'stale' | 'unreliable';

export interface CopyLine {
  destinationId: string;
  name: string;
  mediaKind: MediaKind;
  mediaLabel: string;
  place: Place;
  /** At another place than the computer (or in the cloud): survives a fire or burglary there. */
  away: boolean;
  newestSnapshot?: string;
  snapshotAgeDays?: number;
  /** "9 days" */
  snapshotAge?: string;
  /** Absent for cloud storage and when no date is known. */
  mediaAgeDays?: number;
  mediaAge?: string;
  current: boolean;
  notCurrentReason?: NotCurrentReason;
  warnings: Warning[];
}

export interface Rule321 {
  holds: boolean;
  /** The original plus every current backup. */
  copies: number;
  /** Distinct media kinds among the current backups (the original's own disk is not counted). */
  media: number;
  /** A current backup is away from the computer's place. */
  offsite: boolean;
  /** What is missing, in plain words that follow "needs": "one more up-to-date backup". */
  missing: string[];
}

export type RiskCode =
  | 'no-backup'
  | 'only-one-copy'
  | 'same-place'
  | 'original-fails'
  | 'copy-and-original-fail'
  | 'copies-one-place'
  | 'same-media'
  | 'reachable-by-malware';

export interface Risk {
  code: RiskCode;
  text: string;
  /** Whole days of changes lost in this case; absent when everything (or nothing measurable) is at stake. */
  lossDays?: number;
  params: Record<string, string | number>;
}

export type Verdict = 'protected' | 'at-risk' | 'unprotected';

export interface ProtectionReport {
  sourceId: string;
  sourceName: string;
  /** The `now` the report was computed for. */
  asOf: string;
  verdict: Verdict;
  headline: string;
  /** Destinations holding at least one snapshot of the source. */
  copiesTotal: number;
  /** Copies that hold a recent snapshot on a destination with no sign of unreadable data. */
  currentCopies: number;
  /** Over current copies. */
  distinctMediaKinds: number;
  mediaKinds: MediaKind[];
  places: Place[];
  hasOffsite: boolean;
  newestSnapshot?: string;
  copies: CopyLine[];
  rule321: Rule321;
  risks: Risk[];
}
