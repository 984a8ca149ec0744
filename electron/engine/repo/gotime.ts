// Go's time.Time JSON text (RFC3339Nano, the layout time.Time.MarshalJSON uses) for tree node times
// and snapshot times, in and out of nanoseconds since the Unix epoch.
//
// Why byte-exact: restic writes node times in the process's local zone with trailing fractional
// zeros trimmed; the text is part of the tree blob, whose SHA-256 is its ID. Mamori must produce the
// same text for the same file so a restic backup after a Mamori backup adds 0 bytes (identical tree
// JSON dedups). Times are bigint nanoseconds because JS numbers cannot hold ns since 1970 exactly.
//
// Known gap: Go takes the local zone from TZ or /etc/localtime through its own tzdata reader, JS from
// ICU's copy of tzdata. They agree for any modern instant; for historic instants (local mean time
// before a zone's first transition, zones merged in tzdata's "backzone") they may not.

const NS_PER_SEC = 1_000_000_000n;
const MAX_DATE_MS = 8.64e15;

function floorDiv(a: bigint, b: bigint): bigint {
  const q = a / b;
  return a % b !== 0n && (a < 0n) !== (b < 0n) ? q - 1n : q;
}

/**
 * The local zone's offset from UTC in seconds at the given instant. Local getters are used rather
 * than getTimezoneOffset because the latter truncates to whole minutes while Go keeps local mean
 * time offsets such as +09:18:59 to the second.
 */
export function localOffsetSeconds(unixSec: number): number {
  const ms = Math.min(MAX_DATE_MS, Math.max(-MAX_DATE_MS, unixSec * 1000));
  const d = new Date(ms);
  const wall = new Date(0);
  wall.setUTCFullYear(d.getFullYear(), d.getMonth(), d.getDate());
  wall.setUTCHours(d.getHours(), d.getMinutes(), d.getSeconds(), d.getMilliseconds());
  return Math.round((wall.getTime() - ms) / 1000);
}

/** Days since 1970-01-01 of a proleptic Gregorian date (month 1..12). */
function daysFromCivil(y: number, m: number, d: number): number {
  const yy = m <= 2 ? y - 1 : y;
  const era = Math.floor(yy / 400);
  const yoe = yy - era * 400;
  const doy = Math.floor((153 * (m + (m > 2 ? -3 : 9)) + 2) / 5) + d - 1;
  const doe = yoe * 365 + Math.floor(yoe / 4) - Math.floor(yoe / 100) + doy;
  return era * 146097 + doe - 719468;
}

function civilFromDays(z: number): [number, number, number] {
  const zz = z + 719468;
  const era = Math.floor(zz / 146097);
  const doe = zz - era * 146097;
  const yoe = Math.floor((doe - Math.floor(doe / 1460) + Math.floor(doe / 36524) - Math.floor(doe / 146096)) / 365);
  const doy = doe - (365 * yoe + Math.floor(yoe / 4) - Math.floor(yoe / 100));
  const mp = Math.floor((5 * doy + 2) / 153);
  const d = doy - Math.floor((153 * mp + 2) / 5) + 1;
  const m = mp < 10 ? mp + 3 : mp - 9;
  return [yoe + era * 400 + (m <= 2 ? 1 : 0), m, d];
}

function isLeap(y: number): boolean {
  return (y % 4 === 0 && y % 100 !== 0) || y % 400 === 0;
}

function daysIn(y: number, m: number): number {
  return m === 2 ? (isLeap(y) ? 29 : 28) : [31, 28, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31][m - 1];
}

interface Wall {
  year: number;
  month: number;
  day: number;
  sod: number; // seconds of the day
  frac: bigint; // nanoseconds, 0..999999999
  offset: number; // seconds east of UTC
}

function toWall(ns: bigint): Wall {
  const sec = floorDiv(ns, NS_PER_SEC);
  const frac = ns - sec * NS_PER_SEC;
  const offset = localOffsetSeconds(Number(sec));
  const wall = Number(sec) + offset;
  const days = Math.floor(wall / 86400);
  const [year, month, day] = civilFromDays(days);
  return { year, month, day, sod: wall - days * 86400, frac, offset };
}

