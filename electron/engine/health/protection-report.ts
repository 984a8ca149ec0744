// The protection report of one source: where its copies are, which of them are current, whether the
// 3-2-1 rule holds, and in plain sentences which failure would lose what. Pure: facts + `now` in,
// report out.
//
// Definitions (the UI explains them in these words):
// - A copy is a destination holding at least one snapshot of the source. It is *current* when its
//   newest snapshot is at most currentCopyMaxAgeDays old, or was taken after the source last changed
//   (lastChangeSeen), and the destination shows no sign that its data may be unreadable (a failed
//   read-back, or flash unplugged past the critical limit). Other critical warnings, such as backups
//   falling behind, already show in the snapshot's age.
// - 3-2-1: three copies counting the original (so two current backups), on two kinds of media among
//   the backups (the original's own disk does not count: the second medium is there so one weakness
//   cannot take out every backup), and one current backup away from the computer's place. A copy is
//   away when it is in cloud storage, marked offsite, or at another place than the computer.
// - Losses are whole days of changes: what a failure costs is the age of the freshest copy that
//   survives it, or nothing if that copy was taken after the source last changed. A copy's own
//   failure is reported only when it costs more than the computer failing alone (i.e. the copy is the
//   freshest), and only when at least a whole day is at stake.
import {
  MEDIA_KINDS,
  mediaKindInfo,
  mergeThresholds,
  type CopyLine,
  type DestinationFacts,
  type MediaFamily,
  type MediaKind,
  type Place,
  type ProtectionInput,
  type ProtectionReport,
  type Risk,
  type RiskCode,
  type Rule321,
  type Verdict,
} from '../../../shared/protection';
import { destinationWarnings, isDisc } from './warnings';
import { formatDays, mediaAgeDays, parseInstant, wholeDays } from './media-age';

/** Warnings that mean the copy's data may already be unreadable. */
const UNRELIABLE_CODES = new Set(['read-back-failed', 'unpowered-flash']);

const PLACE_ORDER: readonly Place[] = ['home', 'office', 'offsite'];

interface Line extends CopyLine {
  snapT?: number;
  dest: DestinationFacts;
}

