// Index files map blobs to the packs that hold them: {"supersedes":[...],"packs":[{"id","blobs":[...]}]}.
// Old repositories may hold the legacy form, a bare array of packs. A repository may list the same
// blob in several packs (duplicates are legal); readers use any copy that verifies.
import type { BlobType, ID, PackedBlob } from './types';

export interface IndexPack {
  id: ID;
  blobs: { id: ID; type: BlobType; offset: number; length: number; uncompressedLength: number }[];
}

export interface IndexFile {
  supersedes: ID[];
  packs: IndexPack[];
}

const HEX64 = /^[0-9a-f]{64}$/;

function fail(what: string): never {
  throw new Error(`index is malformed: ${what}`);
}

export function decodeIndex(json: Buffer): IndexFile {
  let j: unknown;
  try {
    j = JSON.parse(json.toString('utf8'));
  } catch {
    fail('not JSON');
  }
  let packsRaw: unknown;
  let supersedes: ID[] = [];
  if (Array.isArray(j)) {
    packsRaw = j;
  } else if (j && typeof j === 'object') {
    const o = j as { packs?: unknown; supersedes?: unknown };
    packsRaw = o.packs ?? [];
    if (o.supersedes != null) {
      if (!Array.isArray(o.supersedes) || !o.supersedes.every((s) => typeof s === 'string' && HEX64.test(s))) fail('bad supersedes');
      supersedes = o.supersedes as ID[];
    }
  } else {
    fail('not an object');
  }
  if (!Array.isArray(packsRaw)) fail('packs is not a list');
  const packs: IndexPack[] = [];
  for (const p of packsRaw as unknown[]) {
    const po = p as { id?: unknown; blobs?: unknown };
    if (typeof po?.id !== 'string' || !HEX64.test(po.id)) fail('pack without a valid id');
    if (!Array.isArray(po.blobs)) fail(`pack ${po.id} has no blob list`);
    const blobs: IndexPack['blobs'] = [];
    for (const b of po.blobs as unknown[]) {
      const bo = b as { id?: unknown; type?: unknown; offset?: unknown; length?: unknown; uncompressed_length?: unknown };
      if (typeof bo?.id !== 'string' || !HEX64.test(bo.id)) fail(`pack ${po.id} lists a blob without a valid id`);
      if (bo.type !== 'data' && bo.type !== 'tree') fail(`blob ${bo.id} has type ${JSON.stringify(bo.type)}`);
      const nat = (v: unknown) => typeof v === 'number' && Number.isSafeInteger(v) && v >= 0;
      if (!nat(bo.offset) || !nat(bo.length)) fail(`blob ${bo.id} has an invalid offset or length`);
      const ulen = bo.uncompressed_length ?? 0;
      if (!nat(ulen)) fail(`blob ${bo.id} has an invalid uncompressed_length`);
      blobs.push({ id: bo.id, type: bo.type, offset: bo.offset as number, length: bo.length as number, uncompressedLength: ulen as number });
    }
    packs.push({ id: po.id, blobs });
  }
  return { supersedes, packs };
}

/** Encodes an index in restic's JSON layout (field order as Go's encoder writes it, trailing newline). */
export function encodeIndex(idx: IndexFile): Buffer {
  const o: Record<string, unknown> = {};
  if (idx.supersedes.length) o.supersedes = idx.supersedes;
  o.packs = idx.packs.map((p) => ({
    id: p.id,
    blobs: p.blobs.map((b) => {
      const e: Record<string, unknown> = { id: b.id, type: b.type, offset: b.offset, length: b.length };
      if (b.uncompressedLength) e.uncompressed_length = b.uncompressedLength;
      return e;
    }),
  }));
  return Buffer.from(JSON.stringify(o) + '\n');
}

/** Flattens an index file into blob locations. */
export function* packedBlobs(idx: IndexFile): Generator<PackedBlob> {
  for (const p of idx.packs) {
    for (const b of p.blobs) {
      yield { id: b.id, type: b.type, pack: p.id, offset: b.offset, length: b.length, uncompressedLength: b.uncompressedLength };
    }
  }
}
