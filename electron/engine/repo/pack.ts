// Pack files: Blob_1 || ... || Blob_n || EncryptedHeader || uint32le(len(EncryptedHeader)).
// Each blob is encrypted on its own (IV || CT || MAC) so it can be read with one ranged request; the
// header lists, in order, each blob's type, stored length, uncompressed length (compressed blobs only)
// and ID. Offsets are implicit: blobs are contiguous from 0, which is why restic check demands that
// the pack size equal the sum of the entries exactly.
import { createHash } from 'node:crypto';
import { CRYPTO_OVERHEAD, decrypt, encrypt, type MasterKey } from './crypto';
import type { BlobType, ID } from './types';

const PLAIN_ENTRY = 1 + 4 + 32;
const COMPRESSED_ENTRY = 1 + 4 + 4 + 32;
/** restic refuses headers above 16 MiB; so do we, to bound memory on a hostile pack. */
export const MAX_HEADER_SIZE = 16 * 1024 * 1024;

export interface PackEntry {
  type: BlobType;
  id: ID;
  offset: number;
  length: number;
  uncompressedLength: number;
}

export function headerEntrySize(e: { uncompressedLength: number }): number {
  return e.uncompressedLength ? COMPRESSED_ENTRY : PLAIN_ENTRY;
}

/** Size a pack file must have for these entries (what check compares against). */
export function expectedPackSize(entries: readonly { length: number; uncompressedLength: number }[]): number {
  let n = 0;
  for (const e of entries) n += e.length + headerEntrySize(e);
  return n + CRYPTO_OVERHEAD + 4;
}

export function encodeHeader(entries: readonly PackEntry[]): Buffer {
  let size = 0;
  for (const e of entries) size += headerEntrySize(e);
  const b = Buffer.alloc(size);
  let p = 0;
  for (const e of entries) {
    const tree = e.type === 'tree';
    if (e.uncompressedLength) {
      b[p] = tree ? 3 : 2;
      b.writeUInt32LE(e.length, p + 1);
      b.writeUInt32LE(e.uncompressedLength, p + 5);
      b.write(e.id, p + 9, 'hex');
      p += COMPRESSED_ENTRY;
    } else {
      b[p] = tree ? 1 : 0;
      b.writeUInt32LE(e.length, p + 1);
      b.write(e.id, p + 5, 'hex');
      p += PLAIN_ENTRY;
    }
  }
  return b;
}

export function decodeHeader(plain: Buffer): PackEntry[] {
  const out: PackEntry[] = [];
  let p = 0;
  let offset = 0;
  while (p < plain.length) {
    const t = plain[p];
    let length: number;
    let ulen = 0;
    let id: string;
    if (t === 0 || t === 1) {
      if (p + PLAIN_ENTRY > plain.length) throw new Error('pack header truncated');
      length = plain.readUInt32LE(p + 1);
      id = plain.toString('hex', p + 5, p + 37);
      p += PLAIN_ENTRY;
    } else if (t === 2 || t === 3) {
      if (p + COMPRESSED_ENTRY > plain.length) throw new Error('pack header truncated');
      length = plain.readUInt32LE(p + 1);
      ulen = plain.readUInt32LE(p + 5);
      id = plain.toString('hex', p + 9, p + 41);
      p += COMPRESSED_ENTRY;
    } else {
      throw new Error(`pack header has unknown blob type ${t}`);
    }
    out.push({ type: t === 1 || t === 3 ? 'tree' : 'data', id, offset, length, uncompressedLength: ulen });
    offset += length;
  }
  return out;
}

/**
 * Reads the header from the tail of a pack. `tail` holds the last bytes of the file (at least 4);
 * returns the entries, or the number of tail bytes needed when `tail` is too short.
 */
export function parsePackTail(key: MasterKey, tail: Buffer, packSize: number): PackEntry[] | { need: number } {
  if (packSize < 4 + CRYPTO_OVERHEAD) throw new Error(`pack is too small (${packSize} bytes) to hold a header`);
  const hlen = tail.readUInt32LE(tail.length - 4);
  if (hlen < CRYPTO_OVERHEAD || hlen > MAX_HEADER_SIZE || hlen + 4 > packSize) {
    throw new Error(`pack header length ${hlen} is invalid for a ${packSize}-byte pack`);
  }
  if (tail.length < hlen + 4) return { need: hlen + 4 };
  const enc = tail.subarray(tail.length - 4 - hlen, tail.length - 4);
  const entries = decodeHeader(decrypt(key, enc));
  const dataEnd = packSize - 4 - hlen;
  const last = entries[entries.length - 1];
  if (last && last.offset + last.length > dataEnd) throw new Error('pack header lists blobs beyond the end of the pack');
  return entries;
}

/** Accumulates encrypted blobs of one type into a pack file in memory. */
export class PackBuilder {
  readonly entries: PackEntry[] = [];
  private parts: Buffer[] = [];
  private bytes = 0;

  get size(): number {
    return this.bytes;
  }
  get count(): number {
    return this.entries.length;
  }

  /** Adds an already-encrypted blob. */
  add(type: BlobType, id: ID, stored: Buffer, uncompressedLength: number): PackEntry {
    const e: PackEntry = { type, id, offset: this.bytes, length: stored.length, uncompressedLength };
    this.entries.push(e);
    this.parts.push(stored);
    this.bytes += stored.length;
    return e;
  }

  /** Produces the pack file bytes and its ID (SHA-256 of the whole file). */
  finish(key: MasterKey): { id: ID; bytes: Buffer; entries: PackEntry[] } {
    const header = encrypt(key, encodeHeader(this.entries));
    const len = Buffer.alloc(4);
    len.writeUInt32LE(header.length);
    const bytes = Buffer.concat([...this.parts, header, len]);
    const id = createHash('sha256').update(bytes).digest('hex');
    const entries = this.entries.slice();
    this.parts = [];
    return { id, bytes, entries };
  }
}
