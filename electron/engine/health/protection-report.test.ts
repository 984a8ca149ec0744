import { describe, test } from 'node:test';
import assert from 'node:assert/strict';
import type { CopyFacts, DestinationFacts, HealthThresholdsInput, ProtectionReport, SourceFacts } from '../../../shared/protection';
import { protectionReport } from './protection-report';

const NOW = new Date('2025-06-15T12:00:00Z');
const DAY = 86_400_000;
const ago = (days: number, hours = 0) => new Date(NOW.getTime() - days * DAY - hours * 3_600_000).toISOString();

let nextId = 0;
/** A healthy destination; the snapshot time doubles as its last successful backup. */
function copy(over: Partial<DestinationFacts>, snapshotDaysAgo: number | undefined, hours = 0): CopyFacts {
  const snap = snapshotDaysAgo === undefined ? undefined : ago(snapshotDaysAgo, hours);
  const destination: DestinationFacts = {
    id: `d${++nextId}`,
    name: `Dest ${nextId}`,
    mediaKind: 'external-hdd',
    place: 'home',
    connected: false,
    added: ago(100),
    firstUse: ago(100),
    lastBackupOk: snap ?? ago(0),
    lastVerifiedOk: ago(1),
    ...over,
  };
  return snap === undefined ? { destination } : { destination, newestSnapshot: snap };
}
const SOURCE: SourceFacts = { id: 's1', name: 'Documents' };
const report = (copies: CopyFacts[], source: Partial<SourceFacts> = {}, thresholds?: HealthThresholdsInput): ProtectionReport =>
  protectionReport({ source: { ...SOURCE, ...source }, copies, now: NOW, thresholds });
const riskCodes = (r: ProtectionReport) => r.risks.map((x) => x.code);
const risk = (r: ProtectionReport, code: string) => {
  const found = r.risks.filter((x) => x.code === code);
  assert.equal(found.length, 1, `expected one ${code} risk, got ${JSON.stringify(r.risks)}`);
  return found[0];
};

describe('no copy', () => {
  test('nothing configured: unprotected, everything at stake', () => {
    const r = report([]);
    assert.equal(r.verdict, 'unprotected');
    assert.equal(r.headline, 'Documents has no backup yet.');
    assert.equal(r.copiesTotal, 0);
    assert.equal(r.currentCopies, 0);
    assert.deepEqual(r.risks, [{ code: 'no-backup', text: "If this computer's disk fails, everything in Documents is lost: it has no backup yet.", params: { source: 'Documents' } }]);
    assert.deepEqual(r.rule321, {
      holds: false, copies: 1, media: 0, offsite: false,
      missing: ['two more up-to-date backups', 'backups on two different kinds of media', 'a copy kept away from home'],
    });
  });
  test('a destination that holds no snapshot of the source is not a copy', () => {
    const r = report([copy({ mediaKind: 'cloud', place: 'offsite' }, undefined)], { originalLabel: 'the laptop' });
    assert.equal(r.verdict, 'unprotected');
    assert.equal(r.copiesTotal, 0);
    assert.equal(r.copies.length, 1);
    assert.equal(r.copies[0].current, false);
    assert.equal(r.copies[0].notCurrentReason, 'no-snapshot');
    assert.equal(r.risks[0].text, "If the laptop's disk fails, everything in Documents is lost: it has no backup yet.");
  });
});

