// Public surface of the backup module.
export { backup, normalizeTargets } from './archiver';
export type { BackupOptions, BackupProgress, BackupResult, SourceError } from './types';
export { nodeFromPath, goFileModeFromStat, unixModeFromGoFileMode } from './fsnode';
