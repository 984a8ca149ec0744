// A small i18n layer (no library): two dictionaries, {placeholder} substitution, a "_one" variant
// for English singulars (chosen when the param n is 1), and Intl-based formatting of sizes, dates,
// ages and durations. The language comes from the user's setting; 'auto' follows the browser's
// preferred languages (in Electron: the OS language). Switching re-renders every screen at once,
// with no reload, because all text is read through useI18n() during render.

import { createContext, useContext, useEffect, useMemo, useState, type ReactNode } from 'react';
import { en, type MessageKey } from './en';
import { ja } from './ja';

export type Lang = 'en' | 'ja';
export type LangSetting = 'auto' | Lang;
export type Params = Record<string, string | number>;
export type { MessageKey } from './en';

const DICTS: Record<Lang, Partial<Record<MessageKey, string>>> = { en, ja };

/** The language a setting means here: 'auto' takes the first preferred language Mamori speaks. */
export function resolveLang(setting: LangSetting, preferred?: readonly string[]): Lang {
  if (setting !== 'auto') return setting;
  const langs = preferred ?? (typeof navigator !== 'undefined' ? (navigator.languages?.length ? navigator.languages : [navigator.language]) : []);
  for (const l of langs) {
    const low = (l ?? '').toLowerCase();
    if (low.startsWith('ja')) return 'ja';
    if (low.startsWith('en')) return 'en';
  }
  return 'en';
}

export function isMessageKey(key: string): key is MessageKey {
  return Object.prototype.hasOwnProperty.call(en, key);
}

export function translate(lang: Lang, key: MessageKey, params?: Params): string {
  const dict = DICTS[lang];
  let text: string | undefined;
  if (params?.n === 1) text = dict[`${key}_one` as MessageKey];
  text ??= dict[key] ?? en[key] ?? key;
  if (!params) return text;
  return text.replace(/\{(\w+)\}/g, (whole, name: string) => (Object.prototype.hasOwnProperty.call(params, name) ? String(params[name]) : whole));
}

export interface Formatters {
  number(n: number): string;
  /** 1.5 MB (decimal units, as drives are sold). */
  bytes(n: number): string;
  /** A calendar date; a bare YYYY-MM-DD is taken as that local day. */
  date(iso: string): string;
  dateTime(iso: string): string;
  /** "3 days ago", "3 日前". */
  ago(iso: string): string;
  /** Whole days as the engine words them: "4 years and 2 months". */
  days(n: number): string;
  /** A duration for an ETA: "about 5 minutes". */
  duration(seconds: number): string;
  list(items: string[]): string;
}

function parseDate(iso: string): Date {
  const m = /^(\d{4})-(\d{2})-(\d{2})$/.exec(iso);
  return m ? new Date(Number(m[1]), Number(m[2]) - 1, Number(m[3])) : new Date(iso);
}

export function makeFormatters(lang: Lang, now: () => number = Date.now): Formatters {
  const locale = lang === 'ja' ? 'ja-JP' : 'en';
  const t = (key: MessageKey, params?: Params) => translate(lang, key, params);
  const num = new Intl.NumberFormat(locale, { maximumFractionDigits: 1 });
  const dateFmt = new Intl.DateTimeFormat(locale, { dateStyle: 'medium' });
  const dateTimeFmt = new Intl.DateTimeFormat(locale, { dateStyle: 'medium', timeStyle: 'short' });
  const rel = new Intl.RelativeTimeFormat(locale, { numeric: 'auto' });
  const listFmt = new Intl.ListFormat(locale, { style: 'long', type: 'conjunction' });
  const count = (unit: 'days' | 'months' | 'years' | 'seconds' | 'minutes' | 'hours', n: number) => t(`time.${unit}`, { n: n === 1 ? 1 : num.format(n) });
  return {
    number: (n) => num.format(n),
    bytes(n) {
      const units = ['B', 'kB', 'MB', 'GB', 'TB', 'PB'];
      let v = Math.max(0, n);
      let i = 0;
      while (v >= 1000 && i < units.length - 1) {
        v /= 1000;
        i++;
      }
      return `${i === 0 ? Math.round(v) : num.format(v)} ${units[i]}`;
    },
    date: (iso) => {
      const d = parseDate(iso);
      return Number.isNaN(d.getTime()) ? iso : dateFmt.format(d);
    },
    dateTime: (iso) => {
      const d = parseDate(iso);
      return Number.isNaN(d.getTime()) ? iso : dateTimeFmt.format(d);
    },
    ago(iso) {
      const then = parseDate(iso).getTime();
      if (Number.isNaN(then)) return iso;
      const s = Math.round((then - now()) / 1000);
      const a = Math.abs(s);
      if (a < 60) return rel.format(0, 'second');
      if (a < 3600) return rel.format(Math.round(s / 60), 'minute');
      if (a < 48 * 3600) return rel.format(Math.round(s / 3600), 'hour');
      if (a < 60 * 86400) return rel.format(Math.round(s / 86400), 'day');
      if (a < 730 * 86400) return rel.format(Math.round(s / (86400 * 30.4)), 'month');
      return rel.format(Math.round(s / (86400 * 365)), 'year');
    },
    days(n) {
      const d = Math.floor(Math.max(0, n));
      if (d < 1) return t('time.lessThanDay');
      if (d <= 60) return count('days', d);
      if (d < 365) return count('months', Math.floor((d * 12) / 365));
      const years = Math.floor(d / 365);
      const months = Math.floor(((d - years * 365) * 12) / 365);
      return months === 0 ? count('years', years) : t('time.yearsMonths', { years: count('years', years), months: count('months', months) });
    },
    duration(seconds) {
      const s = Math.max(0, Math.round(seconds));
      if (s < 60) return count('seconds', s);
      if (s < 90 * 60) return count('minutes', Math.round(s / 60));
      return count('hours', Math.round(s / 3600));
    },
    list: (items) => (lang === 'ja' ? items.join('、') : listFmt.format(items)),
  };
}

export interface I18n {
  lang: Lang;
  setting: LangSetting;
  setSetting(s: LangSetting): void;
  t(key: MessageKey, params?: Params): string;
  fmt: Formatters;
}

const I18nContext = createContext<I18n | undefined>(undefined);

export function I18nProvider({ initial = 'auto', children }: { initial?: LangSetting; children: ReactNode }) {
  const [setting, setSetting] = useState<LangSetting>(initial);
  const lang = resolveLang(setting);
  const value = useMemo<I18n>(() => ({
    lang,
    setting,
    setSetting,
    t: (key, params) => translate(lang, key, params),
    fmt: makeFormatters(lang),
  }), [lang, setting]);
  useEffect(() => {
    document.documentElement.lang = lang;
  }, [lang]);
  return <I18nContext.Provider value={value}>{children}</I18nContext.Provider>;
}

export function useI18n(): I18n {
  const v = useContext(I18nContext);
  if (!v) throw new Error('useI18n outside I18nProvider');
  return v;
}
