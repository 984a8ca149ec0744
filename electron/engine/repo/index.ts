// Public surface of the restic repository format. Other engine modules use only what is exported here.
export { Repository, DEFAULT_PACK_SIZE, mapBackendError, mapLimit, sortSnapshots } from './repository';
export type { RepositoryOptions, InitOptions, KeyInfo, IndexLoadProblem, SaveBlobResult } from './repository';
export type { KdfParams } from './keyfile';
export { DEFAULT_KDF } from './keyfile';
export { expectedPackSize } from './pack';
export type { PackEntry } from './pack';
export type { Lock } from './lock';
export { encodeTree, decodeTree } from './tree';
export { formatGoTime, parseGoTime } from './gotime';
export * from './types';
