import type { CallType } from '../../rating';

/**
 * Call types as the console names them (the CSV export and the API keep the codes): the
 * contract's CALL_TYPES, after Microsoft Teams' PSTN usage report.
 */
export const CALL_TYPE_WORDS: Readonly<Record<CallType, string>> = {
  user_in: 'Inbound call',
  user_out: 'Outbound call',
  user_out_conf: 'Outbound call added to a conference',
  user_out_transfer: 'Outbound call, transferred',
  user_out_forwarding: 'Outbound call, forwarded',
  conf_in: 'Conference dial-in',
  conf_out: 'Conference dial-out',
  ucap_in: 'Inbound call to an auto attendant or call queue',
  ucap_out: 'Outbound call from an auto attendant or call queue',
  emergency: 'Emergency call',
};

/**
 * A call type in words: a toll-free conference dial-in (the one the tenant pays for) says so;
 * a code the console does not know is shown as it is.
 */
export function callTypeWords(code: string, numberType?: string): string {
  const words = (CALL_TYPE_WORDS as Record<string, string | undefined>)[code];
  if (words === undefined) return code;
  return code === 'conf_in' && numberType === 'tollFree' ? `${words} (toll-free)` : words;
}

const collator = new Intl.Collator(undefined, { numeric: true });

/**
 * Natural order of names (user1, user2, user10), as a person sorts them: digits by their value,
 * letters by the locale; names the collator holds equal fall back to their code units, so the
 * order is total and the same on every render.
 */
export function compareNatural(a: string, b: string): number {
  return collator.compare(a, b) || (a < b ? -1 : a > b ? 1 : 0);
}

/** A copy of `items` in the natural order of the names `name` gives. */
export function sortNatural<T>(items: readonly T[], name: (item: T) => string): T[] {
  return [...items].sort((x, y) => compareNatural(name(x), name(y)));
}
