import type { DeckKind, RateBook } from './rate-book';
import type { UsageRecord } from './usage-record';

/** What kind of usage a record is, which deck prices it and which pool may pay for it. */
export type Classification =
  | { kind: 'free'; reason: 'emergency' | 'inbound' }
  | {
      kind: 'chargeable';
      deck: DeckKind;
      /** The number the deck is looked up by: the callee (or the toll-free number dialled). */
      ratedNumber: string;
      destinationCountry: string | undefined;
      context: 'Domestic' | 'International';
      /** `<capability>:<country>` when the licence's pool may cover the call. */
      pool: string | undefined;
    }
  | { kind: 'unclassifiable'; reason: string };

const OUTBOUND = new Set([
  'user_out',
  'user_out_conf',
  'user_out_transfer',
  'user_out_forwarding',
  'ucap_out',
]);

export function classifyCall(book: RateBook, record: UsageRecord): Classification {
  const { callType } = record;
  if (callType === 'emergency') return { kind: 'free', reason: 'emergency' };
  if (callType === 'user_in' || callType === 'ucap_in') return { kind: 'free', reason: 'inbound' };
  if (callType === 'conf_in' && record.numberType !== 'tollFree') return { kind: 'free', reason: 'inbound' };

  const deck: DeckKind =
    callType === 'conf_in' ? 'tollfree_dialin' : callType === 'conf_out' ? 'conference_dialout' : 'outbound';
  if (deck === 'outbound' && !OUTBOUND.has(callType))
    return { kind: 'unclassifiable', reason: `call type ${callType}` };
  const ratedNumber = record.calleeNumber;
  if (!ratedNumber) return { kind: 'unclassifiable', reason: `a ${callType} call needs a calleeNumber` };
  const destinationCountry = book.countries.lookup(ratedNumber)?.country;
  const home = record.usageCountryCode ?? record.tenantCountryCode;
  const context =
    record.destinationContext ??
    (destinationCountry !== undefined && destinationCountry === home ? 'Domestic' : 'International');

  let pool: string | undefined;
  const capability = record.licenseCapability;
  const plan = capability ? book.plans.get(capability) : undefined;
  if (plan && home) {
    if (deck === 'outbound') {
      const covered =
        context === 'Domestic' ? plan.covers.includes('domestic') : plan.covers.includes('international');
      if (covered) pool = `${capability}:${home}`;
    } else if (deck === 'conference_dialout' && plan.covers.includes('conference_dialout_zone_a')) {
      if (destinationCountry && book.zoneA.has(destinationCountry))
        pool = `${capability}:${record.tenantCountryCode ?? home}`;
    }
  }
  return { kind: 'chargeable', deck, ratedNumber, destinationCountry, context, pool };
}

/** Monthly seconds each pool holds, from the licences a tenant has per country. */
export function poolCapacities(
  book: RateBook,
  licences: { capability: string; country: string; users: number }[],
): Record<string, number> {
  const capacities: Record<string, number> = {};
  for (const { capability, country, users } of licences) {
    const plan = book.plans.get(capability);
    if (!plan || plan.covers.length === 0) continue;
    const minutes = plan.minutesPerUser[country] ?? plan.minutesPerUser.default ?? 0;
    const key = `${capability}:${country}`;
    capacities[key] = (capacities[key] ?? 0) + users * minutes * 60;
  }
  return capacities;
}
