// The overview renders the protection report (headline, copies, 3-2-1, risks), every warning with
// its action, and running jobs' progress, which moves with progress events without a reload.
import { act, fireEvent, render, screen, waitFor, within } from '@testing-library/react';
import { describe, expect, test } from 'vitest';
import { ApiCallError } from '../../api/errors';
import { App } from '../../App';
import { defaultSettings, fakeApi } from '../../test/fakeApi';
import { fullOverview, report, runningJob, warning } from '../../test/fixtures';

describe('dashboard', () => {
  test('shows the report headline, copies, the 3-2-1 status, risks and warnings with their action', async () => {
    const api = fakeApi({ getSettings: () => defaultSettings, getOverview: () => fullOverview() });
    render(<App api={api} />);
    const card = await screen.findByTestId('source-report');
    expect(within(card).getByTestId('report-headline').textContent).toBe(report.headline);
    expect(within(card).getByTestId('report-verdict').textContent).toBe('At risk');
    const copies = within(card).getAllByTestId('report-copy');
    expect(copies).toHaveLength(2);
    expect(copies[0].textContent).toContain('Blue USB');
    expect(copies[0].textContent).toContain('USB flash drive');
    expect(copies[0].textContent).toContain('Up to date');
    expect(copies[1].textContent).toContain('Out of date');
    expect(copies[1].textContent).toContain('12 days ago');
    const rule = within(card).getByTestId('report-321');
    expect(rule.dataset.holds).toBe('no');
    expect(rule.textContent).toContain('Copies, counting the original: 2 of 3');
    expect(rule.textContent).toContain('one more up-to-date backup and a copy kept away from home');
    expect(within(card).getByTestId('report-risk').textContent).toBe(report.risks[0].text);

    const w = within(screen.getByTestId('dashboard-warnings')).getByTestId('warning');
    expect(within(w).getByTestId('warning-text').textContent).toBe(warning.text);
    expect(within(w).getByTestId('warning-action').textContent).toBe(`What to do: ${warning.action}`);
    expect(w.textContent).toContain('Destination: Blue USB');
  });

  test('shows running jobs with bytes, files, rate, time left and a bar per destination, updated by events', async () => {
    const api = fakeApi({ getSettings: () => defaultSettings, getOverview: () => fullOverview({ running: [runningJob] }) });
    render(<App api={api} />);
    const job = await screen.findByTestId('job-progress');
    expect(within(job).getByTestId('job-bytes').textContent).toBe('250 MB of 1 GB');
    expect(within(job).getByTestId('job-files').textContent).toBe('120 of 480 files');
    expect(within(job).getByTestId('job-rate').textContent).toBe('12.5 MB/s');
    expect(within(job).getByTestId('job-eta').textContent).toBe('about 1 minute left');
    const dests = within(job).getAllByTestId('job-dest');
    expect(dests.map((d) => d.dataset.state)).toEqual(['active', 'dropped']);
    const bar = within(dests[0]).getByTestId('job-progress-bar') as HTMLProgressElement;
    expect(bar.value).toBe(250_000_000);
    expect(bar.max).toBe(1_000_000_000);
    expect(bar.getAttribute('aria-label')).toBe('Progress on Blue USB');
    // The destination that dropped out says it will catch up instead of showing a stalled bar.
    expect(within(dests[1]).queryByTestId('job-progress-bar')).toBeNull();
    expect(dests[1].textContent).toContain('will catch up next time');

    const getOverviewCalls = api.callsOf('getOverview').length;
    act(() => api.emit({ type: 'job-progress', jobId: 7, progress: { ...runningJob.progress, bytesDone: 500_000_000, filesDone: 300, etaSeconds: 7200 } }));
    expect(within(screen.getByTestId('job-progress')).getByTestId('job-bytes').textContent).toBe('500 MB of 1 GB');
    expect(within(screen.getByTestId('job-progress')).getByTestId('job-eta').textContent).toBe('about 2 hours left');
    expect(api.callsOf('getOverview').length).toBe(getOverviewCalls);

    api.handlers.getOverview = () => fullOverview();
    act(() => api.emit({ type: 'job-finished', jobId: 7, kind: 'backup', status: 'ok', summary: 'Documents: Blue USB up to date', errors: [] }));
    await waitFor(() => expect(screen.queryByTestId('job-progress')).toBeNull());
  });

  test('"Back up now" starts a backup and API errors show their message and hint', async () => {
    const api = fakeApi({ getSettings: () => defaultSettings, getOverview: () => fullOverview(), backupNow: () => ({ jobIds: [9] }) });
    render(<App api={api} />);
    fireEvent.click(await screen.findByTestId('dashboard-backup-now'));
    await screen.findByTestId('dashboard-notice');
    expect(api.callsOf('backupNow')).toEqual([{}]);

    api.handlers.backupNow = () => {
      throw new ApiCallError({ code: 'NO_SPACE', message: 'Blue USB is full (/media/aki/BLUE/mamori)', hint: 'Free some space on the drive or add another destination.' });
    };
    fireEvent.click(screen.getByTestId('dashboard-backup-now'));
    const err = await screen.findByTestId('error');
    expect(err.getAttribute('role')).toBe('alert');
    expect(err.textContent).toContain('The destination is full.');
    expect(within(err).getByTestId('error-message').textContent).toBe('Blue USB is full (/media/aki/BLUE/mamori)');
    expect(within(err).getByTestId('error-hint').textContent).toBe('What to do: Free some space on the drive or add another destination.');
  });
});
