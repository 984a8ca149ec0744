// Activity, Destinations and Settings: errors in plain words with hints, removing a destination only
// after a confirmation that says nothing on it is deleted, and each setting saved through the API.
import { act, fireEvent, render, screen, waitFor, within } from '@testing-library/react';
import { describe, expect, test } from 'vitest';
import type { JobRecord } from '../../../shared/domain/state';
import { App } from '../App';
import { defaultSettings, fakeApi } from '../test/fakeApi';
import { fullOverview } from '../test/fixtures';

const jobs: JobRecord[] = [{
  id: 5, kind: 'backup', sourceId: 'src1', startedAt: '2026-11-21T10:00:00Z', finishedAt: '2026-11-21T10:05:00Z', status: 'partial', summary: {},
  destinations: [
    { destinationId: 'd1', status: 'ok', bytesAdded: 2_500_000 },
    { destinationId: 'd2', status: 'failed', bytesAdded: 0, error: { code: 'PERMISSION_DENIED', message: 'Office NAS refused the write to /backups/data', hint: 'Check that the NAS account may write to /backups.' } },
  ],
}];

describe('activity', () => {
  test('history lists each destination outcome with its error and hint; finished events show their errors', async () => {
    const api = fakeApi({ getSettings: () => defaultSettings, getOverview: () => fullOverview(), listJobs: () => jobs });
    window.location.hash = '#/activity';
    render(<App api={api} />);
    const job = await screen.findByTestId('job');
    expect(job.dataset.status).toBe('partial');
    expect(job.textContent).toContain('Backup: Documents');
    expect(job.textContent).toContain('Finished with problems');
    const [ok, failed] = within(job).getAllByTestId('job-destination');
    expect(ok.textContent).toContain('Blue USB: done');
    expect(ok.textContent).toContain('2.5 MB added');
    const err = within(failed).getByTestId('job-error');
    expect(err.textContent).toContain('Mamori is not allowed to write there.');
    expect(within(err).getByTestId('error-message').textContent).toBe('Office NAS refused the write to /backups/data');
    expect(within(err).getByTestId('error-hint').textContent).toBe('What to do: Check that the NAS account may write to /backups.');
    expect(api.callsOf('listJobs')).toEqual([{ limit: 100 }]);

    act(() => api.emit({ type: 'job-finished', jobId: 6, kind: 'backup', status: 'failed', summary: 'Documents: backup failed', errors: [{ code: 'REPOSITORY_MISSING', message: 'Blue USB is not connected', hint: 'Plug it in.' }] }));
    const fin = await screen.findByTestId('job-finished');
    expect(fin.textContent).toContain('Failed');
    expect(within(fin).getByTestId('error-hint').textContent).toBe('What to do: Plug it in.');
    // A finished job reloads the history.
    await waitFor(() => expect(api.callsOf('listJobs').length).toBe(2));
  });
});

describe('destinations', () => {
  test('lists media, age, last backup and warnings; tests a destination', async () => {
    const api = fakeApi({
      getSettings: () => defaultSettings,
      getOverview: () => fullOverview(),
      testDestination: (p) => (p.id === 'd1' ? { ok: true, message: 'Blue USB is reachable and opens with the password', snapshots: 4, ms: 12 } : { ok: false, message: 'connection refused' }),
    });
    window.location.hash = '#/destinations';
    render(<App api={api} />);
    const [blue, nas] = await screen.findAllByTestId('destination');
    expect(within(blue).getByTestId('destination-media').textContent).toBe('USB flash drive');
    expect(within(blue).getByTestId('destination-age').textContent).toMatch(/year/);
    expect(within(blue).getByTestId('destination-last-verified').textContent).toBe('never');
    expect(within(blue).getByTestId('warning')).toBeTruthy();
    expect(within(nas).getByTestId('destination-connected').textContent).toBe('Not connected');

    fireEvent.click(within(blue).getByTestId('destination-test'));
    await waitFor(() => expect(within(blue).getByTestId('destination-test-result').dataset.ok).toBe('yes'));
    fireEvent.click(within(nas).getByTestId('destination-test'));
    await waitFor(() => expect(within(nas).getByTestId('destination-test-result').textContent).toBe('Not working: connection refused'));
  });

  test('removing asks first and says nothing on the destination is deleted', async () => {
    const api = fakeApi({ getSettings: () => defaultSettings, getOverview: () => fullOverview(), removeDestination: () => ({ ok: true }) });
    window.location.hash = '#/destinations';
    render(<App api={api} />);
    const [blue] = await screen.findAllByTestId('destination');
    fireEvent.click(within(blue).getByTestId('destination-remove'));
    const dialog = screen.getByTestId('remove-destination-dialog');
    expect(dialog.textContent).toContain('Nothing on the destination is deleted');
    fireEvent.click(screen.getByTestId('remove-destination-dialog-cancel'));
    expect(api.callsOf('removeDestination')).toEqual([]);

    fireEvent.click(within(blue).getByTestId('destination-remove'));
    fireEvent.keyDown(screen.getByTestId('remove-destination-dialog'), { key: 'Escape' });
    expect(screen.queryByTestId('remove-destination-dialog')).toBeNull();

    fireEvent.click(within(blue).getByTestId('destination-remove'));
    fireEvent.click(screen.getByTestId('remove-destination-dialog-ok'));
    await waitFor(() => expect(api.callsOf('removeDestination')).toEqual([{ id: 'd1' }]));
  });
});

describe('settings', () => {
  test('start at login, exclusions and a new password are saved through the API', async () => {
    const api = fakeApi({
      getSettings: () => defaultSettings,
      getOverview: () => fullOverview(),
      updateSettings: (p) => ({ ...defaultSettings, ...p }),
      setPassword: () => ({ ok: true }),
    });
    window.location.hash = '#/settings';
    render(<App api={api} />);
    const login = await screen.findByTestId('settings-start-at-login');
    await waitFor(() => expect((login as HTMLInputElement).disabled).toBe(false));
    fireEvent.click(login);
    await waitFor(() => expect(api.callsOf('updateSettings')).toEqual([{ startAtLogin: true }]));

    fireEvent.change(screen.getByTestId('settings-excludes'), { target: { value: '*.tmp\n\n  /home/aki/Downloads  \n' } });
    fireEvent.click(screen.getByTestId('settings-excludes-save'));
    await waitFor(() => expect(api.callsOf('updateSettings')[1]).toEqual({ excludes: ['*.tmp', '/home/aki/Downloads'] }));

    fireEvent.change(screen.getByTestId('settings-password'), { target: { value: 'short' } });
    fireEvent.click(screen.getByTestId('settings-password-submit'));
    expect(screen.getByTestId('settings-password-error')).toBeTruthy();
    fireEvent.change(screen.getByTestId('settings-password'), { target: { value: 'a much longer password' } });
    fireEvent.change(screen.getByTestId('settings-password-repeat'), { target: { value: 'a much longer password' } });
    fireEvent.click(screen.getByTestId('settings-password-submit'));
    await screen.findByTestId('settings-password-done');
    expect(api.callsOf('setPassword')).toEqual([{ password: 'a much longer password' }]);
  });
});
