// Deterministic benchmark corpus, scaled to a target size, plus the ~1% mutation applied between the
// second and third backup. The mix imitates a real home folder: many small compressible documents,
// incompressible media, one big file edited in the middle (the case content-defined chunking exists
// for), duplicates (deduplication), and a growing mbox export (append-only growth).
// Same seed + same size => byte-identical tree, so every run and both tools see the same data.
import { createCipheriv, createHash } from 'node:crypto';
import { closeSync, mkdirSync, openSync, readSync, renameSync, rmSync, writeFileSync, writeSync } from 'node:fs';
import { dirname, join } from 'node:path';

const KiB = 1024;
const MiB = 1024 * KiB;
const CHUNK = 4 * MiB;

/** Small fast PRNG: the corpus layout must be reproducible, not cryptographically random. */
function prng(seed: string): () => number {
  let s = createHash('sha256').update(seed).digest().readUInt32LE(0) || 1;
  return () => {
    s = (s + 0x6d2b79f5) | 0;
    let t = Math.imul(s ^ (s >>> 15), 1 | s);
    t = (t + Math.imul(t ^ (t >>> 7), 61 | t)) ^ t;
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

/**
 * Incompressible bytes from AES-256-CTR keyed by the seed: same determinism as the tests'
 * pseudoRandom (SHA-256 counter mode) but ~50x faster, which matters at gigabyte scale.
 */
class RandomStream {
  private cipher;
  constructor(seed: string) {
    const key = createHash('sha256').update(`key:${seed}`).digest();
    const iv = createHash('sha256').update(`iv:${seed}`).digest().subarray(0, 16);
    this.cipher = createCipheriv('aes-256-ctr', key, iv);
  }
  next(n: number): Buffer {
    return this.cipher.update(Buffer.alloc(n));
  }
}

function writeRandomFile(path: string, seed: string, size: number): void {
  mkdirSync(dirname(path), { recursive: true });
  const fd = openSync(path, 'w');
  const rs = new RandomStream(seed);
  try {
    for (let done = 0; done < size; ) {
      const n = Math.min(CHUNK, size - done);
      writeSync(fd, rs.next(n));
      done += n;
    }
  } finally {
    closeSync(fd);
  }
}

const WORDS = ('backup snapshot repository mamori restic folder letter invoice meeting tokyo osaka report draft '
  + 'budget photo family holiday garden recipe travel schedule project review account contract notice '
  + 'summary minutes agenda weather station train ticket reservation hotel dinner birthday present '
  + 'the a of and to in is was for on with as by at from that this it be are have not or').split(' ');

/**
 * A pool of lowercase pseudo-prose. Files are random windows of it: text compresses about as well as
 * real documents, and no line starts with "From " so mbox bodies need no escaping.
 */
function textPool(seed: string, size: number): string {
  const rnd = prng(`pool:${seed}`);
  const parts: string[] = [];
  let len = 0;
  let line = 0;
  while (len < size) {
    const w = WORDS[Math.floor(rnd() * WORDS.length)];
    const sep = ++line % 12 === 0 ? '\n' : ' ';
    const word = rnd() < 0.08 ? String(Math.floor(rnd() * 100000)) : w;
    parts.push(word, sep);
    len += word.length + 1;
  }
  return parts.join('');
}

export interface CorpusPlan {
  seed: string;
  total: number;
}

export interface CorpusStats {
  files: number;
  bytes: number;
}

interface Ctx {
  root: string;
  pool: string;
  rnd: () => number;
}

function text(ctx: Ctx, size: number, tag: string): string {
  const start = Math.floor(ctx.rnd() * (ctx.pool.length - size - 1));
  return `${tag}\n${ctx.pool.slice(start, start + Math.max(0, size - tag.length - 1))}`;
}

function smallPath(i: number): string {
  return join('documents', `year-${2010 + (i % 16)}`, `topic-${(i >> 4) % 12}`, `note-${String(i).padStart(5, '0')}.txt`);
}

function mboxMessage(ctx: Ctx, n: number, rs: RandomStream): string {
  const body = text(ctx, 1 * KiB + Math.floor(ctx.rnd() * 15 * KiB), `message ${n}`);
  const head = `From sender${n % 97}@example.com Mon Jan  5 10:${String(n % 60).padStart(2, '0')}:00 2026\n`
    + `From: Sender ${n % 97} <sender${n % 97}@example.com>\nTo: me@example.com\nSubject: mail ${n}\n`
    + `Message-ID: <${n}@bench.mamori>\nMIME-Version: 1.0\n\n`;
  // One message in five carries an attachment: base64 of random bytes, the usual mbox ballast.
  const attach = n % 5 === 0 ? `\n--attachment--\n${rs.next(8 * KiB + Math.floor(ctx.rnd() * 56 * KiB)).toString('base64').replace(/.{76}/g, '$&\n')}\n` : '';
  return `${head}${body}${attach}\n\n`;
}

/** Appends messages numbered from `first` until `bytes` were added; returns the next number. */
function appendMbox(ctx: Ctx, path: string, first: number, bytes: number, seed: string): number {
  mkdirSync(dirname(path), { recursive: true });
  const fd = openSync(path, 'a');
  const rs = new RandomStream(`mbox:${seed}`);
  let n = first;
  try {
    for (let done = 0; done < bytes; n++) {
      const m = Buffer.from(mboxMessage(ctx, n, rs));
      writeSync(fd, m);
      done += m.length;
    }
  } finally {
    closeSync(fd);
  }
  return n;
}

/** Sizes derived from the plan, shared by generate and mutate so the mutation knows the layout. */
function layout(plan: CorpusPlan) {
  const t = plan.total;
  const rnd = prng(`layout:${plan.seed}`);
  const small: number[] = [];
  for (let sum = 0; sum < t * 0.15; ) {
    const s = 1 * KiB + Math.floor(rnd() * 63 * KiB);
    small.push(s);
    sum += s;
  }
  // Media sizes scale with the corpus so even a 100 MiB corpus has several files above restic's
  // 512 KiB minimum chunk size.
  const maxMedia = Math.max(2 * MiB, Math.min(32 * MiB, Math.floor(t / 40)));
  const media: number[] = [];
  for (let sum = 0; sum < t * 0.5; ) {
    const s = 256 * KiB + Math.floor(rnd() * (maxMedia - 256 * KiB));
    media.push(s);
    sum += s;
  }
  const dups: number[] = [];
  for (let sum = 0, i = 0; sum < t * 0.05 && i < media.length; i++) {
    dups.push(i);
    sum += media[i];
  }
  return { small, media, dups, large: Math.floor(t * 0.2), mbox: Math.floor(t * 0.1) };
}

/** Writes the pre-mutation corpus under root (which must not exist or be empty). */
export function generateCorpus(root: string, plan: CorpusPlan): CorpusStats {
  const l = layout(plan);
  const ctx: Ctx = { root, pool: textPool(plan.seed, 4 * MiB), rnd: prng(`gen:${plan.seed}`) };
  let files = 0;
  let bytes = 0;
  l.small.forEach((size, i) => {
    const p = join(root, smallPath(i));
    mkdirSync(dirname(p), { recursive: true });
    writeFileSync(p, text(ctx, size, `document ${i}`));
    files++;
    bytes += size;
  });
  l.media.forEach((size, i) => {
    writeRandomFile(join(root, 'media', `clip-${String(i).padStart(4, '0')}.bin`), `${plan.seed}:media:${i}`, size);
    files++;
    bytes += size;
  });
  for (const i of l.dups) {
    writeRandomFile(join(root, 'copies', `clip-${String(i).padStart(4, '0')}-copy.bin`), `${plan.seed}:media:${i}`, l.media[i]);
    files++;
    bytes += l.media[i];
  }
  writeRandomFile(join(root, 'large', 'disk-image.bin'), `${plan.seed}:large`, l.large);
  files++;
  bytes += l.large;
  appendMbox(ctx, join(root, 'mail', 'export.mbox'), 0, l.mbox, `${plan.seed}:0`);
  files++;
  bytes += l.mbox;
  return { files, bytes };
}

/** Copies `n` bytes from fd `from` at `pos` to fd `to` (appending). */
function copyRange(from: number, to: number, pos: number, n: number): void {
  const buf = Buffer.allocUnsafe(CHUNK);
  for (let done = 0; done < n; ) {
    const got = readSync(from, buf, 0, Math.min(CHUNK, n - done), pos + done);
    if (got === 0) throw new Error('unexpected end of file while copying');
    writeSync(to, buf, 0, got);
    done += got;
  }
}

/**
 * The ~1% change between backups: what a day of use does. Returns a description of what changed,
 * for the report.
 */
export function mutateCorpus(root: string, plan: CorpusPlan): string[] {
  const l = layout(plan);
  const ctx: Ctx = { root, pool: textPool(plan.seed, 4 * MiB), rnd: prng(`mutate:${plan.seed}`) };
  const t = plan.total;
  const changes: string[] = [];

  // Edit a few documents: whole-file rewrites of the same names, as editors do.
  const edits = Math.min(20, l.small.length);
  for (let k = 0; k < edits; k++) {
    const i = Math.floor((k * l.small.length) / edits);
    writeFileSync(join(root, smallPath(i)), text(ctx, l.small[i], `document ${i} edited`));
  }
  changes.push(`edited ${edits} documents`);

  // Insert bytes in the middle of the large file: shifts everything after it, so only
  // content-defined chunking keeps the tail deduplicated.
  const large = join(root, 'large', 'disk-image.bin');
  const insert = Math.max(64 * KiB, Math.floor(t * 0.002));
  const old = `${large}.old`;
  renameSync(large, old);
  const from = openSync(old, 'r');
  const to = openSync(large, 'w');
  try {
    const mid = Math.floor(l.large / 2);
    copyRange(from, to, 0, mid);
    writeSync(to, new RandomStream(`${plan.seed}:insert`).next(insert));
    copyRange(from, to, mid, l.large - mid);
  } finally {
    closeSync(from);
    closeSync(to);
  }
  rmSync(old);
  changes.push(`inserted ${insert} bytes in the middle of the large file`);

  // New mail arrives at the end of the mbox.
  const mailBytes = Math.floor(t * 0.005);
  appendMbox(ctx, join(root, 'mail', 'export.mbox'), 1_000_000, mailBytes, `${plan.seed}:1`);
  changes.push(`appended ~${mailBytes} bytes of messages to the mbox`);

  // A few new files, one of them media-sized.
  const newMedia = Math.max(128 * KiB, Math.floor(t * 0.002));
  writeRandomFile(join(root, 'media', 'new-clip.bin'), `${plan.seed}:new`, newMedia);
  for (let k = 0; k < 5; k++) {
    const p = join(root, 'documents', 'new', `added-${k}.txt`);
    mkdirSync(dirname(p), { recursive: true });
    writeFileSync(p, text(ctx, 4 * KiB + k * 1000, `added ${k}`));
  }
  changes.push(`added 6 files (${newMedia + 5 * 4 * KiB} bytes approx.)`);

  // Deletions: some documents and the last media file.
  for (let k = 0; k < 5 && k * 7 + 3 < l.small.length; k++) rmSync(join(root, smallPath(k * 7 + 3)));
  rmSync(join(root, 'media', `clip-${String(l.media.length - 1).padStart(4, '0')}.bin`));
  changes.push('deleted 5 documents and 1 media file');
  return changes;
}
