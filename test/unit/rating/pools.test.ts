import fc from 'fast-check';
import { parseRateBook, rateCall, RateBook, UsageRecord } from '../../../src/rating';

const INCREMENTS = ['60/60', '1/1', '30/6', '60/1', '30/30', '60/30', '6/6'];

/** A one-deck book at 0.60 USD a minute (1 cent a second) with the given increment. */
const bookWith = (increment: string): RateBook => {
  const [first, next] = increment.split('/');
  return parseRateBook(
    new Map([
      ['countries.csv', 'prefix,country,name\n+1,US,"United States"\n'],
      [
        'plans.yaml',
        "plans:\n  MCOPSTN1:\n    covers: [domestic]\n    minutesPerUser: { default: 1200 }\nzoneA: ['US']\n",
      ],
      [
        'decks.yaml',
        `decks:\n  - id: out\n    kind: outbound\n    currency: USD\n    increment: { first: ${first}, next: ${next} }\n` +
          "    versions:\n      - version: '1'\n        effectiveFrom: '2026-01-01T00:00:00Z'\n        file: a.csv\n",
      ],
      ['a.csv', 'prefix,destination,kind,rate_per_minute\n+1,"United States",any,0.60\n'],
    ]),
  );
};
const books = new Map(INCREMENTS.map((increment) => [increment, bookWith(increment)]));

const call = (duration: number): UsageRecord => ({
  id: 'u',
  tenantId: 't',
  callType: 'user_out',
  startDateTime: '2026-03-10T15:00:00Z',
  duration,
  calleeNumber: '+12125551234',
  licenseCapability: 'MCOPSTN1',
  usageCountryCode: 'US',
});

/** Rates the calls in order against one pool, as the consumer does; what each drew and paid. */
const drain = (book: RateBook, capacity: number, durations: number[]) => {
  let used = 0;
  return durations.map((duration) => {
    const left = capacity - used;
    const result = rateCall(book, call(duration), 'USD', left);
    if (result.kind !== 'rated') throw new Error(`not rated: ${JSON.stringify(result)}`);
    used += result.poolSeconds;
    return { left, billed: result.billedSeconds, pool: result.poolSeconds, charge: result.chargeMinor, used };
  });
};

describe('minute pools pay billed seconds one for one', () => {
  it('never draw more than the capacity, cover every call that fits whole, and strand nothing', () => {
    fc.assert(
      fc.property(
        fc.constantFrom(...INCREMENTS),
        fc.integer({ min: 0, max: 300 }), // the pool's minutes this month
        fc.array(fc.integer({ min: 0, max: 4_000 }), { maxLength: 60 }),
        (increment, minutes, durations) => {
          const capacity = minutes * 60;
          const steps = drain(books.get(increment)!, capacity, durations);
          let billedTotal = 0;
          for (const { left, billed, pool, charge, used } of steps) {
            billedTotal += billed;
            expect(used).toBeLessThanOrEqual(capacity); // never past the capacity
            expect(pool).toBe(Math.min(billed, left)); // one for one, up to what is left
            if (billed <= left)
              expect([pool, charge]).toEqual([billed, 0n]); // a call that fits is covered whole
            else expect(charge).toBe(BigInt(billed - left)); // the rest at 1 cent a second
          }
          // Nothing stranded: calls that billed at least the capacity used all of it.
          const used = steps.at(-1)?.used ?? 0;
          expect(used).toBe(Math.min(capacity, billedTotal));
        },
      ),
      { numRuns: 2000 },
    );
  });

  it('uses a 60-minute pool to the last second with per-second billing (issue 11: 96-second calls)', () => {
    const steps = drain(
      books.get('1/1')!,
      3_600,
      Array.from({ length: 38 }, () => 96),
    );
    // 37 calls take 3,552 s; the 38th takes the last 48 s and pays the other 48 s.
    expect(steps[36]).toEqual({ left: 144, billed: 96, pool: 96, charge: 0n, used: 3_552 });
    expect(steps[37]).toEqual({ left: 48, billed: 96, pool: 48, charge: 48n, used: 3_600 });
  });

  it('uses what is left of a pool with 6-second increments', () => {
    // A 1-minute pool: 6 s for a 1-second call, 42 s for a 40-second one, and its last 12 s for the next.
    const steps = drain(books.get('6/6')!, 60, [1, 40, 40]);
    expect(steps.map(({ pool, charge }) => [pool, charge])).toEqual([
      [6, 0n],
      [42, 0n],
      [12, 30n],
    ]);
  });
});
