// Sample engine data for component tests, shaped exactly like shared/api.ts results.

import type { Overview, RestorePoint, RunningJob } from '../../../shared/api';
import type { DestinationRecord, SourceRecord } from '../../../shared/domain/state';
import type { ProtectionReport, Warning } from '../../../shared/protection';
import { emptyOverview } from './fakeApi';

export const source: SourceRecord = {
  id: 'src1', name: 'Documents', kind: 'folder', paths: ['/home/aki/Documents'], excludes: [], createdAt: '2026-01-01T00:00:00Z', destinationIds: ['d1', 'd2'],
};

export const destRecord = (over: Partial<DestinationRecord> = {}): DestinationRecord => ({
  id: 'd1', name: 'Blue USB', location: '/media/aki/BLUE/mamori', kind: 'local', options: {}, mediaKind: 'usb-flash', place: 'home',
  firstUse: '2023-03-01', appendOnly: false, createdAt: '2023-03-01T00:00:00Z', ...over,
});

export const warning: Warning = {
  destinationId: 'd1',
  code: 'no-recent-backup',
  severity: 'warning',
  params: { name: 'Blue USB', daysSinceBackup: 12, sinceBackup: '12 days', failedSince: 0 },
  text: 'The last successful backup to this destination was 12 days ago.',
  action: 'Connect this destination so the next backup can reach it, or run a backup now.',
};

export const report: ProtectionReport = {
  sourceId: 'src1',
  sourceName: 'Documents',
  asOf: '2026-11-22T10:00:00Z',
  verdict: 'at-risk',
  headline: 'Documents has 1 up-to-date backup; for 3-2-1 protection it also needs one more up-to-date backup and a copy kept away from home.',
  copiesTotal: 2,
  currentCopies: 1,
  distinctMediaKinds: 1,
  mediaKinds: ['usb-flash'],
  places: ['home'],
  hasOffsite: false,
  newestSnapshot: '2026-11-21T10:00:00Z',
  copies: [
    { destinationId: 'd1', name: 'Blue USB', mediaKind: 'usb-flash', mediaLabel: 'USB flash drive', place: 'home', away: false, newestSnapshot: '2026-11-21T10:00:00Z', snapshotAgeDays: 1, snapshotAge: '1 day', mediaAgeDays: 1362, mediaAge: '3 years and 8 months', current: true, warnings: [] },
    { destinationId: 'd2', name: 'Office NAS', mediaKind: 'nas', mediaLabel: 'NAS', place: 'home', away: false, newestSnapshot: '2026-11-10T10:00:00Z', snapshotAgeDays: 12, snapshotAge: '12 days', current: false, notCurrentReason: 'stale', warnings: [] },
  ],
  rule321: { holds: false, copies: 2, media: 1, offsite: false, missing: ['one more up-to-date backup', 'a copy kept away from home'] },
  risks: [{ code: 'same-place', text: 'A fire or burglary at home would destroy this computer and every copy together.', params: { place: 'home' } }],
};

export const runningJob: RunningJob = {
  jobId: 7,
  kind: 'backup',
  sourceId: 'src1',
  title: 'Documents',
  startedAt: '2026-11-22T10:00:00Z',
  progress: {
    phase: 'backup',
    filesDone: 120,
    filesTotal: 480,
    bytesDone: 250_000_000,
    bytesTotal: 1_000_000_000,
    totalsFinal: true,
    rate: 12_500_000,
    etaSeconds: 60,
    destinations: [
      { id: 'd1', name: 'Blue USB', state: 'active' },
      { id: 'd2', name: 'Office NAS', state: 'dropped' },
    ],
  },
};

export function fullOverview(over: Partial<Overview> = {}): Overview {
  return emptyOverview({
    sources: [source],
    destinations: [
      { ...destRecord(), connected: true, warnings: [warning], lastBackup: '2026-11-10T10:00:00Z' },
      { ...destRecord({ id: 'd2', name: 'Office NAS', location: 'sftp:nas.local:/backups', kind: 'sftp', mediaKind: 'nas' }), connected: false, warnings: [] },
    ],
    reports: [report],
    warnings: [warning],
    ...over,
  });
}

export const points: RestorePoint[] = [
  {
    id: 'aaaa1111', sourceId: 'src1', time: '2026-11-21T10:00:00Z', paths: ['/home/aki/Documents'], hostname: 'pc', tags: [],
    copies: [
      { destinationId: 'd1', destinationName: 'Blue USB', snapshotId: 'aaaa1111' },
      { destinationId: 'd2', destinationName: 'Office NAS', snapshotId: 'bbbb2222' },
    ],
    fileCount: 480, totalSize: 1_000_000_000,
  },
  {
    id: 'cccc3333', sourceId: 'src1', time: '2026-11-20T09:00:00Z', paths: ['/home/aki/Documents'], hostname: 'pc', tags: [],
    copies: [{ destinationId: 'd1', destinationName: 'Blue USB', snapshotId: 'cccc3333' }],
  },
];
