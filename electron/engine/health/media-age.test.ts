import { describe, test } from 'node:test';
import assert from 'node:assert/strict';
import type { DestinationFacts } from '../../../shared/protection';
import { daysSince, formatDays, mediaAgeDays, mediaAgeStart, ruleFor } from './media-age';

const NOW = new Date('2025-06-15T12:00:00Z');
const DAY = 86_400_000;
const daysAgo = (n: number, hours = 0) => new Date(NOW.getTime() - n * DAY - hours * 3_600_000).toISOString();
const dest = (over: Partial<DestinationFacts>): DestinationFacts => ({ id: 'd1', name: 'Drive', mediaKind: 'external-hdd', place: 'home', connected: true, ...over });

describe('formatDays', () => {
  const cases: [number, string][] = [
    [0, 'less than a day'],
    [0.9, 'less than a day'],
    [1, '1 day'],
    [9, '9 days'],
    [60, '60 days'],
    [61, '2 months'],
    [182, '5 months'],
    [183, '6 months'],
    [364, '11 months'],
    [365, '1 year'],
    [396, '1 year and 1 month'],
    [730, '2 years'],
    [1459, '3 years and 11 months'],
    [1460, '4 years'],
    [852, '2 years and 4 months'],
    [3650, '10 years'],
    [-5, 'less than a day'],
  ];
  for (const [days, words] of cases) {
    test(`${days} days -> "${words}"`, () => assert.equal(formatDays(days), words));
  }
});

describe('daysSince', () => {
  test('whole days, rounded down', () => {
    assert.equal(daysSince(daysAgo(9), NOW), 9);
    assert.equal(daysSince(daysAgo(9, 23), NOW), 9);
    assert.equal(daysSince(daysAgo(0, 23), NOW), 0);
  });
  test('a date-only ISO string counts from UTC midnight', () => {
    assert.equal(daysSince('2025-06-06', NOW), 9);
  });
  test('future dates count as 0, missing or unparseable dates as unknown', () => {
    assert.equal(daysSince('2026-01-01', NOW), 0);
    assert.equal(daysSince(undefined, NOW), undefined);
    assert.equal(daysSince('', NOW), undefined);
    assert.equal(daysSince('not a date', NOW), undefined);
  });
});

describe('media age', () => {
  test('first use alone', () => {
    assert.equal(mediaAgeDays(dest({ firstUse: daysAgo(100) }), NOW), 100);
  });
  test('the earlier of purchase and first use: purchase earlier', () => {
    const d = dest({ firstUse: daysAgo(100), purchased: daysAgo(400) });
    assert.equal(mediaAgeDays(d, NOW), 400);
    assert.equal(mediaAgeStart(d), d.purchased);
  });
  test('the earlier of purchase and first use: first use earlier (purchase date entered wrongly)', () => {
    assert.equal(mediaAgeDays(dest({ firstUse: daysAgo(400), purchased: daysAgo(100) }), NOW), 400);
  });
  test('purchase alone; an unparseable first use is ignored', () => {
    assert.equal(mediaAgeDays(dest({ purchased: daysAgo(30), firstUse: 'garbage' }), NOW), 30);
  });
  test('no dates: unknown', () => {
    assert.equal(mediaAgeDays(dest({}), NOW), undefined);
  });
  test('NAS: the oldest member disk counts', () => {
    assert.equal(mediaAgeDays(dest({ mediaKind: 'nas', firstUse: daysAgo(100), raidOldestDiskFirstUse: daysAgo(2000) }), NOW), 2000);
  });
  test('raidOldestDiskFirstUse means nothing for a non-NAS', () => {
    assert.equal(mediaAgeDays(dest({ firstUse: daysAgo(100), raidOldestDiskFirstUse: daysAgo(2000) }), NOW), 100);
  });
  test('cloud storage has no media age', () => {
    assert.equal(mediaAgeDays(dest({ mediaKind: 'cloud', firstUse: daysAgo(5000), purchased: daysAgo(5000) }), NOW), undefined);
  });
});

describe('ruleFor', () => {
  test('defaults, and user overrides', () => {
    assert.deepEqual(ruleFor('internal-hdd'), { warnAgeDays: 1460, replaceAgeDays: 1825 });
    assert.equal(ruleFor('usb-flash', { media: { 'usb-flash': { warnAgeDays: 500 } } }).warnAgeDays, 500);
    assert.equal(ruleFor('usb-flash', { media: { 'usb-flash': { unpoweredWarnDays: null } } }).unpoweredWarnDays, undefined);
  });
});
