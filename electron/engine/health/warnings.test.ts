import { describe, test } from 'node:test';
import assert from 'node:assert/strict';
import {
  DEFAULT_MEDIA_RULES,
  DEFAULT_THRESHOLDS,
  MEDIA_KINDS,
  mergeThresholds,
  type DestinationFacts,
  type MediaKind,
  type WarningCode,
} from '../../../shared/protection';
import { isMamoriError } from '../../../shared/errors';
import { destinationWarnings } from './warnings';

const NOW = new Date('2025-06-15T12:00:00Z');
const DAY = 86_400_000;
const daysAgo = (n: number) => new Date(NOW.getTime() - n * DAY).toISOString();
const Y = 365;

/** A healthy destination: connected, backed up and verified just now. Tests change one fact at a time. */
const healthy = (over: Partial<DestinationFacts> = {}): DestinationFacts => ({
  id: 'd1',
  name: 'Drive',
  mediaKind: 'external-hdd',
  place: 'home',
  connected: true,
  added: daysAgo(10),
  lastBackupOk: daysAgo(0),
  lastBackupAttempt: daysAgo(0),
  lastVerifiedOk: daysAgo(0),
  ...over,
});
const codes = (d: DestinationFacts, th?: Parameters<typeof destinationWarnings>[2]) => destinationWarnings(d, NOW, th).map((w) => w.code);
const only = (d: DestinationFacts, code: WarningCode, th?: Parameters<typeof destinationWarnings>[2]) => {
  const ws = destinationWarnings(d, NOW, th).filter((w) => w.code === code);
  assert.equal(ws.length, 1, `expected one ${code}, got ${JSON.stringify(destinationWarnings(d, NOW, th).map((w) => w.code))}`);
  return ws[0];
};

const AGE_CODES: WarningCode[] = ['age-approaching', 'age-exceeded', 'raid-age', 'disc-migration'];