export function protectionReport(input: ProtectionInput): ProtectionReport {
  const { source, now } = input;
  const t = mergeThresholds(input.thresholds);
  const origPlace = source.originalPlace ?? 'home';
  const orig = source.originalLabel ?? 'this computer';
  const lastChange = parseInstant(source.lastChangeSeen);
  const nowT = now.getTime();

  const lines: Line[] = input.copies.map(({ destination: d, newestSnapshot }) => {
    const info = mediaKindInfo(d.mediaKind);
    const warnings = destinationWarnings(d, now, t);
    const snapT = parseInstant(newestSnapshot);
    const snapshotAgeDays = snapT === undefined ? undefined : wholeDays(nowT - snapT);
    const mAge = mediaAgeDays(d, now);
    let notCurrentReason: CopyLine['notCurrentReason'];
    if (snapT === undefined || snapshotAgeDays === undefined) notCurrentReason = 'no-snapshot';
    else if (snapshotAgeDays > t.currentCopyMaxAgeDays && !(lastChange !== undefined && snapT >= lastChange)) notCurrentReason = 'stale';
    else if (warnings.some((w) => w.severity === 'critical' && UNRELIABLE_CODES.has(w.code))) notCurrentReason = 'unreliable';
    const line: Line = {
      destinationId: d.id,
      name: d.name,
      mediaKind: d.mediaKind,
      mediaLabel: info.label,
      place: d.place,
      away: d.mediaKind === 'cloud' || d.place === 'offsite' || d.place !== origPlace,
      current: notCurrentReason === undefined,
      warnings,
      snapT,
      dest: d,
    };
    if (snapT !== undefined && snapshotAgeDays !== undefined) {
      line.newestSnapshot = newestSnapshot;
      line.snapshotAgeDays = snapshotAgeDays;
      line.snapshotAge = formatDays(snapshotAgeDays);
    }
    if (mAge !== undefined) {
      line.mediaAgeDays = mAge;
      line.mediaAge = formatDays(mAge);
    }
    if (notCurrentReason) line.notCurrentReason = notCurrentReason;
    return line;
  });

  const held = lines.filter((l) => l.snapT !== undefined).sort((a, b) => (b.snapT as number) - (a.snapT as number));
  const current = lines.filter((l) => l.current);
  const mediaKinds = MEDIA_KINDS.map((m) => m.kind).filter((k) => current.some((l) => l.mediaKind === k));
  const places = PLACE_ORDER.filter((p) => current.some((l) => l.place === p));
  const hasOffsite = current.some((l) => l.away);

  const rule321 = rule321For(current.length, mediaKinds, hasOffsite, origPlace);
  const naming = new Naming(lines);
  const risks = risksFor({ held, orig, origPlace, sourceName: source.name, lastChange, nowT, naming });

  let verdict: Verdict;
  let headline: string;
  if (held.length === 0) {
    verdict = 'unprotected';
    headline = `${source.name} has no backup yet.`;
  } else if (rule321.holds) {
    verdict = 'protected';
    const awayCount = current.filter((l) => l.away).length;
    headline = `${source.name} is well protected: ${current.length} up-to-date backups on ${mediaKinds.length} kinds of media, ${awayCount === 1 ? 'one' : awayCount} of them away from ${placeName(origPlace)}.`;
  } else {
    verdict = 'at-risk';
    if (current.length === 0) {
      const freshest = held[0];
      headline = freshest.notCurrentReason === 'stale'
        ? `${source.name} has no up-to-date backup: the newest is ${freshest.snapshotAge} old.`
        : `${source.name} has no backup that can be relied on right now: see the warnings on its destinations.`;
    } else {
      headline = `${source.name} has ${current.length} up-to-date backup${current.length === 1 ? '' : 's'}; for 3-2-1 protection it also needs ${joinList(rule321.missing)}.`;
    }
  }

  const newest = held[0];
  return {
    sourceId: source.id,
    sourceName: source.name,
    asOf: now.toISOString(),
    verdict,
    headline,
    copiesTotal: held.length,
    currentCopies: current.length,
    distinctMediaKinds: mediaKinds.length,
    mediaKinds,
    places,
    hasOffsite,
    ...(newest?.newestSnapshot !== undefined ? { newestSnapshot: newest.newestSnapshot } : {}),
    copies: lines.map(({ snapT: _snapT, dest: _dest, ...line }) => line),
    rule321,
    risks,
  };
}

function rule321For(currentCount: number, kinds: MediaKind[], offsite: boolean, origPlace: Place): Rule321 {
  const copies = 1 + currentCount;
  const missing: string[] = [];
  if (copies < 3) missing.push(copies === 2 ? 'one more up-to-date backup' : 'two more up-to-date backups');
  if (kinds.length === 0) missing.push('backups on two different kinds of media');
  else if (kinds.length === 1) missing.push(`a backup on something other than ${mediaKindInfo(kinds[0]).plural}`);
  if (!offsite) missing.push(`a copy kept away from ${placeName(origPlace)}`);
  return { holds: missing.length === 0, copies, media: kinds.length, offsite, missing };
}

function placeName(p: Place): string {
  return p === 'home' ? 'home' : p === 'office' ? 'the office' : "the computer's place";
}

function atPlace(p: Place): string {
  return p === 'home' ? 'at home' : p === 'office' ? 'at the office' : 'there';
}

function joinList(items: string[]): string {
  if (items.length <= 1) return items.join('');
  return `${items.slice(0, -1).join(', ')} and ${items[items.length - 1]}`;
}

/**
 * How sentences name a destination: by its media ("the USB drive", "the NAS copy") when it is the
 * only one of its kind, else by its name as well ('the external drive "Blue"').
 */
class Naming {
  private readonly kindCount = new Map<MediaKind, number>();
  constructor(lines: CopyLine[]) {
    for (const l of lines) this.kindCount.set(l.mediaKind, (this.kindCount.get(l.mediaKind) ?? 0) + 1);
  }
  device(l: CopyLine): string {
    const noun = mediaKindInfo(l.mediaKind).noun;
    return this.unique(l) ? `the ${noun}` : `the ${noun} "${l.name}"`;
  }
  copy(l: CopyLine): string {
    const noun = mediaKindInfo(l.mediaKind).noun;
    return this.unique(l) ? `the ${noun} copy` : `the copy on the ${noun} "${l.name}"`;
  }
  private unique(l: CopyLine): boolean {
    return (this.kindCount.get(l.mediaKind) ?? 0) <= 1;
  }
}

