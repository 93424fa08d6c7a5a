import { join } from 'node:path';
import type { DecodedUsageRecord } from '../../../src/kafka/cdr-decoder';
import { RatingPricer } from '../../../src/settlement/rating-pricer';
import { loadRateBook } from '../../../src/rating';
import { projectRoot } from '../../../tools/stack/toolchain';

const pricer = new RatingPricer(loadRateBook(join(projectRoot, 'rates')));
const at = (startDateTime: string) =>
  ({ id: 'u', tenantId: 't', callType: 'user_out', startDateTime, duration: 60 }) as DecodedUsageRecord;

describe('RatingPricer.periodOf', () => {
  it.each([
    ['2026-11-30T23:30:00Z', '2026-11'],
    ['2026-11-30T23:30:00.123Z', '2026-11'],
    ['2026-11-30T23:30:00-02:00', '2026-12'],
    ['2026-12-01T00:30:00+01:00', '2026-11'],
    ['2026-12-01T00:30:00+00:00', '2026-12'],
  ])('puts a call starting at %s in the UTC month %s', (start, period) => {
    expect(pricer.periodOf(at(start))).toBe(period);
  });
});
