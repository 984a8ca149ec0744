// Words for the engine's domain data in the UI's language. The engine writes warnings, risks and
// report headlines in plain English and also returns their codes and numbers (shared/protection.ts:
// "so the UI can translate it"). English shows the engine's own sentences unchanged; Japanese builds
// each sentence from the code and params here. A code this file does not know (a newer engine) falls
// back to the engine's English rather than showing nothing.

import { MEDIA_KINDS, type MediaFamily, type ProtectionReport, type Risk, type Warning } from '../../../shared/protection';
import { isMessageKey, type Formatters, type Lang, type MessageKey, type Params } from './index';

type T = (key: MessageKey, params?: Params) => string;

export function mediaLabel(kind: string, t: T): string {
  const key = `kind.${kind}`;
  return isMessageKey(key) ? t(key) : kind;
}

export function placeLabel(place: string, t: T): string {
  const key = `place.${place}`;
  return isMessageKey(key) ? t(key) : place;
}

const num = (p: Params, k: string): number | undefined => (typeof p[k] === 'number' ? (p[k] as number) : undefined);
const str = (p: Params, k: string): string => (p[k] === undefined ? '' : String(p[k]));

/** A warning's sentence and suggested action in the UI language. */
export function warningWords(w: Warning, lang: Lang, fmt: Formatters): { text: string; action: string } {
  if (lang !== 'ja') return { text: w.text, action: w.action };
  const p = w.params;
  const name = `「${str(p, 'name')}」`;
  const days = (k: string) => fmt.days(num(p, k) ?? 0);
  const generalAction = '今すぐバックアップを実行してください。保存先が接続されていなければ、接続してください。失敗した場合は、その理由が「アクティビティ」に表示されます。';
  switch (w.code) {
    case 'age-approaching': {
      const left = num(p, 'replaceInDays');
      return {
        text: `${name}は使い始めてから${days('ageDays')}になります。この種類の媒体は、このころから故障しやすくなります。${left !== undefined ? `${fmt.days(left)}以内に` : ''}新しい媒体への交換を計画してください。`,
        action: '代わりの媒体を用意して新しい保存先として追加し、そこに完全なバックアップができるまで、今の媒体も保管しておいてください。',
      };
    }
    case 'age-exceeded':
      return {
        text: `${name}は使い始めてから${days('ageDays')}になり、安全に使える期間を過ぎています。早めに新しい媒体へバックアップを移してください。`,
        action: '新しい媒体を保存先として追加してバックアップし、それが済んでからこの媒体の使用をやめてください。',
      };
    case 'raid-age': {
      const left = num(p, 'replaceInDays');
      return {
        text: `${name}のディスクは使い始めてから${days('ageDays')}になります。同じ時期に買ったディスクは、続けて故障することがあります。`,
        action: `${left !== undefined ? `${fmt.days(left)}以内に、` : ''}古いディスクから1台ずつ交換する計画を立て、NAS以外の場所にもバックアップを置いてください。`,
      };
    }
    case 'disc-migration':
      return {
        text: `${name}のディスクは書き込みから${days('ageDays')}になります。記録型ディスクは数年で読めなくなることがよくあります。新しい媒体にバックアップを移してください。`,
        action: '新しい媒体（新しいディスク、ドライブ、クラウドストレージなど）にバックアップし、それが終わるまでこのディスクは保管してください。',
      };
    case 'unpowered-flash':
      return {
        text: `${name}は${days('daysUnplugged')}接続されていません。フラッシュメモリーは、電源が入らない状態が続くと少しずつデータを失います。接続して、バックアップの点検と更新をさせてください。`,
        action: '接続してください。Mamoriが点検し、バックアップを最新の状態にします。',
      };
    case 'not-connected':
      return {
        text: `${name}は${days('daysUnplugged')}接続されていません。状態を確認してバックアップを最新に保つため、少なくとも${days('connectEveryDays')}に1回は接続してください。`,
        action: 'ドライブを接続して、バックアップを実行させてください。',
      };
    case 'no-recent-backup':
      return {
        text: `${name}への最後のバックアップ成功は${days('daysSinceBackup')}前です。${num(p, 'failedSince') ? 'それ以降のバックアップは失敗しています。' : ''}`,
        action: generalAction,
      };
    case 'never-backed-up':
      return {
        text: `${name}には、まだ何もバックアップされていません${num(p, 'attempted') ? '（これまでの試みはすべて失敗しました）' : ''}。追加されてから${days('daysSinceAdded')}経っています。`,
        action: generalAction,
      };
    case 'not-verified':
      return {
        text: num(p, 'never')
          ? `${name}のバックアップが復元できることを、一度も確認していません。追加されてから${days('daysSinceAdded')}経っています。チェックを実行してください。`
          : `${name}のバックアップが復元できることを、${days('daysSinceCheck')}確認していません。チェックを実行してください。`,
        action: 'バックアップしたデータを読み戻すチェックを実行してください。',
      };
    case 'check-due':
      return {
        text: num(p, 'daysSinceCheck') !== undefined
          ? `${name}を最後にチェックしてから${days('daysSinceCheck')}経ちました。すべてのファイルが正しく読めることを確認するため、セットしてください。`
          : `${name}は一度もチェックされておらず、使い始めてから${days('ageDays')}経っています。すべてのファイルが正しく読めることを確認するため、セットしてください。`,
        action: 'ディスクまたはテープをセットして、すべてのデータを読み取るチェックを実行してください。',
      };
    case 'read-back-failed':
      return {
        text: `${name}で、バックアップしたデータの一部を正しく読み戻せませんでした。この保存先には頼らず、別の媒体に新しいコピーを作ってください。`,
        action: '今すぐ別の保存先にバックアップしてください。影響を受けたファイルは、チェックの報告に載っています。',
      };
    default:
      return { text: w.text, action: w.action };
  }
}