describe('media age warnings at the boundaries from media-longevity.md', () => {
  // Typed in from the doc's table (not from DEFAULT_MEDIA_RULES), in years.
  const table: { kind: MediaKind; warn: number; replace: number; approaching: WarningCode; exceeded: WarningCode }[] = [
    { kind: 'internal-hdd', warn: 4, replace: 5, approaching: 'age-approaching', exceeded: 'age-exceeded' },
    { kind: 'external-hdd', warn: 3, replace: 5, approaching: 'age-approaching', exceeded: 'age-exceeded' },
    { kind: 'ssd', warn: 5, replace: 7, approaching: 'age-approaching', exceeded: 'age-exceeded' },
    { kind: 'usb-flash', warn: 3, replace: 5, approaching: 'age-approaching', exceeded: 'age-exceeded' },
    { kind: 'sd-card', warn: 3, replace: 5, approaching: 'age-approaching', exceeded: 'age-exceeded' },
    { kind: 'cd-r', warn: 3, replace: 5, approaching: 'age-approaching', exceeded: 'disc-migration' },
    { kind: 'dvd-r', warn: 3, replace: 5, approaching: 'age-approaching', exceeded: 'disc-migration' },
    { kind: 'bd-r', warn: 3, replace: 5, approaching: 'age-approaching', exceeded: 'disc-migration' },
    { kind: 'm-disc', warn: 5, replace: 10, approaching: 'age-approaching', exceeded: 'disc-migration' },
    { kind: 'tape', warn: 8, replace: 10, approaching: 'age-approaching', exceeded: 'age-exceeded' },
    { kind: 'nas', warn: 4, replace: 5, approaching: 'raid-age', exceeded: 'age-exceeded' },
  ];
  test('the table covers every kind but cloud', () => {
    assert.deepEqual(new Set(table.map((r) => r.kind)), new Set(MEDIA_KINDS.map((m) => m.kind).filter((k) => k !== 'cloud')));
  });
  for (const r of table) {
    const ageCodes = (days: number) => codes(healthy({ mediaKind: r.kind, firstUse: daysAgo(days) })).filter((c) => AGE_CODES.includes(c));
    test(`${r.kind}: warn at ${r.warn} y, replace at ${r.replace} y`, () => {
      assert.deepEqual(ageCodes(r.warn * Y - 1), [], 'day before warn age');
      assert.deepEqual(ageCodes(r.warn * Y), [r.approaching], 'warn age');
      assert.deepEqual(ageCodes(r.warn * Y + 1), [r.approaching], 'day after warn age');
      assert.deepEqual(ageCodes(r.replace * Y - 1), [r.approaching], 'day before replace age');
      assert.deepEqual(ageCodes(r.replace * Y), [r.exceeded], 'replace age');
      assert.deepEqual(ageCodes(r.replace * Y + 1), [r.exceeded], 'day after replace age');
    });
  }
  test('approaching is info, exceeded/migration a warning', () => {
    assert.equal(only(healthy({ firstUse: daysAgo(3 * Y) }), 'age-approaching').severity, 'info');
    assert.equal(only(healthy({ firstUse: daysAgo(5 * Y) }), 'age-exceeded').severity, 'warning');
    assert.equal(only(healthy({ mediaKind: 'dvd-r', firstUse: daysAgo(5 * Y) }), 'disc-migration').severity, 'warning');
  });
  test('texts follow the doc, with the age in words and the time left', () => {
    const w = only(healthy({ mediaKind: 'internal-hdd', firstUse: daysAgo(4 * Y) }), 'age-approaching');
    assert.equal(w.text, 'This backup drive is 4 years old. Drives like it become more likely to fail from about now. Plan to replace it within 1 year.');
    assert.equal(w.params.ageDays, 4 * Y);
    assert.equal(w.destinationId, 'd1');
    assert.match(only(healthy({ firstUse: daysAgo(5 * Y + 40) }), 'age-exceeded').text, /^This drive is 5 years and 1 month old, past its safe service life\. Copy your backups to new media soon\.$/);
    assert.match(only(healthy({ mediaKind: 'cd-r', firstUse: daysAgo(5 * Y) }), 'disc-migration').text, /Recordable discs like these often stop reading after a few years\. Copy these backups to new media\./);
    assert.match(only(healthy({ mediaKind: 'nas', firstUse: daysAgo(4 * Y) }), 'raid-age').text, /^Your NAS disks are 4 years old and were likely bought together, so they may fail close together\.$/);
  });
  test('purchase date counts when it is earlier than first use', () => {
    assert.deepEqual(codes(healthy({ firstUse: daysAgo(100), purchased: daysAgo(3 * Y) })), ['age-approaching']);
    assert.deepEqual(codes(healthy({ firstUse: daysAgo(100), purchased: daysAgo(3 * Y - 1) })), []);
    // First use earlier than purchase (wrong entry): the earlier date still wins.
    assert.deepEqual(codes(healthy({ firstUse: daysAgo(3 * Y), purchased: daysAgo(100) })), ['age-approaching']);
  });
  test('NAS: the oldest member disk drives the age', () => {
    assert.deepEqual(codes(healthy({ mediaKind: 'nas', firstUse: daysAgo(100), raidOldestDiskFirstUse: daysAgo(4 * Y) })), ['raid-age']);
  });
  test('no date known: no age warning', () => {
    assert.deepEqual(codes(healthy({ mediaKind: 'usb-flash' })), []);
  });
});

describe('cloud storage', () => {
  test('never gets an age warning, however old the account', () => {
    assert.deepEqual(codes(healthy({ mediaKind: 'cloud', firstUse: daysAgo(30 * Y), purchased: daysAgo(30 * Y) })), []);
  });
  test('not verified for 90 days -> warning', () => {
    assert.deepEqual(codes(healthy({ mediaKind: 'cloud', lastVerifiedOk: daysAgo(89) })), []);
    const w = only(healthy({ mediaKind: 'cloud', lastVerifiedOk: daysAgo(90) }), 'not-verified');
    assert.equal(w.severity, 'warning');
    assert.equal(w.text, "We haven't confirmed this backup can be restored in 2 months. Run a check.");
    assert.equal(w.params.daysSinceCheck, 90);
  });
  test('never verified, added 90 days ago and backed up -> not-verified; nothing to verify before a backup', () => {
    const w = only(healthy({ mediaKind: 'cloud', lastVerifiedOk: undefined, added: daysAgo(90) }), 'not-verified');
    assert.equal(w.params.never, 1);
    assert.deepEqual(codes(healthy({ mediaKind: 'cloud', lastVerifiedOk: undefined, added: daysAgo(89) })), []);
  });
});