describe('one copy', () => {
  test('a USB drive at home, backed up today', () => {
    const r = report([copy({ mediaKind: 'usb-flash', name: 'Stick', connected: true }, 0, 2)]);
    assert.equal(r.verdict, 'at-risk');
    assert.equal(r.copiesTotal, 1);
    assert.equal(r.currentCopies, 1);
    assert.equal(r.headline,
      'Documents has 1 up-to-date backup; for 3-2-1 protection it also needs one more up-to-date backup, a backup on something other than USB flash drives and a copy kept away from home.');
    assert.deepEqual(riskCodes(r), ['only-one-copy', 'same-place', 'reachable-by-malware']);
    assert.equal(risk(r, 'only-one-copy').text, 'If the USB drive fails at the same time as this computer, everything is lost.');
    assert.equal(risk(r, 'same-place').text, 'A fire or burglary at home would destroy this computer and every copy together.');
  });
  test('a single cloud copy 3 days old: the computer failing alone costs 3 days', () => {
    const r = report([copy({ mediaKind: 'cloud', place: 'offsite', appendOnly: true }, 3, 5)]);
    assert.deepEqual(riskCodes(r), ['only-one-copy', 'original-fails']);
    const o = risk(r, 'original-fails');
    assert.equal(o.text, "If this computer's disk fails, the last 3 days are lost: the cloud storage copy is that old.");
    assert.equal(o.lossDays, 3);
    assert.deepEqual(r.rule321.missing, ['one more up-to-date backup', 'a backup on something other than cloud storage']);
    assert.equal(r.rule321.offsite, true);
  });
  test('nothing changed since the snapshot: no loss, and an old snapshot is still current', () => {
    const r = report([copy({ mediaKind: 'cloud', place: 'offsite', appendOnly: true }, 40)], { lastChangeSeen: ago(41) });
    assert.deepEqual(riskCodes(r), ['only-one-copy']);
    assert.equal(r.currentCopies, 1);
  });
  test('only a stale copy: at risk, headline gives its age', () => {
    const r = report([copy({ mediaKind: 'nas' }, 40)]);
    assert.equal(r.verdict, 'at-risk');
    assert.equal(r.currentCopies, 0);
    assert.equal(r.headline, 'Documents has no up-to-date backup: the newest is 40 days old.');
    assert.equal(risk(r, 'original-fails').text, "If this computer's disk fails, the last 40 days are lost: the NAS copy is that old.");
  });
});

