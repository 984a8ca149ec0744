// Public surface of the catalog: the snapshot and file-tree index behind browsing, search and versions.
export { Catalog } from './catalog';
export type {
  CatalogOptions,
  CatalogStats,
  DamagedTree,
  IndexProgress,
  IndexResult,
  RebuildOptions,
  RebuildResult,
  SnapshotInfo,
  SnapshotSource,
  TreeLoader,
} from './catalog';
