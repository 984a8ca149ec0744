// check --read-data: download every indexed pack whole and verify it end to end, as restic 0.14 does:
// the file's SHA-256 equals its name, its header lists exactly the blobs the index places in it (same
// IDs, types, offsets and lengths), and every blob decrypts (MAC), decompresses and hashes to its ID.
// Packs are read whole rather than blob by blob so a pack costs one request; two at a time keeps both
// a slow link and the CPU busy while bounding memory to two packs (16 MiB each by default).
import { createHash } from 'node:crypto';
import { BackendError } from '../storage';
import type { ID, PackEntry, PackedBlob } from '../repo';
import { mapLimit } from '../repo';
import { plural, type CheckRun } from './context';

const PACK_READERS = 2;
/** Differences listed in one header-mismatch message; the rest are counted. */
const MAX_LISTED = 5;

export async function readAllData(run: CheckRun): Promise<void> {
  // Missing packs were reported by the structure check; unindexed ones hold nothing a snapshot can
  // use (restic reads only indexed packs too).
  const packs = [...run.packs.keys()].filter((p) => !run.missingPacks.has(p)).sort();
  let done = 0;
  run.progress('read-data', 0, packs.length);
  await mapLimit(packs, PACK_READERS, async (pack) => {
    run.throwIfAborted();
    await readPack(run, pack, run.packs.get(pack) ?? []);
    run.progress('read-data', ++done, packs.length);
  });
}

async function readPack(run: CheckRun, pack: ID, entries: PackedBlob[]): Promise<void> {
  const { repo } = run;
  let bytes: Buffer;
  try {
    bytes = await repo.backend.load({ type: 'data', name: pack });
  } catch (e) {
    if (e instanceof BackendError && e.kind === 'not-found') {
      // Deleted since the structure check listed it (a concurrent prune, or a failing disk).
      run.missingPacks.add(pack);
      run.error({ kind: 'pack-missing', subject: `pack ${pack}`, pack, message: `pack ${pack} disappeared from the destination during the check.` }, { pack });
    } else {
      for (const en of entries) run.markBadCopy(en);
      run.error({ kind: 'pack-unreadable', subject: `pack ${pack}`, pack, message: `pack ${pack} could not be downloaded: ${(e as Error).message}` }, { pack });
    }
    return;
  }
  run.bytesRead += bytes.length;

  // A pack of the wrong size cannot hash to its name nor keep its header where the index expects:
  // its size error already says so, and only the blobs still inside it are worth verifying.
  const resized = run.resizedPacks.has(pack);
  const hash = createHash('sha256').update(bytes).digest('hex');
  if (hash !== pack && !resized) {
    run.error(
      { kind: 'pack-hash-mismatch', subject: `pack ${pack}`, pack, message: `pack ${pack} does not match its name (its SHA-256 is ${hash}): the file was altered on the destination.` },
      { pack },
    );
  }

  const diffs = contiguityProblems(entries);
  try {
    const header = await repo.loadPackHeader(pack);
    diffs.push(...headerDifferences(header.entries, entries));
  } catch (e) {
    if (!resized) diffs.unshift(`its header cannot be read (${(e as Error).message})`);
  }
  if (diffs.length > 0) {
    const listed = diffs.slice(0, MAX_LISTED).join('; ') + (diffs.length > MAX_LISTED ? `; and ${diffs.length - MAX_LISTED} more` : '');
    run.error({ kind: 'pack-header-mismatch', subject: `pack ${pack}`, pack, message: `pack ${pack} does not match its index entries: ${listed}.` }, { pack });
  }

  // Blobs are verified where the index places them, since that is where restore reads them.
  for (const en of entries) {
    run.throwIfAborted();
    let why: string | null = null;
    if (en.offset + en.length > bytes.length) {
      if (run.isCopyBad(en)) continue; // cut off: covered by the size error
      why = `it reaches byte ${en.offset + en.length} but the pack ends at ${bytes.length}`;
    } else {
      try {
        repo.openBlob(bytes.subarray(en.offset, en.offset + en.length), en);
      } catch (e) {
        why = (e as Error).message;
      }
    }
    if (why === null) continue;
    run.markBadCopy(en);
    run.error(
      {
        kind: 'blob-damaged',
        subject: `${en.type} blob ${en.id}`,
        pack,
        blob: en.id,
        blobType: en.type,
        message: `${en.type} blob ${en.id} in pack ${pack} (offset ${en.offset}, ${en.length} bytes) is damaged: ${why}.`,
      },
      { blobs: [{ type: en.type, id: en.id }] },
    );
  }
}

/** restic stores blobs back to back from offset 0; an index with gaps or overlaps is not from a real pack. */
function contiguityProblems(entries: readonly PackedBlob[]): string[] {
  let end = 0;
  for (const e of entries) {
    if (e.offset !== end) return [`the index places blobs with ${e.offset > end ? 'gaps' : 'overlaps'} between them (at offset ${Math.min(e.offset, end)})`];
    end = e.offset + e.length;
  }
  return [];
}

function headerDifferences(header: readonly PackEntry[], index: readonly PackedBlob[]): string[] {
  const key = (e: { type: string; id: ID; offset: number; length: number; uncompressedLength: number }) =>
    `${e.type} ${e.id} @${e.offset}+${e.length}${e.uncompressedLength ? ` (${e.uncompressedLength} uncompressed)` : ''}`;
  const inHeader = new Set(header.map(key));
  const inIndex = new Set(index.map(key));
  const out: string[] = [];
  for (const k of inIndex) if (!inHeader.has(k)) out.push(`the index lists ${k}, the header does not`);
  for (const k of inHeader) if (!inIndex.has(k)) out.push(`the header lists ${k}, the index does not`);
  if (out.length === 0 && header.length !== index.length) out.push(`the header has ${plural(header.length, 'entry', 'entries')}, the index ${index.length}`);
  return out;
}
