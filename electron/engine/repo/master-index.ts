// The in-memory union of all index files: blob (type, ID) -> the packs holding it.
// Kept behind a narrow interface so a compact binary table can replace the Map later without
// touching its users.
import type { BlobType, ID, PackedBlob } from './types';

export class MasterIndex {
  private readonly byType: Record<BlobType, Map<ID, PackedBlob | PackedBlob[]>> = { data: new Map(), tree: new Map() };
  private readonly packs = new Map<ID, number>();

  add(b: PackedBlob): void {
    const m = this.byType[b.type];
    const cur = m.get(b.id);
    if (cur === undefined) m.set(b.id, b);
    else if (Array.isArray(cur)) {
      if (!cur.some((c) => c.pack === b.pack && c.offset === b.offset)) cur.push(b);
    } else if (!(cur.pack === b.pack && cur.offset === b.offset)) m.set(b.id, [cur, b]);
    this.packs.set(b.pack, (this.packs.get(b.pack) ?? 0) + 1);
  }

  has(type: BlobType, id: ID): boolean {
    return this.byType[type].has(id);
  }

  /** Every known location of a blob (several when it was stored more than once). */
  lookup(type: BlobType, id: ID): PackedBlob[] {
    const cur = this.byType[type].get(id);
    if (cur === undefined) return [];
    return Array.isArray(cur) ? cur : [cur];
  }

  /** Plaintext size of a blob, or undefined if unknown. */
  plaintextSize(type: BlobType, id: ID): number | undefined {
    const b = this.lookup(type, id)[0];
    if (!b) return undefined;
    return b.uncompressedLength || b.length - 32;
  }

  hasPack(pack: ID): boolean {
    return this.packs.has(pack);
  }

  packIds(): IterableIterator<ID> {
    return this.packs.keys();
  }

  get blobCount(): number {
    return this.byType.data.size + this.byType.tree.size;
  }

  *all(): Generator<PackedBlob> {
    for (const t of ['data', 'tree'] as const) {
      for (const v of this.byType[t].values()) {
        if (Array.isArray(v)) yield* v;
        else yield v;
      }
    }
  }
}
