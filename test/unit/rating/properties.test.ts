import fc from 'fast-check';
import { join } from 'node:path';
import { loadRateBook, rateCall, UsageRecord } from '../../../src/rating';
import { divideHalfEven, formatMicro, formatMinor, parseMicro } from '../../../src/rating/money';

const book = loadRateBook(join(__dirname, '..', '..', '..', 'rates'));

const destinations = [
  '+12125551234',
  '+447911123456',
  '+442071234567',
  '+4930123456',
  '+33142685300',
  '+819012345678',
  '+2348031234567',
  '+12684601234',
  '+61412345678',
];
const callArbitrary = fc.record({
  callType: fc.constantFrom('user_out', 'user_out_transfer', 'conf_out', 'conf_in', 'ucap_out'),
  numberType: fc.constantFrom('tollFree', 'subscriber'),
  calleeNumber: fc.constantFrom(...destinations),
  licenseCapability: fc.constantFrom(
    'MCOPSTNPP',
    'MCOPSTN1',
    'MCOPSTN2',
    'MCOPSTN5',
    'MCOMEETADD',
    'PAYG-PLAN',
  ),
  usageCountryCode: fc.constantFrom('US', 'GB', 'DE'),
  startDateTime: fc
    .date({
      min: new Date('2026-01-01T00:00:00Z'),
      max: new Date('2027-12-31T00:00:00Z'),
      noInvalidDate: true,
    })
    .map((d) => d.toISOString()),
  currency: fc.constantFrom('USD', 'EUR'),
  poolLeft: fc.integer({ min: 0, max: 20_000 }),
});

type Call = typeof callArbitrary extends fc.Arbitrary<infer T> ? T : never;

const price = (c: Call, duration: number) =>
  rateCall(
    book,
    {
      id: 'p',
      tenantId: 't',
      ...c,
      duration,
      callType: c.callType as UsageRecord['callType'],
      numberType: c.numberType as UsageRecord['numberType'],
    },
    c.currency,
    c.poolLeft,
  );

describe('pricing properties', () => {
  it('a charge is never negative, and pool seconds plus paid seconds are the billed seconds', () => {
    fc.assert(
      fc.property(callArbitrary, fc.integer({ min: 0, max: 100_000 }), (c, duration) => {
        const result = price(c, duration);
        if (result.kind !== 'rated') return true;
        return (
          result.chargeMinor >= 0n &&
          result.poolSeconds + result.paidSeconds === result.billedSeconds &&
          result.billedSeconds >= duration &&
          result.poolSeconds <= c.poolLeft
        );
      }),
      { numRuns: 3000 },
    );
  });

  it('a longer call never costs less', () => {
    fc.assert(
      fc.property(
        callArbitrary,
        fc.integer({ min: 0, max: 50_000 }),
        fc.integer({ min: 0, max: 5_000 }),
        (c, duration, more) => {
          const shorter = price(c, duration);
          const longer = price(c, duration + more);
          if (shorter.kind !== 'rated' || longer.kind !== 'rated') return shorter.kind === longer.kind;
          return longer.chargeMinor >= shorter.chargeMinor;
        },
      ),
      { numRuns: 3000 },
    );
  });

  it('the same call always gets the same price', () => {
    fc.assert(
      fc.property(callArbitrary, fc.integer({ min: 0, max: 100_000 }), (c, duration) => {
        const explained = (result: ReturnType<typeof price>) =>
          result.kind === 'rated' ? { ...result, breakdown: result.breakdown() } : result;
        expect(explained(price(c, duration))).toEqual(explained(price(c, duration)));
      }),
      { numRuns: 500 },
    );
  });

  it('rounds half to even and otherwise to the nearest unit', () => {
    fc.assert(
      fc.property(
        fc.bigInt({ min: 0n, max: 10n ** 18n }),
        fc.bigInt({ min: 1n, max: 10n ** 9n }),
        (numerator, denominator) => {
          const rounded = divideHalfEven(numerator, denominator);
          const error = rounded * denominator - numerator; // signed distance, in units of 1/denominator
          const twice = error * 2n;
          if (twice === denominator || twice === -denominator) return rounded % 2n === 0n;
          return twice < denominator && twice > -denominator;
        },
      ),
      { numRuns: 5000 },
    );
  });
});

describe('money formatting and parsing', () => {
  it('round-trips any amount exactly, however large', () => {
    fc.assert(
      fc.property(fc.bigInt({ min: 0n, max: 10n ** 30n }), (micro) => {
        expect(parseMicro(formatMicro(micro))).toBe(micro);
        expect(
          formatMinor(micro, 'USD')
            .replace('.', '')
            .replace(/^0+(?=\d)/, ''),
        ).toBe(micro.toString());
      }),
      { numRuns: 2000 },
    );
  });
});
