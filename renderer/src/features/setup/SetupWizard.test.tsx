// The first-run wizard: inline validation (relative paths, short and mismatched passwords) and the
// calls it makes, in the order the engine needs them (password, destination, folders).
import { fireEvent, render, screen, waitFor } from '@testing-library/react';
import { describe, expect, test } from 'vitest';
import type { ApiParams } from '../../../../shared/api';
import { App } from '../../App';
import { defaultSettings, emptyOverview, fakeApi } from '../../test/fakeApi';
import { destRecord } from '../../test/fixtures';

function setupApi() {
  let done = false;
  const api = fakeApi({
    getSettings: () => defaultSettings,
    getOverview: () => (done
      ? emptyOverview({ destinations: [{ ...destRecord(), connected: true, warnings: [] }] })
      : emptyOverview({ needsSetup: { password: true, source: true, destination: true } })),
    setPassword: () => ({ ok: true }),
    addDestination: (p: ApiParams<'addDestination'>) => ({ ...destRecord({ name: p.name, location: p.location, mediaKind: p.mediaKind ?? '', place: p.place ?? '' }), created: true, importedSources: [] }),
    addSource: (p) => {
      done = true;
      return { id: 's1', name: 'Docs', kind: p.kind ?? 'folder', paths: p.paths, excludes: [], createdAt: '2026-11-22T00:00:00Z', destinationIds: p.destinationIds ?? [] };
    },
  });
  return api;
}

const type = (testId: string, value: string) => fireEvent.change(screen.getByTestId(testId), { target: { value } });