const WEAKNESS_JA: Record<MediaFamily, string> = {
  hdd: 'ハードディスクは衝撃・電源のサージ・摩耗という同じ弱点を持ち、同時に買ったものは続けて故障しがちです',
  flash: 'フラッシュメモリーは電源が入らない間に少しずつデータを失い、同じ種類のものは同じように劣化します',
  disc: '同じ種類の記録型ディスクは同じように劣化し、数年で読めなくなることがよくあります',
  tape: 'どのテープも、読み出すには対応する世代のドライブが必要です',
  cloud: 'どれもアカウントに依存しています。パスワードの紛失、アカウントの閉鎖、ログイン中の削除などが、すべてに同時に及ぶことがあります',
};

const PLACE_JA: Record<string, string> = { home: '自宅', office: '職場', offsite: 'その場所' };

export function riskText(r: Risk, lang: Lang, fmt: Formatters, t: T): string {
  if (lang !== 'ja') return r.text;
  const p = r.params;
  const lost = (d: number) => (d <= 1 ? '直近1日分' : `直近${fmt.days(d)}分`);
  switch (r.code) {
    case 'no-backup':
      return `このコンピューターのディスクが故障すると、${str(p, 'source')}の中身はすべて失われます。まだバックアップがありません。`;
    case 'only-one-copy':
      return `「${str(p, 'destination')}」がこのコンピューターと同時に故障すると、すべてが失われます。`;
    case 'same-place':
      return `${PLACE_JA[str(p, 'place')] ?? 'その場所'}で火災や盗難があると、このコンピューターとすべてのコピーが一度に失われます。`;
    case 'original-fails':
      return `このコンピューターのディスクが故障すると、${lost(num(p, 'days') ?? 0)}の変更が失われます。「${str(p, 'destination')}」のコピーがその時点のものだからです。`;
    case 'copy-and-original-fail':
      return `「${str(p, 'destination')}」の故障とこのコンピューターの盗難が重なると、${lost(num(p, 'days') ?? 0)}の変更が失われます。「${str(p, 'survivor')}」のコピーがその時点のものだからです。`;
    case 'copies-one-place':
      return `${PLACE_JA[str(p, 'place')] ?? 'その場所'}で火災や盗難があると、すべてのコピーが一度に失われ、残るのはこのコンピューターだけになります。`;
    case 'same-media': {
      const kind = str(p, 'mediaKind');
      const family = MEDIA_KINDS.find((m) => m.kind === kind)?.family;
      return `すべてのコピーが${mediaLabel(kind, t)}にあるため、同じ弱点を共有しています。${family ? `${WEAKNESS_JA[family]}。` : ''}別の種類の媒体にあるコピーなら、この弱点はありません。`;
    }
    case 'reachable-by-malware':
      return 'このコンピューターがランサムウェアに感染すると、すべてのコピーまで暗号化・消去されるおそれがあります。どのコピーもこのコンピューターから書き換えられるためです。1つを接続せずに保管するか、削除を受け付けない保存先に置けば防げます。';
    default:
      return r.text;
  }
}

/** What the 3-2-1 rule still needs, in the UI language. */
export function missingWords(r: ProtectionReport, lang: Lang, t: T): string[] {
  if (lang !== 'ja') return r.rule321.missing;
  const out: string[] = [];
  if (r.rule321.copies < 3) out.push(r.rule321.copies === 2 ? 'もう1つの最新のバックアップ' : 'あと2つの最新のバックアップ');
  if (r.rule321.media === 0) out.push('2種類の媒体へのバックアップ');
  else if (r.rule321.media === 1 && r.mediaKinds[0]) out.push(`${mediaLabel(r.mediaKinds[0], t)}以外の媒体へのバックアップ`);
  if (!r.rule321.offsite) out.push('離れた場所に保管するコピー');
  return out;
}

export function headline(r: ProtectionReport, lang: Lang, fmt: Formatters, t: T): string {
  if (lang !== 'ja') return r.headline;
  const name = r.sourceName;
  if (r.verdict === 'unprotected') return `${name}にはまだバックアップがありません。`;
  const current = r.copies.filter((c) => c.current);
  if (r.verdict === 'protected') {
    const away = current.filter((c) => c.away).length;
    return `${name}は十分に守られています。最新のバックアップが${current.length}つ、${r.distinctMediaKinds}種類の媒体にあり、そのうち${away}つは離れた場所にあります。`;
  }
  if (current.length === 0) {
    const freshest = [...r.copies].filter((c) => c.newestSnapshot).sort((a, b) => Date.parse(b.newestSnapshot ?? '') - Date.parse(a.newestSnapshot ?? ''))[0];
    if (freshest?.notCurrentReason === 'stale' && freshest.snapshotAgeDays !== undefined) {
      return `${name}には最新のバックアップがありません。いちばん新しいものでも${fmt.days(freshest.snapshotAgeDays)}前のものです。`;
    }
    return `${name}には、今すぐ頼れるバックアップがありません。保存先の警告を確認してください。`;
  }
  return `${name}の最新のバックアップは${current.length}つです。3-2-1の保護には、さらに${missingWords(r, lang, t).join('、')}が必要です。`;
}