describe('two copies', () => {
  // The example: a USB drive backed up today and a NAS backed up 9 days ago, both at home.
  const usb = () => copy({ mediaKind: 'usb-flash', name: 'SanDisk', connected: false }, 0, 2);
  const nas = () => copy({ mediaKind: 'nas', name: 'Synology', connected: true }, 9, 3);

  test("the issue's example sentence", () => {
    const r = report([usb(), nas()], { originalLabel: 'the laptop' });
    const c = risk(r, 'copy-and-original-fail');
    assert.equal(c.text, 'If the USB drive fails while the laptop is stolen, the last 9 days are lost: the NAS copy is that old.');
    assert.equal(c.lossDays, 9);
    assert.deepEqual(c.params, { days: 9, destination: 'SanDisk', survivor: 'Synology' });
    // The NAS failing costs nothing more than the freshest copy (the USB drive) already covers.
    assert.deepEqual(riskCodes(r), ['same-place', 'copy-and-original-fail']);
    assert.equal(risk(r, 'same-place').text, 'A fire or burglary at home would destroy the laptop and every copy together.');
  });
  test('order of the copies does not matter', () => {
    const r = report([nas(), usb()], { originalLabel: 'the laptop' });
    assert.equal(risk(r, 'copy-and-original-fail').text, 'If the USB drive fails while the laptop is stolen, the last 9 days are lost: the NAS copy is that old.');
  });
  test('per-copy lines: ages in words, stale NAS not current, its warnings attached', () => {
    const r = report([usb(), nas()]);
    assert.equal(r.copiesTotal, 2);
    assert.equal(r.currentCopies, 1);
    const [u, n] = r.copies;
    assert.equal(u.current, true);
    assert.equal(u.snapshotAge, 'less than a day');
    assert.equal(u.mediaAge, '3 months');
    assert.equal(u.mediaLabel, 'USB flash drive');
    assert.equal(n.current, false);
    assert.equal(n.notCurrentReason, 'stale');
    assert.equal(n.snapshotAgeDays, 9);
    assert.equal(n.snapshotAge, '9 days');
    assert.deepEqual(n.warnings.map((w) => w.code), ['no-recent-backup']);
    assert.equal(r.newestSnapshot, u.newestSnapshot);
  });
  test('if the source has not changed since the NAS snapshot, losing the USB drive costs nothing', () => {
    const r = report([usb(), nas()], { lastChangeSeen: ago(10) });
    assert.ok(!riskCodes(r).includes('copy-and-original-fail'));
    assert.equal(r.currentCopies, 2);
  });
  test('only the freshest copy failing costs more than the computer failing alone', () => {
    const r = report([copy({ mediaKind: 'cloud', place: 'offsite' }, 3, 1), copy({ mediaKind: 'external-hdd' }, 5, 1)]);
    assert.deepEqual(r.risks.filter((x) => x.lossDays !== undefined).map((x) => [x.code, x.lossDays]), [['original-fails', 3], ['copy-and-original-fail', 5]]);
    assert.equal(risk(r, 'copy-and-original-fail').text,
      'If the cloud storage fails while this computer is stolen, the last 5 days are lost: the external drive copy is that old.');
  });
  test('two copies of the same kind are named by their names, and share a weakness', () => {
    const r = report([
      copy({ mediaKind: 'usb-flash', name: 'Red' }, 0),
      copy({ mediaKind: 'usb-flash', name: 'Blue', place: 'offsite' }, 5),
    ]);
    assert.equal(risk(r, 'copy-and-original-fail').text,
      'If the USB drive "Red" fails while this computer is stolen, the last 5 days are lost: the copy on the USB drive "Blue" is that old.');
    assert.equal(risk(r, 'same-media').text,
      'Every copy is on USB flash drives, so they share one weakness: flash memory slowly loses data while unplugged, and devices of one kind age the same way. A copy on another kind of media would not share it.');
    assert.ok(!riskCodes(r).includes('same-place'));
  });
  test('copies together at one other place', () => {
    const r = report([copy({ mediaKind: 'usb-flash', place: 'office' }, 0), copy({ place: 'office' }, 0)]);
    assert.equal(risk(r, 'copies-one-place').text, 'A fire or burglary at the office would destroy every copy at once, leaving this computer as the only one.');
    assert.ok(!riskCodes(r).includes('same-place'));
  });
  test('malware: every copy reachable from the computer, unless one is append-only or unplugged', () => {
    const reachable = report([copy({ mediaKind: 'nas' }, 0), copy({ mediaKind: 'cloud', place: 'offsite' }, 0)]);
    assert.equal(risk(reachable, 'reachable-by-malware').text,
      'Ransomware on this computer could encrypt or erase every copy as well, because each one can be reached from it. Keeping one copy unplugged, or on a destination that refuses deletions, protects against that.');
    const locked = report([copy({ mediaKind: 'nas' }, 0), copy({ mediaKind: 'cloud', place: 'offsite', appendOnly: true }, 0)]);
    assert.ok(!riskCodes(locked).includes('reachable-by-malware'));
    const unplugged = report([copy({ mediaKind: 'nas' }, 0), copy({ mediaKind: 'external-hdd', connected: false }, 0)]);
    assert.ok(!riskCodes(unplugged).includes('reachable-by-malware'));
    const plugged = report([copy({ mediaKind: 'nas' }, 0), copy({ mediaKind: 'external-hdd', connected: true }, 0)]);
    assert.ok(riskCodes(plugged).includes('reachable-by-malware'));
  });
});

