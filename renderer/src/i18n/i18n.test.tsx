// Language: English and Japanese dictionaries are complete and keep every placeholder; 'auto'
// follows the preferred languages; switching in Settings re-renders in Japanese at once and saves
// the choice; engine warnings and headlines are rebuilt in Japanese from their codes and numbers.
import { fireEvent, render, screen, waitFor, within } from '@testing-library/react';
import { describe, expect, test } from 'vitest';
import { App } from '../App';
import { defaultSettings, fakeApi } from '../test/fakeApi';
import { fullOverview } from '../test/fixtures';
import { en } from './en';
import { makeFormatters, resolveLang, translate } from './index';
import { ja } from './ja';

const placeholders = (s: string) => [...s.matchAll(/\{(\w+)\}/g)].map((m) => m[1]).sort();

describe('dictionaries', () => {
  test('Japanese has every English key, no extra keys, and the same placeholders', () => {
    const enKeys = Object.keys(en).filter((k) => !k.endsWith('_one'));
    const jaDict = ja as Record<string, string>;
    for (const k of enKeys) {
      expect(jaDict[k], k).toBeTruthy();
      expect(placeholders(jaDict[k]), k).toEqual(placeholders((en as Record<string, string>)[k]));
    }
    for (const k of Object.keys(ja)) expect(Object.keys(en), k).toContain(k);
  });

  test('translate fills placeholders and picks the English singular', () => {
    expect(translate('en', 'restore.fileCount', { n: 1 })).toBe('1 file');
    expect(translate('en', 'restore.fileCount', { n: '1,204' })).toBe('1,204 files');
    expect(translate('ja', 'restore.fileCount', { n: 1 })).toBe('1ファイル');
  });

  test("'auto' follows the first preferred language Mamori speaks", () => {
    expect(resolveLang('auto', ['ja-JP', 'en-US'])).toBe('ja');
    expect(resolveLang('auto', ['fr-FR', 'en-GB', 'ja'])).toBe('en');
    expect(resolveLang('auto', ['de-DE'])).toBe('en');
    expect(resolveLang('en', ['ja-JP'])).toBe('en');
    expect(resolveLang('ja', ['en-US'])).toBe('ja');
  });

  test('ages are worded like the engine words them', () => {
    const f = makeFormatters('en');
    expect(f.days(0)).toBe('less than a day');
    expect(f.days(1)).toBe('1 day');
    expect(f.days(60)).toBe('60 days');
    expect(f.days(183)).toBe('6 months');
    expect(f.days(1460)).toBe('4 years');
    expect(f.days(1362)).toBe('3 years and 8 months');
    expect(makeFormatters('ja').days(1362)).toBe('3年8か月');
  });
});

describe('switching language', () => {
  test('choosing 日本語 in Settings re-renders in Japanese at once and saves it', async () => {
    const api = fakeApi({
      getSettings: () => defaultSettings,
      getOverview: () => fullOverview(),
      updateSettings: (p) => ({ ...defaultSettings, ...p }),
    });
    window.location.hash = '#/settings';
    render(<App api={api} />);
    const select = await screen.findByTestId('lang-select');
    expect(screen.getByTestId('nav-settings').textContent).toBe('Settings');

    fireEvent.change(select, { target: { value: 'ja' } });
    expect(screen.getByTestId('nav-settings').textContent).toBe('設定');
    expect(screen.getByTestId('nav-dashboard').textContent).toBe('概要');
    expect(screen.getByRole('heading', { level: 1 }).textContent).toBe('設定');
    expect(document.documentElement.lang).toBe('ja');
    await waitFor(() => expect(api.callsOf('updateSettings')).toEqual([{ language: 'ja' }]));

    fireEvent.change(screen.getByTestId('lang-select'), { target: { value: 'en' } });
    expect(screen.getByTestId('nav-settings').textContent).toBe('Settings');
  });

  test('a saved Japanese setting shows the overview in Japanese, warnings and headline included', async () => {
    const api = fakeApi({ getSettings: () => ({ ...defaultSettings, language: 'ja' }), getOverview: () => fullOverview() });
    render(<App api={api} />);
    await waitFor(() => expect(screen.getByTestId('nav-dashboard').textContent).toBe('概要'));
    expect(screen.getByTestId('dashboard-backup-now').textContent).toBe('今すぐバックアップ');
    const w = within(screen.getByTestId('dashboard-warnings')).getByTestId('warning');
    expect(within(w).getByTestId('warning-text').textContent).toBe('「Blue USB」への最後のバックアップ成功は12日前です。');
    expect(within(w).getByTestId('warning-action').textContent).toMatch(/^対処法：今すぐバックアップを実行してください。/);
    const headline = screen.getByTestId('report-headline').textContent ?? '';
    expect(headline).toContain('Documentsの最新のバックアップは1つです。');
    expect(headline).toContain('もう1つの最新のバックアップ');
    expect(screen.getByTestId('report-risk').textContent).toBe('自宅で火災や盗難があると、このコンピューターとすべてのコピーが一度に失われます。');
    expect(screen.getAllByTestId('report-copy')[0].textContent).toContain('USBメモリー');
  });
});
