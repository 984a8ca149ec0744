// Domain types of the restic repository format (see ../shared/docs/restic-format.md and restic's
// doc/design.rst). IDs are 64-character lowercase hex strings at every API boundary.

export type ID = string;
export type BlobType = 'data' | 'tree';
export type NodeType = 'file' | 'dir' | 'symlink' | 'dev' | 'chardev' | 'fifo' | 'socket';

export interface RepoConfig {
  version: 1 | 2;
  id: ID;
  /** The chunker polynomial, as restic stores it: lowercase hex, no 0x. */
  chunkerPolynomial: string;
}

export interface ExtendedAttribute {
  name: string;
  value: Buffer;
}

/**
 * One entry of a tree blob, mirroring restic's Node struct. Times are kept as the RFC3339Nano text
 * restic stores (so trees read from restic re-encode unchanged); names and link targets as raw bytes
 * because Linux file names need not be UTF-8.
 */
export interface TreeNode {
  name: Buffer;
  type: NodeType;
  /** Go os.FileMode bits: permissions | setuid 1<<23 | setgid 1<<22 | sticky 1<<20 | type bits. */
  mode: number;
  mtime: string;
  atime: string;
  ctime: string;
  uid: number;
  gid: number;
  user?: string;
  group?: string;
  inode?: number;
  deviceId?: number;
  size?: number;
  links?: number;
  linktarget?: Buffer;
  extendedAttributes?: ExtendedAttribute[];
  /** st_rdev for device nodes. */
  device?: number;
  /** Blob IDs of a file's content, in order; null for everything but files. */
  content: ID[] | null;
  /** Tree blob ID of a directory. */
  subtree?: ID;
  error?: string;
}

export interface Snapshot {
  /** RFC3339Nano in the local zone, as restic writes it. */
  time: string;
  parent?: ID;
  tree: ID;
  paths: string[];
  hostname?: string;
  username?: string;
  uid?: number;
  gid?: number;
  excludes?: string[];
  tags?: string[];
  original?: ID;
}

export interface SnapshotWithId extends Snapshot {
  id: ID;
}

/** Where one blob lives: one entry of an index file. */
export interface PackedBlob {
  id: ID;
  type: BlobType;
  pack: ID;
  offset: number;
  /** Stored (encrypted, possibly compressed) length. */
  length: number;
  /** Plaintext length when the blob is compressed; 0 when it is stored uncompressed. */
  uncompressedLength: number;
}