function pad(v: number, w: number): string {
  return String(v).padStart(w, '0');
}

/**
 * Go's t.Format(time.RFC3339Nano) for t = time.Unix(0, ns).In(time.Local): "Z" only for a zero
 * offset, the offset's seconds dropped (Go prints hours:minutes only), fraction without trailing zeros.
 */
export function formatGoTime(ns: bigint): string {
  const w = toWall(ns);
  // Go's year layout: at least 4 digits, a leading '-' for negative years.
  const year = w.year < 0 ? '-' + pad(-w.year, 4) : pad(w.year, 4);
  const h = Math.floor(w.sod / 3600);
  const mi = Math.floor((w.sod % 3600) / 60);
  const s = w.sod % 60;
  let out = `${year}-${pad(w.month, 2)}-${pad(w.day, 2)}T${pad(h, 2)}:${pad(mi, 2)}:${pad(s, 2)}`;
  if (w.frac !== 0n) out += '.' + w.frac.toString().padStart(9, '0').replace(/0+$/, '');
  if (w.offset === 0) return out + 'Z';
  const zone = Math.trunc(w.offset / 60);
  const abs = Math.abs(zone);
  return out + (zone < 0 ? '-' : '+') + pad(Math.floor(abs / 60), 2) + ':' + pad(abs % 60, 2);
}

/**
 * restic's FixTime: Go's JSON encoder refuses years outside 0..9999, so restic moves such a time's
 * local year to 0 or 9999 and keeps the rest (Go's AddDate, which normalises Feb 29 into a non-leap
 * year to Mar 1). Apply before formatGoTime for node times, as restic does in Node.MarshalJSON.
 */
export function fixGoTime(ns: bigint): bigint {
  const w = toWall(ns);
  if (w.year >= 0 && w.year <= 9999) return ns;
  const year = w.year < 0 ? 0 : 9999;
  let month = w.month;
  let day = w.day;
  if (day > daysIn(year, month)) {
    day -= daysIn(year, month);
    month++;
  }
  const wallSec = daysFromCivil(year, month, day) * 86400 + w.sod;
  // Go's time.Date: try the offset in force at the wall time read as UTC, then correct once.
  let offset = localOffsetSeconds(wallSec);
  const again = localOffsetSeconds(wallSec - offset);
  if (again !== offset) offset = again;
  return BigInt(wallSec - offset) * NS_PER_SEC + w.frac;
}

const RFC3339 = /^(\d{4})-(\d{2})-(\d{2})[Tt](\d{2}):(\d{2}):(\d{2})(?:\.(\d+))?(?:([Zz])|([+-])(\d{2}):(\d{2}))$/;

/**
 * Any RFC3339 time (as Go's time.Parse(time.RFC3339, s) accepts it: optional fraction of any length,
 * truncated to nanoseconds; "Z" or a ±hh:mm offset) as nanoseconds since the Unix epoch.
 */
export function parseGoTime(s: string): bigint {
  const m = RFC3339.exec(s);
  if (!m) throw new Error(`not an RFC3339 time: ${JSON.stringify(s)}`);
  const [y, mo, d, h, mi, se] = m.slice(1, 7).map(Number);
  if (mo < 1 || mo > 12) throw new Error(`month out of range in time ${JSON.stringify(s)}`);
  if (d < 1 || d > daysIn(y, mo)) throw new Error(`day out of range in time ${JSON.stringify(s)}`);
  if (h > 23 || mi > 59 || se > 59) throw new Error(`time of day out of range in ${JSON.stringify(s)}`);
  let offset = 0;
  if (m[9]) {
    const oh = Number(m[10]);
    const om = Number(m[11]);
    if (oh > 23 || om > 59) throw new Error(`zone offset out of range in time ${JSON.stringify(s)}`);
    offset = (m[9] === '-' ? -1 : 1) * (oh * 3600 + om * 60);
  }
  const frac = m[7] ? BigInt(m[7].slice(0, 9).padEnd(9, '0')) : 0n;
  const sec = daysFromCivil(y, mo, d) * 86400 + h * 3600 + mi * 60 + se - offset;
  return BigInt(sec) * NS_PER_SEC + frac;
}