describe('not verified on other media', () => {
  test('the 90-day default applies to drives too', () => {
    assert.deepEqual(codes(healthy({ lastVerifiedOk: daysAgo(89) })), []);
    assert.deepEqual(codes(healthy({ lastVerifiedOk: daysAgo(90) })), ['not-verified']);
  });
  test('a per-kind rule overrides the global value', () => {
    const th = { media: { 'external-hdd': { notVerifiedDays: 30 } } };
    assert.deepEqual(codes(healthy({ lastVerifiedOk: daysAgo(30) }), th), ['not-verified']);
    assert.deepEqual(codes(healthy({ mediaKind: 'ssd', lastVerifiedOk: daysAgo(30) }), th), []);
  });
});

describe('unplugged flash', () => {
  for (const kind of ['usb-flash', 'sd-card', 'ssd'] as const) {
    test(`${kind}: warning at 6 months, critical at 12`, () => {
      const at = (days: number) =>
        destinationWarnings(healthy({ mediaKind: kind, connected: false, lastConnected: daysAgo(days), lastBackupOk: daysAgo(days), lastVerifiedOk: daysAgo(days) }), NOW)
          .filter((w) => w.code === 'unpowered-flash')
          .map((w) => w.severity);
      assert.deepEqual(at(182), []);
      assert.deepEqual(at(183), ['warning']);
      assert.deepEqual(at(364), ['warning']);
      assert.deepEqual(at(365), ['critical']);
    });
  }
  test('text names the months', () => {
    const w = only(healthy({ mediaKind: 'usb-flash', connected: false, lastConnected: daysAgo(200), lastBackupOk: daysAgo(200), lastVerifiedOk: daysAgo(200) }), 'unpowered-flash');
    assert.equal(w.text, "This flash device hasn't been plugged in for 6 months. Flash slowly loses data while unplugged. Connect it so we can check and refresh your backups.");
  });
  test('connected now: no warning, whatever lastConnected says', () => {
    assert.ok(!codes(healthy({ mediaKind: 'usb-flash', connected: true, lastConnected: daysAgo(400) })).includes('unpowered-flash'));
  });
  test('without lastConnected, the latest backup or check stands in; a failed attempt does not', () => {
    const d = healthy({ mediaKind: 'sd-card', connected: false, lastBackupOk: daysAgo(200), lastVerifiedOk: daysAgo(250), lastBackupAttempt: daysAgo(1) });
    assert.equal(only(d, 'unpowered-flash').params.daysUnplugged, 200);
  });
  test('hard drives are not flash', () => {
    assert.ok(!codes(healthy({ mediaKind: 'internal-hdd', connected: false, lastConnected: daysAgo(400) })).includes('unpowered-flash'));
  });
  test('an external hard drive not connected for 6 months gets an info to connect it', () => {
    const at = (days: number) => destinationWarnings(healthy({ connected: false, lastConnected: daysAgo(days), lastBackupOk: daysAgo(days), lastVerifiedOk: daysAgo(days) }), NOW)
      .filter((w) => w.code === 'not-connected').map((w) => w.severity);
    assert.deepEqual(at(182), []);
    assert.deepEqual(at(183), ['info']);
    // A backup since then means it was connected.
    assert.ok(!codes(healthy({ connected: false, lastConnected: daysAgo(300), lastBackupOk: daysAgo(2) })).includes('not-connected'));
  });
});