describe('3-2-1', () => {
  const home = (kind: DestinationFacts['mediaKind'] = 'external-hdd') => copy({ mediaKind: kind, place: 'home' }, 1);
  const cloud = () => copy({ mediaKind: 'cloud', place: 'offsite' }, 1);

  test('holds: two current backups, two kinds of media, one away', () => {
    const r = report([home(), cloud()]);
    assert.deepEqual(r.rule321, { holds: true, copies: 3, media: 2, offsite: true, missing: [] });
    assert.equal(r.verdict, 'protected');
    assert.equal(r.headline, 'Documents is well protected: 2 up-to-date backups on 2 kinds of media, one of them away from home.');
    assert.equal(r.hasOffsite, true);
    assert.deepEqual(r.places, ['home', 'offsite']);
    assert.deepEqual(r.mediaKinds, ['external-hdd', 'cloud']);
    assert.equal(r.distinctMediaKinds, 2);
  });
  const legs: { name: string; copies: () => CopyFacts[]; missing: string[]; counts: [number, number, boolean] }[] = [
    { name: 'copies (one backup)', copies: () => [cloud()], missing: ['one more up-to-date backup', 'a backup on something other than cloud storage'], counts: [2, 1, true] },
    { name: 'media (both on external drives)', copies: () => [home(), copy({ place: 'offsite' }, 1)], missing: ['a backup on something other than external hard drives'], counts: [3, 1, true] },
    { name: 'offsite (both at home)', copies: () => [home(), home('usb-flash')], missing: ['a copy kept away from home'], counts: [3, 2, false] },
  ];
  for (const leg of legs) {
    test(`fails on ${leg.name}`, () => {
      const r = report(leg.copies());
      assert.equal(r.rule321.holds, false);
      assert.deepEqual(r.rule321.missing, leg.missing);
      assert.deepEqual([r.rule321.copies, r.rule321.media, r.rule321.offsite], leg.counts);
      assert.equal(r.verdict, 'at-risk');
    });
  }
  test('three copies, all three legs', () => {
    const r = report([copy({ mediaKind: 'usb-flash', place: 'home' }, 0), copy({ mediaKind: 'nas', place: 'home' }, 1), cloud()]);
    assert.deepEqual(r.rule321, { holds: true, copies: 4, media: 3, offsite: true, missing: [] });
    assert.equal(r.copiesTotal, 3);
    assert.equal(r.headline, 'Documents is well protected: 3 up-to-date backups on 3 kinds of media, one of them away from home.');
    // Losing the freshest copy leaves a day-old one.
    assert.match(risk(r, 'copy-and-original-fail').text, /^If the USB drive fails while this computer is stolen, the last day is lost: the (NAS|cloud storage) copy is that old\.$/);
  });
  test('a stale copy is not counted as current', () => {
    const r = report([home(), copy({ mediaKind: 'cloud', place: 'offsite' }, 8)]);
    assert.equal(r.copiesTotal, 2);
    assert.equal(r.currentCopies, 1);
    assert.equal(r.hasOffsite, false);
    assert.deepEqual(r.rule321.missing, ['one more up-to-date backup', 'a backup on something other than external hard drives', 'a copy kept away from home']);
    assert.equal(r.copies[1].notCurrentReason, 'stale');
  });
  test('the user can allow older copies to count', () => {
    const r = report([home(), copy({ mediaKind: 'cloud', place: 'offsite' }, 8)], {}, { currentCopyMaxAgeDays: 10 });
    assert.equal(r.verdict, 'protected');
  });
  test('a copy that failed its read-back is not current', () => {
    const r = report([home(), copy({ mediaKind: 'cloud', place: 'offsite', lastVerifyFailed: ago(0) }, 1)]);
    assert.equal(r.currentCopies, 1);
    assert.equal(r.copies[1].notCurrentReason, 'unreliable');
    assert.equal(r.copies[1].warnings[0].code, 'read-back-failed');
    assert.equal(r.verdict, 'at-risk');
  });
  test('"away" is relative to where the computer is', () => {
    const r = report([copy({ mediaKind: 'usb-flash', place: 'office' }, 0), copy({ place: 'home' }, 0)], { originalPlace: 'office' });
    assert.equal(r.rule321.holds, true);
    assert.equal(r.headline, 'Documents is well protected: 2 up-to-date backups on 2 kinds of media, one of them away from the office.');
    const same = report([copy({ mediaKind: 'usb-flash', place: 'office' }, 0), copy({ place: 'office' }, 0)], { originalPlace: 'office' });
    assert.deepEqual(same.rule321.missing, ['a copy kept away from the office']);
    assert.equal(risk(same, 'same-place').text, 'A fire or burglary at the office would destroy this computer and every copy together.');
  });
});

test('the report is a pure function of its input', () => {
  const copies = [copy({ mediaKind: 'usb-flash' }, 0), copy({ mediaKind: 'cloud', place: 'offsite' }, 3)];
  const before = JSON.stringify(copies);
  assert.deepEqual(report(copies), report(copies));
  assert.equal(JSON.stringify(copies), before);
  assert.equal(report(copies).asOf, NOW.toISOString());
});
