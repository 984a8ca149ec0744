// Public surface of restore/: restoring a snapshot into a folder, and walking a snapshot's trees
// (shared with ls and check).
export { restoreSnapshot } from './restore';
export { walkTree, findNode, MAX_TREE_DEPTH } from './walk';
export type { TreeLoader, WalkOptions } from './walk';
export type { RestoreOptions, RestoreProgress, RestoreError, RestoreResult } from './types';
