import type { PrefixTable } from './prefix-table';

export type DeckKind = 'outbound' | 'conference_dialout' | 'tollfree_dialin';
export const DECK_KINDS: DeckKind[] = ['outbound', 'conference_dialout', 'tollfree_dialin'];

export interface RateEntry {
  prefix: string;
  destination: string;
  kind: 'landline' | 'mobile' | 'any';
  /** Per minute, in micro-units of the deck's currency. */
  ratePerMinuteMicro: bigint;
}

export interface DeckVersion {
  version: string;
  /** Inclusive, ms since the epoch. */
  effectiveFrom: number;
  /** Exclusive; Infinity when open-ended. */
  effectiveTo: number;
  file: string;
  rates: PrefixTable<RateEntry>;
}

/** Billing increment: the first `first` seconds are billed whole, then blocks of `next`. */
export interface Increment {
  first: number;
  next: number;
}

export interface PeakWindow {
  timeZone: string;
  /** ISO weekdays, 1 Monday to 7 Sunday. */
  days: number[];
  /** Minutes after midnight, local: peak is [from, to). */
  fromMinute: number;
  toMinute: number;
  /** Off-peak rate = rate x factor, in micro-units (800000n = 0.8). */
  offPeakFactorMicro: bigint;
}

export interface RateDeck {
  id: string;
  /** Where the deck is declared in decks.yaml. */
  line: number;
  kind: DeckKind;
  currency: string;
  increment: Increment;
  connectionFeeMicro: bigint;
  minimumChargeMicro: bigint;
  peak: PeakWindow | undefined;
  versions: DeckVersion[];
}

export interface Plan {
  capability: string;
  covers: ('domestic' | 'international' | 'conference_dialout_zone_a')[];
  minutesPerUser: Record<string, number>;
}

export interface RateBook {
  decks: RateDeck[];
  plans: Map<string, Plan>;
  zoneA: Set<string>;
  /** Calling-code prefixes to ISO 3166-1 countries. */
  countries: PrefixTable<{ country: string; name: string }>;
}

/**
 * The deck kinds the book prices in some currency but not in `currency`: a tenant in that
 * currency could make calls no deck rates (every deck kind may be used by any tenant).
 */
export function missingDeckKinds(book: RateBook, currency: string): DeckKind[] {
  const priced = (kind: DeckKind, inCurrency?: string) =>
    book.decks.some(
      (deck) => deck.kind === kind && (inCurrency === undefined || deck.currency === inCurrency),
    );
  return DECK_KINDS.filter((kind) => priced(kind) && !priced(kind, currency));
}

/** A problem in the rate files, with where it is. */
export interface RateFileError {
  file: string;
  line: number;
  message: string;
}

export class RateBookError extends Error {
  override readonly name = 'RateBookError';
  constructor(readonly errors: RateFileError[]) {
    super(
      `the rate files have ${errors.length} error(s):\n${errors.map((e) => `  ${e.file}:${e.line}: ${e.message}`).join('\n')}`,
    );
  }
}
