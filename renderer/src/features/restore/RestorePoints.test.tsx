// Restore: the timeline shows each point once with where it exists; browsing walks folders with
// breadcrumbs; one click restores beside the original; in place needs an explicit confirmation that
// says current files are moved aside; search and versions answer from the catalog calls.
import { act, fireEvent, render, screen, waitFor, within } from '@testing-library/react';
import { describe, expect, test } from 'vitest';
import type { CatalogEntry } from '../../../../shared/api';
import { ApiCallError } from '../../api/errors';
import { App } from '../../App';
import { defaultSettings, fakeApi } from '../../test/fakeApi';
import { fullOverview, points } from '../../test/fixtures';

const tree: Record<string, CatalogEntry[]> = {
  '/': [{ name: 'home', path: '/home', type: 'dir', size: 0, mtime: '2026-11-01T00:00:00Z' }],
  '/home': [{ name: 'aki', path: '/home/aki', type: 'dir', size: 0, mtime: '2026-11-01T00:00:00Z' }],
  '/home/aki': [
    { name: 'Documents', path: '/home/aki/Documents', type: 'dir', size: 0, mtime: '2026-11-01T00:00:00Z' },
    { name: 'report.docx', path: '/home/aki/report.docx', type: 'file', size: 48_000, mtime: '2026-11-20T08:00:00Z' },
  ],
};

function restoreApi() {
  return fakeApi({
    getSettings: () => defaultSettings,
    getOverview: () => fullOverview(),
    listRestorePoints: () => points,
    browse: (p) => tree[p.path] ?? [],
    restore: (p) => ({ jobId: 41, target: p.mode === 'folder' ? p.target ?? '' : '/home/aki' }),
    exportArchive: (p) => ({ jobId: 42, target: p.target }),
    search: () => [{ pointId: 'cccc3333', time: points[1].time, path: '/home/aki/report.docx', type: 'file', size: 47_000 }],
    versions: () => [
      { pointId: 'cccc3333', time: points[1].time, size: 47_000, mtime: '2026-11-19T08:00:00Z', contentKey: 'k1' },
      { pointId: 'aaaa1111', time: points[0].time, size: 48_000, mtime: '2026-11-20T08:00:00Z', contentKey: 'k2' },
    ],
  });
}

async function openReportFolder() {
  window.location.hash = '#/restore';
  const pts = await screen.findAllByTestId('restore-point');
  fireEvent.click(pts[0]);
  fireEvent.click(within(await screen.findByTestId('browse-entry')).getByTestId('browse-open'));
  await waitFor(() => expect(screen.getAllByTestId('breadcrumb')).toHaveLength(2));
  fireEvent.click(within(screen.getByTestId('browse-entry')).getByTestId('browse-open'));
  await waitFor(() => expect(screen.getAllByTestId('browse-entry')).toHaveLength(2));
}

