import fc from 'fast-check';
import { longestAffordable, MAX_AUTHORIZED_SECONDS, Quote } from '../../../src/settlement/authorize-call';

const billed = (duration: number, first: number, next: number) =>
  duration <= first ? first : first + Math.ceil((duration - first) / next) * next;

/** Per-increment billing with a pool, a per-minute rate, a connection fee and a minimum charge. */
const tariff = fc.record({
  first: fc.constantFrom(1, 6, 30, 60),
  next: fc.constantFrom(1, 6, 60),
  poolSeconds: fc.constantFrom(0, 0, 60, 600, 3600),
  /** Thousandths of a minor unit per minute. */
  rate: fc.integer({ min: 1, max: 500_000 }),
  fee: fc.integer({ min: 0, max: 50 }),
  minimum: fc.integer({ min: 0, max: 100 }),
});
type Tariff = typeof tariff extends fc.Arbitrary<infer T> ? T : never;

const tariffQuote =
  (t: Tariff) =>
  (duration: number): Quote => {
    const billedSeconds = billed(duration, t.first, t.next);
    const paid = billedSeconds - Math.min(billedSeconds, t.poolSeconds);
    if (paid === 0) return { payment: 'bundle', charge: 0n, billedSeconds };
    let charge = (BigInt(t.rate) * BigInt(paid) + 30_000n) / 60_000n + BigInt(t.fee);
    if (charge < BigInt(t.minimum)) charge = BigInt(t.minimum);
    return { payment: 'paid', charge, billedSeconds };
  };

/** The plain bisection the search replaces: the reference answer. */
function bisect(quote: (duration: number) => Quote, balance: bigint): number {
  const affordable = (q: Quote) => q.payment !== 'paid' || q.charge <= balance;
  let low = 1;
  let high = MAX_AUTHORIZED_SECONDS;
  while (high - low > 1) {
    const middle = Math.floor((low + high) / 2);
    if (affordable(quote(middle))) low = middle;
    else high = middle;
  }
  return low;
}

/** Runs the search when its preconditions hold; returns its answer and how many quotes it took. */
function search(quote: (duration: number) => Quote, balance: bigint) {
  const affordable = (q: Quote) => q.payment !== 'paid' || q.charge <= balance;
  const shortest = quote(1);
  const longest = quote(MAX_AUTHORIZED_SECONDS);
  if (!affordable(shortest) || affordable(longest)) return undefined;
  let quotes = 0;
  const counted = (duration: number) => {
    quotes += 1;
    return quote(duration);
  };
  const seconds = longestAffordable(counted, balance, shortest, longest, MAX_AUTHORIZED_SECONDS);
  return { seconds, quotes };
}

describe('the longest affordable call', () => {
  it('is what bisection finds, for any tariff and balance, in a bounded number of quotes', () => {
    fc.assert(
      fc.property(tariff, fc.bigInt({ min: -100n, max: 2_000_000n }), (t, balance) => {
        const quote = tariffQuote(t);
        const found = search(quote, balance);
        if (!found) return;
        expect(found.seconds).toBe(bisect(quote, balance));
        // Three guesses, each with its check, then bisection at worst; and the final check.
        expect(found.quotes).toBeLessThanOrEqual(3 * 2 + 17 + 1);
      }),
      { numRuns: 3000 },
    );
  });

  it('takes a handful of quotes for a per-minute tariff', () => {
    const quote = tariffQuote({ first: 60, next: 60, poolSeconds: 0, rate: 139_500, fee: 0, minimum: 0 });
    const counts = [];
    for (let balance = 140n; balance < 200_000n; balance += 97n) {
      const found = search(quote, balance)!;
      expect(found.seconds).toBe(bisect(quote, balance));
      counts.push(found.quotes);
    }
    expect(counts.reduce((a, b) => a + b, 0) / counts.length).toBeLessThan(5);
  });

  it('is exact for any charge that never falls, even one that grows within a billed block', () => {
    fc.assert(
      fc.property(
        fc.array(fc.integer({ min: 0, max: 1_000 }), { minLength: 1, maxLength: 40 }),
        fc.constantFrom(1, 60, 3600),
        fc.boolean(),
        fc.bigInt({ min: 0n, max: 20_000n }),
        (steps, blockSeconds, perSecond, balance) => {
          // Non-decreasing charges per block; `perSecond` adds one unit per second within a block,
          // breaking the rule that a duration costs what its billed seconds cost.
          const charges = steps.reduce<bigint[]>(
            (acc, step) => [...acc, (acc.at(-1) ?? 0n) + BigInt(step + (perSecond ? blockSeconds : 0))],
            [],
          );
          const quote = (duration: number): Quote => {
            const index = Math.min(charges.length - 1, Math.floor((duration - 1) / blockSeconds));
            const within = perSecond ? BigInt(duration - 1 - index * blockSeconds) : 0n;
            const charge = charges[index]! + within + BigInt(Math.floor(duration / 50_000));
            return {
              payment: 'paid',
              charge,
              billedSeconds: Math.ceil(duration / blockSeconds) * blockSeconds,
            };
          };
          const found = search(quote, balance);
          if (found) expect(found.seconds).toBe(bisect(quote, balance));
        },
      ),
      { numRuns: 2000 },
    );
  });
});