describe('setup wizard', () => {
  test('refuses relative and duplicate paths inline and needs at least one folder', async () => {
    const api = setupApi();
    render(<App api={api} />);
    await screen.findByTestId('setup-wizard');

    fireEvent.click(screen.getByTestId('setup-sources-next'));
    expect(screen.getByTestId('setup-sources-error').textContent).toMatch(/at least one folder/);

    type('setup-source-path', 'Documents/work');
    fireEvent.click(screen.getByTestId('setup-add-source'));
    expect(screen.getByTestId('setup-source-error').textContent).toMatch(/full path/);
    expect(screen.queryAllByTestId('setup-source-item')).toHaveLength(0);

    type('setup-source-path', '/home/aki/Documents');
    fireEvent.click(screen.getByTestId('setup-add-source'));
    await screen.findByTestId('setup-source-item');
    expect(screen.queryByTestId('setup-source-error')).toBeNull();

    type('setup-source-path', '/home/aki/Documents');
    fireEvent.click(screen.getByTestId('setup-add-source'));
    expect(screen.getByTestId('setup-source-error').textContent).toMatch(/already in the list/);

    type('setup-source-path', 'C:\\Users\\aki\\Mail');
    fireEvent.change(screen.getByTestId('setup-source-kind'), { target: { value: 'mail' } });
    fireEvent.click(screen.getByTestId('setup-add-source'));
    await waitFor(() => expect(screen.getAllByTestId('setup-source-item')).toHaveLength(2));
    expect(api.calls.filter((c) => c.method !== 'getOverview' && c.method !== 'getSettings')).toEqual([]);
  });

  test('refuses a short password and two different passwords without calling setPassword', async () => {
    const api = setupApi();
    render(<App api={api} />);
    await screen.findByTestId('setup-source-path');
    type('setup-source-path', '/home/aki/Documents');
    fireEvent.click(screen.getByTestId('setup-add-source'));
    await screen.findByTestId('setup-source-item');
    fireEvent.click(screen.getByTestId('setup-sources-next'));

    await screen.findByTestId('setup-password');
    expect(screen.getByTestId('setup-password-warning').textContent).toBe('If you lose this password, your backups cannot be opened by anyone, including Mamori.');
    type('setup-password', 'short');
    type('setup-password-repeat', 'short');
    fireEvent.click(screen.getByTestId('setup-password-next'));
    expect(screen.getByTestId('setup-password-error').textContent).toMatch(/at least 8 characters/);

    type('setup-password', 'a long enough one');
    type('setup-password-repeat', 'a long enough two');
    fireEvent.click(screen.getByTestId('setup-password-next'));
    expect(screen.getByTestId('setup-password-repeat-error').textContent).toMatch(/not the same/);
    expect(screen.queryByTestId('setup-password-error')).toBeNull();
    expect(api.callsOf('setPassword')).toEqual([]);
    expect(screen.getByTestId('setup-step').dataset.step).toBe('password');
  });

  test('sets the password, adds the destination, then the folders linked to it, and shows the recovery kit', async () => {
    const api = setupApi();
    render(<App api={api} />);
    await screen.findByTestId('setup-source-path');
    type('setup-source-path', '/home/aki/Documents');
    fireEvent.click(screen.getByTestId('setup-add-source'));
    await screen.findByTestId('setup-source-item');
    fireEvent.click(screen.getByTestId('setup-sources-next'));

    await screen.findByTestId('setup-password');
    type('setup-password', 'correct horse battery');
    type('setup-password-repeat', 'correct horse battery');
    fireEvent.click(screen.getByTestId('setup-password-next'));

    await screen.findByTestId('dest-location');
    // The destination step cannot be left empty.
    fireEvent.click(screen.getByTestId('setup-finish'));
    expect(screen.getByTestId('setup-dest-error')).toBeTruthy();
    // Required fields are checked before any call.
    fireEvent.click(screen.getByTestId('dest-submit'));
    expect(screen.getByTestId('dest-location-error')).toBeTruthy();
    expect(api.callsOf('addDestination')).toEqual([]);

    type('dest-location', '/media/aki/BLUE/mamori');
    type('dest-name', 'Blue USB');
    fireEvent.change(screen.getByTestId('dest-media'), { target: { value: 'usb-flash' } });
    fireEvent.change(screen.getByTestId('dest-place'), { target: { value: 'home' } });
    type('dest-first-use', '2024-01-02');
    fireEvent.click(screen.getByTestId('dest-submit'));

    await screen.findByTestId('setup-dest-item');
    // Only copies at home so far: the nudge asks for a second, offsite one.
    expect(screen.getByTestId('setup-nudge').textContent).toMatch(/second destination kept somewhere else/);
    fireEvent.click(screen.getByTestId('setup-finish'));

    await screen.findByTestId('recovery-kit');
    expect(api.callsOf('setPassword')).toEqual([{ password: 'correct horse battery' }]);
    expect(api.callsOf('addDestination')).toEqual([{ location: '/media/aki/BLUE/mamori', name: 'Blue USB', mediaKind: 'usb-flash', place: 'home', firstUse: '2024-01-02' }]);
    expect(api.callsOf('addSource')).toEqual([{ paths: ['/home/aki/Documents'], kind: 'folder', destinationIds: ['d1'] }]);
    const order = api.calls.map((c) => c.method).filter((m) => m === 'setPassword' || m === 'addDestination' || m === 'addSource');
    expect(order).toEqual(['setPassword', 'addDestination', 'addSource']);

    const kit = screen.getByTestId('recovery-kit');
    expect(kit.textContent).toContain('/media/aki/BLUE/mamori');
    expect(screen.getAllByTestId('kit-restic')[0].textContent).toContain('restic -r /media/aki/BLUE/mamori snapshots');
    expect(screen.getByTestId('kit-password-line')).toBeTruthy();
    // The password is never printed on the kit.
    expect(kit.textContent).not.toContain('correct horse battery');

    fireEvent.click(screen.getByTestId('setup-done'));
    await screen.findByTestId('dashboard');
  });

  test('an offsite destination satisfies the nudge; sign-in secrets go to secrets, not options', async () => {
    const api = setupApi();
    api.handlers.getOverview = () => emptyOverview({ needsSetup: { password: false, source: false, destination: true } });
    render(<App api={api} />);
    await screen.findByTestId('dest-location');
    type('dest-location', 's3:https://s3.example.net/aki-backup');
    type('dest-name', 'Cloud');
    type('dest-s3-key-id', 'AKIDEXAMPLE');
    type('dest-s3-secret', 'not-a-real-secret');
    fireEvent.click(screen.getByTestId('dest-submit'));
    await screen.findByTestId('setup-dest-item');
    expect(screen.getByTestId('setup-nudge').textContent).toMatch(/copy away from home/);
    expect(api.callsOf('addDestination')).toEqual([{
      location: 's3:https://s3.example.net/aki-backup', name: 'Cloud', mediaKind: 'cloud', place: 'offsite',
      secrets: { 's3-access-key-id': 'AKIDEXAMPLE', 's3-secret-access-key': 'not-a-real-secret' },
    }]);
  });
});