describe('restore', () => {
  test('timeline shows each point once with every destination holding it, newest first', async () => {
    const api = restoreApi();
    window.location.hash = '#/restore';
    render(<App api={api} />);
    const pts = await screen.findAllByTestId('restore-point');
    expect(pts.map((p) => p.dataset.pointId)).toEqual(['aaaa1111', 'cccc3333']);
    expect(within(pts[0]).getByTestId('restore-point-copies').textContent).toBe('On: Blue USB and Office NAS');
    expect(pts[0].textContent).toContain('480 files');
  });

  test('browsing walks folders with breadcrumbs, and one click restores beside the original', async () => {
    const api = restoreApi();
    render(<App api={api} />);
    await openReportFolder();
    expect(api.callsOf('browse').map((b) => b.path)).toEqual(['/', '/home', '/home/aki']);
    expect(screen.getAllByTestId('breadcrumb').map((b) => b.textContent)).toEqual(['All files', 'home', 'aki']);

    const file = screen.getAllByTestId('browse-entry').find((r) => r.dataset.path === '/home/aki/report.docx');
    if (!file) throw new Error('no file row');
    fireEvent.click(within(file).getByTestId('restore-beside'));
    await screen.findByTestId('restore-notice');
    expect(api.callsOf('restore')).toEqual([{ pointId: 'aaaa1111', paths: ['/home/aki/report.docx'], mode: 'beside' }]);
    expect(screen.getByTestId('restore-notice').textContent).toContain('Restoring into /home/aki');

    // The job's end is reported where the restore was started.
    act(() => api.emit({ type: 'job-finished', jobId: 41, kind: 'restore', status: 'ok', summary: 'restored 1 file(s) to /home/aki/report (restored 2026-11-22).docx', errors: [] }));
    await waitFor(() => expect(screen.getByTestId('restore-notice').textContent).toContain('report (restored 2026-11-22).docx'));

    // Breadcrumbs lead back up.
    fireEvent.click(screen.getAllByTestId('breadcrumb')[0]);
    await waitFor(() => expect(screen.getAllByTestId('breadcrumb')).toHaveLength(1));
  });

  test('the options panel preselects "beside"; restoring in place needs an explicit confirmation', async () => {
    const api = restoreApi();
    render(<App api={api} />);
    await openReportFolder();
    const file = screen.getAllByTestId('browse-entry')[1];

    fireEvent.click(within(file).getByTestId('restore-more'));
    expect((screen.getByTestId('restore-mode-beside') as HTMLInputElement).checked).toBe(true);
    fireEvent.click(screen.getByTestId('restore-submit'));
    await waitFor(() => expect(api.callsOf('restore')).toHaveLength(1));
    expect(api.callsOf('restore')[0].mode).toBe('beside');

    fireEvent.click(within(file).getByTestId('restore-more'));
    fireEvent.click(screen.getByTestId('restore-mode-in-place'));
    fireEvent.click(screen.getByTestId('restore-submit'));
    const dialog = screen.getByTestId('restore-confirm');
    expect(dialog.textContent).toMatch(/moved aside/);
    expect(dialog.textContent).toMatch(/Nothing is deleted/);
    expect(document.activeElement).toBe(screen.getByTestId('restore-confirm-cancel'));
    fireEvent.click(screen.getByTestId('restore-confirm-cancel'));
    expect(screen.queryByTestId('restore-confirm')).toBeNull();
    expect(api.callsOf('restore')).toHaveLength(1);

    fireEvent.click(screen.getByTestId('restore-submit'));
    fireEvent.click(screen.getByTestId('restore-confirm-ok'));
    await waitFor(() => expect(api.callsOf('restore')).toHaveLength(2));
    expect(api.callsOf('restore')[1]).toEqual({ pointId: 'aaaa1111', paths: ['/home/aki/report.docx'], mode: 'in-place', confirmInPlace: true });
  });

  test('into a folder needs an absolute path; exports go to a typed archive path', async () => {
    const api = restoreApi();
    render(<App api={api} />);
    await openReportFolder();
    fireEvent.click(screen.getByTestId('restore-everything-more'));
    fireEvent.click(screen.getByTestId('restore-mode-folder'));
    fireEvent.change(screen.getByTestId('restore-target'), { target: { value: 'restored' } });
    fireEvent.click(screen.getByTestId('restore-submit'));
    expect(screen.getByTestId('restore-target-error')).toBeTruthy();
    fireEvent.change(screen.getByTestId('restore-target'), { target: { value: '/tmp/restored' } });
    fireEvent.click(screen.getByTestId('restore-submit'));
    await waitFor(() => expect(api.callsOf('restore')).toEqual([{ pointId: 'aaaa1111', paths: [], mode: 'folder', target: '/tmp/restored' }]));

    fireEvent.click(screen.getByTestId('restore-everything-more'));
    fireEvent.click(screen.getByTestId('restore-mode-tgz'));
    fireEvent.change(screen.getByTestId('export-target'), { target: { value: '/tmp/docs.tar.gz' } });
    fireEvent.click(screen.getByTestId('restore-submit'));
    await waitFor(() => expect(api.callsOf('exportArchive')).toEqual([{ pointId: 'aaaa1111', paths: [], format: 'tar.gz', target: '/tmp/docs.tar.gz' }]));
  });

  test('search across points, then every version of a file, each restorable', async () => {
    const api = restoreApi();
    window.location.hash = '#/restore';
    render(<App api={api} />);
    await screen.findAllByTestId('restore-point');
    fireEvent.change(screen.getByTestId('restore-search'), { target: { value: 'report' } });
    fireEvent.click(screen.getByTestId('restore-search-submit'));
    const hit = await screen.findByTestId('search-hit');
    expect(api.callsOf('search')).toEqual([{ query: 'report' }]);
    expect(hit.textContent).toContain('/home/aki/report.docx');

    fireEvent.click(within(hit).getByTestId('search-hit-versions'));
    const versions = await screen.findAllByTestId('file-version');
    expect(api.callsOf('versions')).toEqual([{ sourceId: 'src1', path: '/home/aki/report.docx' }]);
    expect(versions).toHaveLength(2);
    fireEvent.click(within(versions[1]).getByTestId('version-restore'));
    await waitFor(() => expect(api.callsOf('restore')).toEqual([{ pointId: 'cccc3333', paths: ['/home/aki/report.docx'], mode: 'beside' }]));

    fireEvent.click(within(hit).getByTestId('search-hit-open'));
    await waitFor(() => expect(api.callsOf('browse').at(-1)).toEqual({ pointId: 'cccc3333', path: '/home/aki' }));
  });

  test('a failing timeline shows the error with its hint and can be retried', async () => {
    const api = restoreApi();
    api.handlers.listRestorePoints = () => {
      throw new ApiCallError({ code: 'REPOSITORY_MISSING', message: 'no destination holding restore points can be reached', hint: 'Connect the drive that holds your backups.' });
    };
    window.location.hash = '#/restore';
    render(<App api={api} />);
    const err = await screen.findByTestId('error');
    expect(within(err).getByTestId('error-message').textContent).toBe('no destination holding restore points can be reached');
    expect(within(err).getByTestId('error-hint').textContent).toBe('What to do: Connect the drive that holds your backups.');
    expect(screen.queryByText('Loading…')).toBeNull();

    api.handlers.listRestorePoints = () => points;
    fireEvent.click(within(err).getByRole('button', { name: 'Try again' }));
    expect(await screen.findAllByTestId('restore-point')).toHaveLength(2);
    expect(screen.queryByTestId('error')).toBeNull();
  });
});