const WEAKNESS: Record<MediaFamily, string> = {
  hdd: 'hard drives share the same weak points (knocks, power surges, wear), and drives bought together often fail close together',
  flash: 'flash memory slowly loses data while unplugged, and devices of one kind age the same way',
  disc: 'recordable discs of one kind age the same way and often stop reading after a few years',
  tape: 'every tape needs a working drive of the right generation to be read back',
  cloud: 'they depend on your accounts: a lost password, a closed account or a deletion made while signed in can affect them together',
};

function lastLost(days: number): string {
  return days === 1 ? 'the last day is lost' : `the last ${formatDays(days)} are lost`;
}

/**
 * Malware running on the computer can reach copies that are online and deletable from it: always-on
 * destinations, and removable ones while they are plugged in. Write-once discs, tape and append-only
 * destinations are out of its reach.
 */
function reachable(l: Line): boolean {
  if (l.dest.appendOnly) return false;
  if (isDisc(l.mediaKind) || l.mediaKind === 'tape') return false;
  return l.mediaKind === 'internal-hdd' || l.mediaKind === 'nas' || l.mediaKind === 'cloud' || l.dest.connected;
}

function risksFor(ctx: {
  held: Line[];
  orig: string;
  origPlace: Place;
  sourceName: string;
  lastChange: number | undefined;
  nowT: number;
  naming: Naming;
}): Risk[] {
  const { held, orig, origPlace, sourceName, lastChange, nowT, naming } = ctx;
  const risks: Risk[] = [];
  const add = (code: RiskCode, text: string, params: Record<string, string | number>, lossDays?: number) =>
    risks.push({ code, text, params, ...(lossDays !== undefined ? { lossDays } : {}) });
  const origDisk = `${orig}'s disk`;

  if (held.length === 0) {
    add('no-backup', `If ${origDisk} fails, everything in ${sourceName} is lost: it has no backup yet.`, { source: sourceName });
    return risks;
  }

  /** Days of changes lost if only this copy survives. */
  const lossIfOnly = (l: Line): number => {
    const s = l.snapT as number;
    return lastChange !== undefined && lastChange <= s ? 0 : wholeDays(nowT - s);
  };

  if (held.length === 1) {
    add('only-one-copy', `If ${naming.device(held[0])} fails at the same time as ${orig}, everything is lost.`,
      { destination: held[0].name });
  }
  if (held.every((l) => !l.away)) {
    add('same-place', `A fire or burglary ${atPlace(origPlace)} would destroy ${orig} and every copy together.`, { place: origPlace });
  }

  const baseline = lossIfOnly(held[0]);
  if (baseline >= 1) {
    add('original-fails', `If ${origDisk} fails, ${lastLost(baseline)}: ${naming.copy(held[0])} is that old.`,
      { days: baseline, destination: held[0].name }, baseline);
  }
  if (held.length >= 2) {
    for (const l of held) {
      const survivor = held.find((o) => o !== l) as Line;
      const loss = lossIfOnly(survivor);
      if (loss >= 1 && loss > baseline) {
        add('copy-and-original-fail',
          `If ${naming.device(l)} fails while ${orig} is stolen, ${lastLost(loss)}: ${naming.copy(survivor)} is that old.`,
          { days: loss, destination: l.name, survivor: survivor.name }, loss);
      }
    }
  }

  const firstPlace = held[0].place;
  if (held.length >= 2 && held.every((l) => l.away && l.mediaKind !== 'cloud' && l.place === firstPlace && l.place !== 'offsite')) {
    add('copies-one-place',
      `A fire or burglary ${atPlace(firstPlace)} would destroy every copy at once, leaving ${orig} as the only one.`, { place: firstPlace });
  }

  const kind = held[0].mediaKind;
  if (held.length >= 2 && held.every((l) => l.mediaKind === kind)) {
    const info = mediaKindInfo(kind);
    add('same-media',
      `Every copy is on ${info.plural}, so they share one weakness: ${WEAKNESS[info.family]}. A copy on another kind of media would not share it.`,
      { mediaKind: kind });
  }

  if (held.every(reachable)) {
    add('reachable-by-malware',
      `Ransomware on ${orig} could encrypt or erase every copy as well, because each one can be reached from it. Keeping one copy unplugged, or on a destination that refuses deletions, protects against that.`,
      {});
  }
  return risks;
}
