import { classifyCall, RateBook, rateCall, UsageRecord } from '../rating';
import type { PricedUsage, Unrated, UsagePricer } from './ports';

/** The usage consumer's pricing, over the rating core and the shipped rate decks. */
export class RatingPricer implements UsagePricer {
  constructor(private readonly book: RateBook) {}

  periodOf(record: UsageRecord): string {
    const start = record.startDateTime;
    // A validated UTC time ('...Z') names its month in its first 7 characters; other offsets
    // may fall in another UTC month.
    return start.endsWith('Z') ? start.slice(0, 7) : new Date(start).toISOString().slice(0, 7);
  }

  poolFor(record: UsageRecord) {
    const classification = classifyCall(this.book, record);
    if (classification.kind !== 'chargeable' || !classification.pool) return undefined;
    return { pool: classification.pool, period: this.periodOf(record) };
  }

  price(record: UsageRecord, currency: string, poolSecondsLeft: number): PricedUsage | Unrated {
    const result = rateCall(this.book, record, currency, poolSecondsLeft);
    if (result.kind === 'unrated') {
      // The rating core names a currency without a deck of the call's kind this way.
      const code = result.reason.startsWith('unsupported_currency')
        ? 'unsupported_currency'
        : 'unrated_destination';
      return { kind: 'unrated', reason: result.reason, code };
    }
    if (result.kind === 'free') {
      return {
        kind: 'priced',
        payment: 'free',
        charge: 0n,
        connectionCharge: 0n,
        currency,
        billedSeconds: 0,
        poolSeconds: 0,
        destinationName: result.reason === 'emergency' ? 'Emergency' : 'Inbound',
        rate: null,
      };
    }
    return {
      kind: 'priced',
      payment: result.paidSeconds > 0 ? 'paid' : result.poolSeconds > 0 ? 'bundle' : 'free',
      charge: result.chargeMinor,
      connectionCharge: result.connectionChargeMinor,
      currency,
      billedSeconds: result.billedSeconds,
      poolSeconds: result.poolSeconds,
      destinationName: result.destinationName,
      rate: { deck: result.rate.deck, version: result.rate.version, prefix: result.rate.prefix },
      destinationContext: result.destinationContext,
    };
  }
}
