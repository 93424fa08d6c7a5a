/**
 * The size of a rated record, for the passthrough baseline: the first CDRs of the bench's own
 * stream, decoded, priced and turned into rated records by the rater's own functions (its
 * decoder, its pricer over the shipped decks, `serialiseRecord` and `ratedValue`), without
 * Redis: the charge is the price with no minute pool left, which has the same digits as one
 * partly paid by a pool. What the rater would dead-letter (malformed, unrated) is left out.
 */
import { decodeCdr } from '../src/kafka/cdr-decoder';
import type { RateBook } from '../src/rating';
import { RatingPricer } from '../src/settlement/rating-pricer';
import { ratedValue, serialiseRecord } from '../src/kafka/rated-record-format';
import { sourceOf } from '../src/settlement/batch-rating';
import { detailsOf, fingerprint } from '../src/settlement/rated-details';
import type { GeneratedCdr, TenantProfile } from '../tools/loadgen/cdr-stream';

/** The headers every rated record carries (CONTRACTS.md section 2). */
export const RATED_HEADERS = { 'content-type': 'application/json' };

/** Average bytes of a rated record's value over `sample`'s valid records (rounded). */
export async function averageRatedValueBytes(
  book: RateBook,
  tenants: TenantProfile[],
  sample: Iterable<GeneratedCdr>,
): Promise<{ bytes: number; records: number }> {
  const pricer = new RatingPricer(book);
  const byId = new Map(tenants.map((t) => [t.tenantId, t]));
  let bytes = 0;
  let records = 0;
  for (const cdr of sample) {
    if (cdr.kind !== 'valid') continue;
    const decoded = await decodeCdr(cdr.value, cdr.key, undefined);
    const tenant = byId.get(cdr.tenantId);
    if (!('record' in decoded) || !tenant) continue;
    const { record } = decoded;
    const priced = pricer.price(record, tenant.currency, 0);
    if (priced.kind !== 'priced') continue;
    const value = ratedValue(serialiseRecord(record), detailsOf(fingerprint(record), priced), {
      charge: priced.charge,
      poolSeconds: priced.poolSeconds,
      source: sourceOf(priced, tenant.mode),
      appliedAt: new Date(),
    });
    bytes += Buffer.byteLength(value);
    records += 1;
  }
  if (records === 0) throw new Error('no record of the sample could be rated');
  return { bytes: Math.round(bytes / records), records };
}
