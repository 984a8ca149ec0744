import { test } from 'node:test';
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { randomInt } from 'node:crypto';
import { fileURLToPath } from 'node:url';
import { fixGoTime, formatGoTime, parseGoTime } from './gotime';

// Node re-reads the zone when TZ is assigned: pin UTC so expectations do not depend on the machine.
process.env.TZ = 'UTC';

const S = 1_000_000_000n;

test('zero offset prints Z; fraction trimmed of trailing zeros, omitted when zero', () => {
  assert.equal(formatGoTime(0n), '1970-01-01T00:00:00Z');
  assert.equal(formatGoTime(1n), '1970-01-01T00:00:00.000000001Z');
  assert.equal(formatGoTime(123_450_000n), '1970-01-01T00:00:00.12345Z');
  assert.equal(formatGoTime(500_000_000n), '1970-01-01T00:00:00.5Z');
  assert.equal(formatGoTime(1_614_834_367n * S + 100_000_000n), '2021-03-04T05:06:07.1Z');
});

test('pre-1970 times with nanoseconds', () => {
  assert.equal(formatGoTime(-1n), '1969-12-31T23:59:59.999999999Z');
  assert.equal(formatGoTime(-S), '1969-12-31T23:59:59Z');
  const moon = parseGoTime('1969-07-20T20:17:40.123456789Z');
  assert.equal(moon, -14_182_939_876_543_211n);
  assert.equal(formatGoTime(moon), '1969-07-20T20:17:40.123456789Z');
  assert.equal(formatGoTime(parseGoTime('0001-01-01T00:00:00Z')), '0001-01-01T00:00:00Z');
});

test('parse accepts any RFC3339 Go accepts and keeps nanoseconds', () => {
  assert.equal(parseGoTime('2021-03-04T14:06:07.1+09:00'), 1_614_834_367n * S + 100_000_000n);
  assert.equal(parseGoTime('2021-03-04T05:06:07.1Z'), parseGoTime('2021-03-04t00:06:07.100-05:00'));
  assert.equal(parseGoTime('2021-03-04T05:06:07z'), 1_614_834_367n * S);
  assert.equal(parseGoTime('2021-03-04T05:06:07.1234567891234Z'), 1_614_834_367n * S + 123_456_789n);
  assert.equal(parseGoTime('2024-02-29T23:59:59+10:30'), parseGoTime('2024-02-29T13:29:59Z'));
  for (const bad of ['2021-03-04 05:06:07Z', '2021-03-04T05:06:07', '2021-13-01T00:00:00Z', '2021-02-29T00:00:00Z',
    '2021-01-01T24:00:00Z', '2021-01-01T00:00:60Z', '2021-01-01T00:00:00+1:00', '21-01-01T00:00:00Z', '']) {
    assert.throws(() => parseGoTime(bad), Error, bad);
  }
});

test('property: parse(format(ns)) == ns across years 1..9999', () => {
  const min = parseGoTime('0001-01-01T00:00:00Z');
  const max = parseGoTime('9999-12-31T23:59:59.999999999Z');
  for (let i = 0; i < 3000; i++) {
    const ns = min + (BigInt(randomInt(0, 2 ** 47)) * BigInt(randomInt(0, 2 ** 47))) % (max - min);
    assert.equal(parseGoTime(formatGoTime(ns)), ns, String(ns));
  }
});

test("restic's FixTime clamps years outside 0..9999 (expected values measured with restic 0.14, TZ=UTC)", () => {
  assert.equal(formatGoTime(fixGoTime(253_402_300_800n * S)), '9999-01-01T00:00:00Z');
  assert.equal(formatGoTime(fixGoTime(-62_167_219_300n * S)), '0000-12-31T23:58:20Z');
  // 8400 years = 21 Gregorian cycles of exactly 146097 days each.
  const leap10400 = BigInt(Date.UTC(2000, 1, 29, 12) / 1000 + 21 * 146097 * 86400) * S;
  assert.equal(formatGoTime(leap10400), '10400-02-29T12:00:00Z');
  assert.equal(formatGoTime(fixGoTime(leap10400)), '9999-03-01T12:00:00Z');
  const ok = 1_614_834_367n * S;
  assert.equal(fixGoTime(ok), ok);
});

const gotimeModule = fileURLToPath(new URL('./gotime.ts', import.meta.url));

/** Formats the given instants in a child process started with TZ=tz (as restic would be). */
function formatIn(tz: string, instants: bigint[]): string[] {
  const script = `import { formatGoTime } from ${JSON.stringify(gotimeModule)};
    for (const s of process.env.INSTANTS.split(',')) console.log(formatGoTime(BigInt(s)));`;
  const r = spawnSync(process.execPath, ['--import', 'tsx', '--input-type=module', '-e', script], {
    env: { ...process.env, TZ: tz, INSTANTS: instants.join(',') },
    encoding: 'utf8',
  });
  assert.equal(r.status, 0, r.stderr);
  return r.stdout.trim().split('\n');
}

test('local zone from TZ in a child process, matching timestamps restic 0.14 wrote with the same TZ', () => {
  const at = (iso: string) => parseGoTime(iso);
  // Each expected string was produced by restic 0.14 (TZ=Asia/Tokyo or Europe/Dublin) for a file with
  // that mtime on tmpfs; the 1800 and 1880 ones exercise local mean time, whose offset has seconds.
  assert.deepEqual(formatIn('Asia/Tokyo', [
    at('2021-03-04T05:06:07.1Z'), at('1800-01-01T00:00:00Z'), at('1880-06-01T00:00:00.5Z'), 0n,
  ]), [
    '2021-03-04T14:06:07.1+09:00', '1800-01-01T09:18:59+09:18', '1880-06-01T09:18:59.5+09:18', '1970-01-01T09:00:00+09:00',
  ]);
  assert.deepEqual(formatIn('Europe/Dublin', [at('1800-01-01T00:00:00Z'), at('1880-06-01T00:00:00.5Z')]), [
    '1799-12-31T23:34:39-00:25', '1880-05-31T23:34:39.5-00:25',
  ]);
  assert.deepEqual(formatIn('America/New_York', [at('2021-07-01T12:00:00Z'), at('2021-12-01T12:00:00.000000001Z')]), [
    '2021-07-01T08:00:00-04:00', '2021-12-01T07:00:00.000000001-05:00',
  ]);
  assert.deepEqual(formatIn('Australia/Adelaide', [at('2021-07-01T12:00:00Z')]), ['2021-07-01T21:30:00+09:30']);
  assert.deepEqual(formatIn('UTC', [at('2021-07-01T12:00:00Z')]), ['2021-07-01T12:00:00Z']);
});