describe('disc and tape checks', () => {
  for (const [kind, every] of [['cd-r', 2], ['dvd-r', 2], ['bd-r', 2], ['m-disc', 3], ['tape', 2]] as const) {
    test(`${kind}: check due every ${every} years after the last passing check`, () => {
      const due = (days: number) => codes(healthy({ mediaKind: kind, firstUse: daysAgo(days + 10), lastVerifiedOk: daysAgo(days) })).includes('check-due');
      assert.equal(due(every * Y - 1), false);
      assert.equal(due(every * Y), true);
    });
  }
  test('never checked: due once the media is older than the interval', () => {
    const d = (age: number) => healthy({ mediaKind: 'dvd-r', firstUse: daysAgo(age), lastVerifiedOk: undefined, lastBackupOk: daysAgo(age) });
    assert.ok(!codes(d(2 * Y - 1)).includes('check-due'));
    const w = only(d(2 * Y), 'check-due');
    assert.equal(w.text, 'These discs have never been checked, and they are 2 years old. Insert them so we can confirm every file still reads correctly.');
  });
  test('the text for a checked disc set follows the doc', () => {
    const w = only(healthy({ mediaKind: 'bd-r', firstUse: daysAgo(1000), lastVerifiedOk: daysAgo(2 * Y + 31) }), 'check-due');
    assert.equal(w.text, 'These discs were last checked 2 years and 1 month ago. Insert them so we can confirm every file still reads correctly.');
  });
  test('discs get check-due, never not-verified, and no "no recent backup" (written once)', () => {
    const c = codes(healthy({ mediaKind: 'cd-r', firstUse: daysAgo(400), lastBackupOk: daysAgo(400), lastVerifiedOk: daysAgo(200) }));
    assert.deepEqual(c, []);
  });
  test('tape still gets "no recent backup"', () => {
    assert.deepEqual(codes(healthy({ mediaKind: 'tape', lastBackupOk: daysAgo(8) })), ['no-recent-backup']);
  });
});

describe('read-back failures', () => {
  test('a failure after the last passing check is critical and replaces the check reminders', () => {
    const w = only(healthy({ lastVerifiedOk: daysAgo(200), lastVerifyFailed: daysAgo(2) }), 'read-back-failed');
    assert.equal(w.severity, 'critical');
    assert.equal(w.text, "Some backed-up data could not be read back correctly. Don't rely on this drive. Make a fresh copy on other media.");
    assert.ok(!codes(healthy({ mediaKind: 'dvd-r', firstUse: daysAgo(3000), lastVerifiedOk: undefined, lastVerifyFailed: daysAgo(2) })).includes('check-due'));
  });
  test('a failure older than the last passing check is history', () => {
    assert.deepEqual(codes(healthy({ lastVerifiedOk: daysAgo(1), lastVerifyFailed: daysAgo(2) })), []);
  });
  test('never passed, failed once: critical', () => {
    assert.ok(codes(healthy({ lastVerifiedOk: undefined, lastVerifyFailed: daysAgo(2) })).includes('read-back-failed'));
  });
});

describe('backups falling behind', () => {
  test('no successful backup for 7 days -> warning, 30 -> critical', () => {
    const sev = (days: number) => destinationWarnings(healthy({ lastBackupOk: daysAgo(days), lastBackupAttempt: daysAgo(days) }), NOW)
      .filter((w) => w.code === 'no-recent-backup').map((w) => w.severity);
    assert.deepEqual(sev(6), []);
    assert.deepEqual(sev(7), ['warning']);
    assert.deepEqual(sev(29), ['warning']);
    assert.deepEqual(sev(30), ['critical']);
  });
  test('the text says when later attempts failed', () => {
    const w = only(healthy({ lastBackupOk: daysAgo(9), lastBackupAttempt: daysAgo(1) }), 'no-recent-backup');
    assert.equal(w.text, 'The last successful backup to this destination was 9 days ago. Backups since then have failed.');
    assert.equal(w.params.failedSince, 1);
    const w2 = only(healthy({ lastBackupOk: daysAgo(9), lastBackupAttempt: daysAgo(9), connected: false }), 'no-recent-backup');
    assert.equal(w2.text, 'The last successful backup to this destination was 9 days ago.');
    assert.match(w2.action, /^Connect this destination/);
  });
  test('never backed up: nothing on the first day, a warning after it, critical after 30 days', () => {
    const never = (addedDays: number, attempt?: number) =>
      destinationWarnings(healthy({ added: daysAgo(addedDays), lastBackupOk: undefined, lastVerifiedOk: undefined, lastBackupAttempt: attempt === undefined ? undefined : daysAgo(attempt) }), NOW);
    assert.deepEqual(never(0).map((w) => w.code), []);
    assert.deepEqual(never(1).map((w) => [w.code, w.severity]), [['never-backed-up', 'warning']]);
    assert.deepEqual(never(30).map((w) => [w.code, w.severity]), [['never-backed-up', 'critical']]);
    assert.equal(never(3, 1)[0].text, 'Nothing has been backed up to this destination yet: every attempt has failed. It was added 3 days ago.');
  });
  test('without an added date, first use stands in', () => {
    assert.deepEqual(codes(healthy({ added: undefined, firstUse: daysAgo(2), lastBackupOk: undefined, lastVerifiedOk: undefined })), ['never-backed-up']);
  });
});

