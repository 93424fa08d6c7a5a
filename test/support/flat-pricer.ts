import type { DecodedUsageRecord } from '../../src/kafka/cdr-decoder';
import type { PricedUsage, Unrated, UsagePricer } from '../../src/settlement/ports';

/**
 * A stand-in pricing for pipeline tests that must not depend on the shipped decks: 10 minor
 * units per started minute plus a 5-unit connection fee; MCOPSTN1 calls draw on the
 * `MCOPSTN1:<usage country>` pool in whole minutes; +999 numbers are unrated; inbound is free.
 */
export class FlatPricer implements UsagePricer {
  periodOf(record: DecodedUsageRecord): string {
    return new Date(record.startDateTime).toISOString().slice(0, 7);
  }

  poolFor(record: DecodedUsageRecord) {
    if (record.licenseCapability !== 'MCOPSTN1' || !record.usageCountryCode) return undefined;
    return { pool: `MCOPSTN1:${record.usageCountryCode}`, period: this.periodOf(record) };
  }

  price(record: DecodedUsageRecord, currency: string, poolSecondsLeft: number): PricedUsage | Unrated {
    if (record.calleeNumber?.startsWith('+999'))
      return { kind: 'unrated', reason: `no rate for ${record.calleeNumber}`, code: 'unrated_destination' };
    const minutes = Math.ceil(record.duration / 60);
    const billedSeconds = minutes * 60;
    const base = {
      kind: 'priced' as const,
      currency,
      billedSeconds,
      destinationName: 'Flatland',
      rate: { deck: 'flat', version: '1', prefix: '+' },
    };
    if (record.callType.endsWith('_in') || record.callType === 'emergency') {
      return { ...base, payment: 'free', charge: 0n, connectionCharge: 0n, poolSeconds: 0 };
    }
    const poolSeconds = this.poolFor(record)
      ? Math.min(billedSeconds, Math.floor(poolSecondsLeft / 60) * 60)
      : 0;
    const paidMinutes = (billedSeconds - poolSeconds) / 60;
    if (paidMinutes === 0)
      return { ...base, payment: 'bundle', charge: 0n, connectionCharge: 0n, poolSeconds };
    return {
      ...base,
      payment: 'paid',
      charge: BigInt(paidMinutes * 10 + 5),
      connectionCharge: 5n,
      poolSeconds,
    };
  }
}

/** The flat pricer after its decks changed: dearer, another destination name and version. */
export class ChangedPricer extends FlatPricer {
  override price(
    record: DecodedUsageRecord,
    currency: string,
    poolSecondsLeft: number,
  ): PricedUsage | Unrated {
    const price = super.price(record, currency, poolSecondsLeft);
    if (price.kind === 'unrated') return price;
    return {
      ...price,
      charge: price.charge * 2n,
      connectionCharge: 9n,
      billedSeconds: price.billedSeconds + 60,
      destinationName: 'Changed',
      rate: { deck: 'flat', version: '2', prefix: '+4' },
    };
  }
}
