// Restore planning: which pack regions to read so that every needed data blob is fetched once,
// and where in which file each blob's plaintext goes.
//
// Why by pack: reading file by file fetches a pack shared by many small files once per file, and a
// blob shared by several files (dedup) once per use; on a remote destination every such read is a
// round trip. Like restic's fileRestorer we group the needed blobs by pack, then read each pack's
// needed blobs as a few contiguous ranges (small gaps of unneeded blobs are read and dropped, which
// is cheaper than another request). Ranges are capped so memory stays bounded: a worker holds one
// range at a time, never a whole pack set.
//
// A file's blob offsets are the running sum of its blobs' plaintext sizes, known from the index, so
// blobs can be written in any order at their final position.
import type { BlobType, ID, PackedBlob } from '../repo/types';

/** The index lookups planning needs (MasterIndex satisfies it). */
export interface BlobLocator {
  lookup(type: BlobType, id: ID): PackedBlob[];
}

export interface PlanLimits {
  /** Largest range read in one request unless a single blob is bigger (default 8 MiB). */
  maxRangeBytes: number;
  /** Unneeded bytes between two needed blobs that are still read to save a request (default 1 MiB). */
  maxGapBytes: number;
}

/**
 * 8 MiB: half of restic's pack size, so a typical pack takes one or two reads, and with 4 workers
 * about 64 MiB in flight (ranges plus plaintexts). 1 MiB gap: roughly what a request costs in bytes.
 */
export const DEFAULT_PLAN_LIMITS: PlanLimits = { maxRangeBytes: 8 * 1024 * 1024, maxGapBytes: 1024 * 1024 };

export interface BlobTarget {
  /** Index of the file in the list given to planRestore. */
  file: number;
  /** Byte offset of the blob in that file. */
  offset: number;
}

export interface PlannedBlob {
  id: ID;
  /** The location read (the first the index lists; restore falls back to the others on failure). */
  loc: PackedBlob;
  size: number;
  targets: BlobTarget[];
}

export interface PackRange {
  pack: ID;
  offset: number;
  length: number;
  /** Sorted by offset inside the pack. */
  blobs: PlannedBlob[];
}

export interface FilePlan {
  /** Sum of the plaintext sizes of its blobs: the restored file's size. */
  size: number;
  /** How many blob writes the file waits for; it is complete when they are all done. */
  writes: number;
  /** Blobs no index lists (the file cannot be restored); empty when all are known. */
  missing: ID[];
}

export interface RestorePlan {
  files: FilePlan[];
  /** In order of first use by the files, so early files complete early and stay open briefly. */
  ranges: PackRange[];
}

/** Plaintext size from an index entry; negative sizes (a damaged index) are reported as unknown. */
function plaintextSize(b: PackedBlob, cryptoOverhead: number): number | undefined {
  const n = b.uncompressedLength || b.length - cryptoOverhead;
  return n >= 0 ? n : undefined;
}

/**
 * Plans the reads for `files` (each its content blob IDs, in order). Files with a blob no index
 * knows are planned with no writes at all, so nothing is downloaded for a file that cannot be
 * completed; their `missing` list says why.
 */
export function planRestore(
  files: readonly { content: readonly ID[] }[],
  index: BlobLocator,
  opts: { limits?: PlanLimits; cryptoOverhead?: number } = {},
): RestorePlan {
  const limits = opts.limits ?? DEFAULT_PLAN_LIMITS;
  const overhead = opts.cryptoOverhead ?? 32;
  const blobs = new Map<ID, PlannedBlob>();
  // Map iteration order is insertion order: packs are visited in order of first use.
  const byPack = new Map<ID, PlannedBlob[]>();
  const out: FilePlan[] = [];

  for (let f = 0; f < files.length; f++) {
    const content = files[f].content;
    const missing: ID[] = [];
    const sized: { id: ID; loc: PackedBlob; size: number }[] = [];
    for (const id of content) {
      const loc = index.lookup('data', id)[0];
      const size = loc ? plaintextSize(loc, overhead) : undefined;
      if (!loc || size === undefined) missing.push(id);
      else sized.push({ id, loc, size });
    }
    if (missing.length > 0) {
      let size = 0;
      for (const s of sized) size += s.size;
      out.push({ size, writes: 0, missing: [...new Set(missing)] });
      continue;
    }
    let offset = 0;
    for (const { id, loc, size } of sized) {
      let pb = blobs.get(id);
      if (!pb) {
        pb = { id, loc, size, targets: [] };
        blobs.set(id, pb);
        let list = byPack.get(loc.pack);
        if (!list) byPack.set(loc.pack, (list = []));
        list.push(pb);
      }
      pb.targets.push({ file: f, offset });
      offset += size;
    }
    out.push({ size: offset, writes: sized.length, missing: [] });
  }

  const ranges: PackRange[] = [];
  for (const [pack, list] of byPack) {
    list.sort((a, b) => a.loc.offset - b.loc.offset);
    let cur: PackRange | undefined;
    for (const b of list) {
      const end = b.loc.offset + b.loc.length;
      if (cur) {
        const curEnd = cur.offset + cur.length;
        const gap = b.loc.offset - curEnd;
        if (gap <= limits.maxGapBytes && Math.max(curEnd, end) - cur.offset <= limits.maxRangeBytes) {
          cur.length = Math.max(curEnd, end) - cur.offset;
          cur.blobs.push(b);
          continue;
        }
      }
      cur = { pack, offset: b.loc.offset, length: b.loc.length, blobs: [b] };
      ranges.push(cur);
    }
  }
  return { files: out, ranges };
}
