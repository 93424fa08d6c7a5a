/** The rating core: pure, no I/O beyond loadRateBook reading the rates folder. */
export { classifyCall, poolCapacities } from './classify';
export type { Classification } from './classify';
export { isoString, parseInstant } from './instant';
export { loadRateBook } from './load';
export { currencyDigits, formatMinor, isCurrency, ROUNDING_MODE } from './money';
export { billedSeconds, poolSecondsFor, rateCall } from './price';
export type { BreakdownLine, RatedCall, RatingResult } from './price';
export { rateBookDigest } from './digest';
export { missingDeckKinds, RateBookError } from './rate-book';
export { parseRateBook } from './parse-rate-book';
export type { DeckKind, RateBook, RateDeck, RateFileError } from './rate-book';
export { CALL_TYPES, E164_NUMBER } from './usage-record';
export type { CallType, UsageRecord } from './usage-record';
