// Media age, destination health warnings and the per-source protection report: pure functions of
// recorded facts and an injected `now`. Types and default thresholds live in shared/protection.ts so
// the UI can show and edit them.
export { DAY_MS, daysSince, formatDays, mediaAgeDays, mediaAgeStart, parseInstant, ruleFor, wholeDays } from './media-age';
export { destinationWarnings, isDisc, sortWarnings } from './warnings';
export { protectionReport } from './protection-report';
export {
  DEFAULT_MEDIA_RULES,
  DEFAULT_THRESHOLDS,
  MEDIA_KINDS,
  PLACES,
  SEVERITY_RANK,
  isMediaKind,
  isPlace,
  mediaKindInfo,
  mergeThresholds,
} from '../../../shared/protection';
export type {
  CopyFacts,
  CopyLine,
  DestinationFacts,
  HealthThresholds,
  HealthThresholdsInput,
  MediaFamily,
  MediaKind,
  MediaKindInfo,
  MediaRule,
  MediaRuleInput,
  NotCurrentReason,
  Place,
  ProtectionInput,
  ProtectionReport,
  Risk,
  RiskCode,
  Rule321,
  Severity,
  SourceFacts,
  Verdict,
  Warning,
  WarningCode,
} from '../../../shared/protection';
