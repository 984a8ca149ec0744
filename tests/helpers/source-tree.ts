// A generated source tree with everything a backup must get right: many small files, large files,
// duplicates, Japanese and invalid-UTF-8 names, symlinks (one dangling), a hard-link pair, empty files
// and folders, special permission bits and odd timestamps. Deterministic for a given seed.
import { createHash } from 'node:crypto';
import { chmodSync, linkSync, mkdirSync, symlinkSync, utimesSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';

/** Deterministic pseudo-random bytes (SHA-256 in counter mode): incompressible, reproducible. */
export function pseudoRandom(seed: string, size: number): Buffer {
  const out = Buffer.allocUnsafe(size);
  let off = 0;
  for (let i = 0; off < size; i++) {
    const h = createHash('sha256').update(seed).update(String(i)).digest();
    off += h.copy(out, off);
  }
  return out;
}

export interface SourceTreeOptions {
  /** Size of the large random file (default 6 MiB: several chunks). */
  largeSize?: number;
  smallFiles?: number;
}

export function makeSourceTree(root: string, opts: SourceTreeOptions = {}): void {
  const large = opts.largeSize ?? 6 * 1024 * 1024;
  mkdirSync(root, { recursive: true });
  const docs = join(root, 'docs');
  mkdirSync(docs);
  for (let i = 0; i < (opts.smallFiles ?? 60); i++) {
    writeFileSync(join(docs, `note-${String(i).padStart(3, '0')}.txt`), `note ${i}\n`.repeat(1 + (i * 37) % 200));
  }
  mkdirSync(join(root, 'media'));
  writeFileSync(join(root, 'media', 'video.bin'), pseudoRandom('video', large));
  // The same content twice: stored once.
  const dup = pseudoRandom('dup', 700 * 1024);
  writeFileSync(join(root, 'media', 'copy-a.bin'), dup);
  writeFileSync(join(root, 'media', 'copy-b.bin'), dup);
  writeFileSync(join(root, 'media', 'zeros.bin'), Buffer.alloc(2 * 1024 * 1024));
  writeFileSync(join(root, 'empty.txt'), '');
  mkdirSync(join(root, 'empty-folder'));
  mkdirSync(join(root, '日本語フォルダ'));
  writeFileSync(join(root, '日本語フォルダ', '報告書 2026.txt'), '守り\n');
  writeFileSync(Buffer.from(join(root, 'bad-\xff-name.txt'), 'latin1'), 'invalid utf-8 name\n');
  writeFileSync(join(root, 'we"ird\\ näme\u00a0\x01.txt'), 'odd\n');
  symlinkSync('docs/note-001.txt', join(root, 'link-to-note'));
  symlinkSync('/nonexistent/target', join(root, 'dangling-link'));
  writeFileSync(join(root, 'hardlink-a'), 'linked content\n');
  linkSync(join(root, 'hardlink-a'), join(root, 'hardlink-b'));
  writeFileSync(join(root, 'setuid-tool'), '#!/bin/sh\n');
  chmodSync(join(root, 'setuid-tool'), 0o4755);
  mkdirSync(join(root, 'shared-tmp'));
  chmodSync(join(root, 'shared-tmp'), 0o1777);
  writeFileSync(join(root, 'growing.log'), 'line 1\n');
  writeFileSync(join(root, 'private.txt'), 'secret\n');
  chmodSync(join(root, 'private.txt'), 0o600);
  // Odd timestamps, set last so folder mtimes stay as set.
  utimesSync(join(root, 'docs', 'note-000.txt'), 1_000_000_000.123456, 1_234_567_890.654321);
  utimesSync(join(root, 'empty-folder'), 1_600_000_000, 1_600_000_000.5);
}
