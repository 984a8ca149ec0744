// zstd for repository format v2. restic accepts any standard zstd frame, so Mamori's compressed bytes
// need not equal restic's: dedup works on the IDs of the uncompressed plaintext.
import { Decompressor, compress } from 'zstd-napi';

/** restic's "auto" mode uses zstd's default level. */
const LEVEL = 3;

export function zstdCompress(data: Uint8Array): Buffer {
  return compress(data, { compressionLevel: LEVEL });
}

let decompressor: Decompressor | undefined;

/**
 * Decompresses one or more zstd frames. `expectedLength`, when known (blobs record it), bounds the
 * output so a damaged or hostile repository cannot make us allocate without limit.
 */
export function zstdDecompress(data: Uint8Array, expectedLength?: number): Buffer {
  decompressor ??= new Decompressor();
  const out = decompressor.decompress(data);
  if (expectedLength !== undefined && out.length !== expectedLength) {
    throw new Error(`decompressed to ${out.length} bytes, expected ${expectedLength}`);
  }
  return out;
}