describe('user thresholds', () => {
  test('override media ages, unplugged limits and backup limits', () => {
    const th = {
      media: { 'usb-flash': { warnAgeDays: 100, replaceAgeDays: 200, unpoweredWarnDays: 30 } },
      noBackupWarnDays: 2,
      noBackupCriticalDays: 4,
    };
    assert.deepEqual(codes(healthy({ mediaKind: 'usb-flash', firstUse: daysAgo(100) }), th), ['age-approaching']);
    assert.deepEqual(codes(healthy({ mediaKind: 'usb-flash', firstUse: daysAgo(200) }), th), ['age-exceeded']);
    assert.deepEqual(codes(healthy({ mediaKind: 'usb-flash', connected: false, lastConnected: daysAgo(30), lastBackupOk: daysAgo(1), lastVerifiedOk: daysAgo(1) }), th), []);
    assert.deepEqual(codes(healthy({ mediaKind: 'usb-flash', connected: false, lastConnected: daysAgo(30), lastBackupOk: daysAgo(30), lastVerifiedOk: daysAgo(30) }), { ...th, noBackupWarnDays: 60, noBackupCriticalDays: 90 }), ['unpowered-flash']);
    assert.deepEqual(destinationWarnings(healthy({ lastBackupOk: daysAgo(4) }), NOW, th).map((w) => [w.code, w.severity]), [['no-recent-backup', 'critical']]);
    // Other kinds keep their defaults.
    assert.deepEqual(codes(healthy({ mediaKind: 'sd-card', firstUse: daysAgo(100) }), th), []);
  });
  test('null turns a check off', () => {
    const th = { media: { 'usb-flash': { warnAgeDays: null, replaceAgeDays: null } } };
    assert.deepEqual(codes(healthy({ mediaKind: 'usb-flash', firstUse: daysAgo(20 * Y) }), th), []);
  });
  test('mergeThresholds leaves the defaults alone and validates values', () => {
    const m = mergeThresholds({ notVerifiedDays: 10, media: { cloud: { notVerifiedDays: 5 } } });
    assert.equal(m.notVerifiedDays, 10);
    assert.equal(m.media.cloud.notVerifiedDays, 5);
    assert.equal(DEFAULT_THRESHOLDS.notVerifiedDays, 90);
    assert.equal(DEFAULT_MEDIA_RULES.cloud.notVerifiedDays, 90);
    m.media['internal-hdd'].warnAgeDays = 1;
    assert.equal(mergeThresholds().media['internal-hdd'].warnAgeDays, 4 * Y);
    assert.deepEqual(
      { ...mergeThresholds(), media: undefined },
      { noBackupWarnDays: 7, noBackupCriticalDays: 30, neverBackedUpAfterDays: 1, notVerifiedDays: 90, currentCopyMaxAgeDays: 7, media: undefined },
    );
    assert.throws(() => mergeThresholds({ noBackupWarnDays: -1 }), (e) => isMamoriError(e) && /noBackupWarnDays/.test(e.message));
    assert.throws(() => mergeThresholds({ media: { 'usb-flash': { warnAgeDays: Number.NaN } } }), (e) => isMamoriError(e) && /media\.usb-flash\.warnAgeDays/.test(e.message));
    assert.throws(() => mergeThresholds({ media: { floppy: {} } as never }), (e) => isMamoriError(e) && /floppy/.test(e.message));
  });
});

test('warnings are sorted most severe first', () => {
  const d = healthy({
    mediaKind: 'usb-flash',
    firstUse: daysAgo(3 * Y), // info
    lastBackupOk: daysAgo(8), // warning
    lastVerifiedOk: daysAgo(1),
    lastVerifyFailed: daysAgo(0), // critical
  });
  assert.deepEqual(destinationWarnings(d, NOW).map((w) => w.severity), ['critical', 'warning', 'info']);
});

test('a healthy destination has no warnings', () => {
  for (const { kind } of MEDIA_KINDS) assert.deepEqual(codes(healthy({ mediaKind: kind, firstUse: daysAgo(30) })), [], kind);
});
