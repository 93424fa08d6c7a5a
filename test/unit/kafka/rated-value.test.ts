import fc from 'fast-check';
import { formatMinor } from '../../../src/rating';
import { jsonString, jsonValue } from '../../../src/settlement/json-text';
import type { RatedDetails } from '../../../src/credits/usage-details';
import { ratedValue } from '../../../src/kafka/rated-record-format';

/** The rated record's value as it was first written: one JSON.stringify of the fields. */
function firstRatedValue(
  body: string,
  details: RatedDetails,
  outcome: { charge: bigint; poolSeconds: number; source: string; appliedAt: Date },
): string {
  const { currency } = details;
  const rated = JSON.stringify({
    charge: formatMinor(outcome.charge, currency),
    connectionCharge: formatMinor(details.connectionCharge, currency),
    currency,
    billedSeconds: details.billedSeconds,
    poolSeconds: outcome.poolSeconds,
    source: outcome.source,
    destinationName: details.destinationName,
    rate: details.rate,
    ratedAt: outcome.appliedAt.toISOString(),
  });
  return body === '{}' ? rated : `${body.slice(0, -1)},${rated.slice(1)}`;
}

const oddText = fc.oneof(
  fc.string(),
  fc.string({ unit: 'binary' }),
  fc.constantFrom('', 'United Kingdom - Mobile', 'a"b\\c', '\u2028', '\ud800', 'é😀', 'line\nbreak'),
);
const oddNumber = fc.oneof(
  fc.integer({ min: 0, max: 100_000 }),
  fc.constantFrom(-0, 1e21, 0.5, NaN, Infinity, -Infinity),
);

describe('ratedValue, byte for byte as before', () => {
  it('writes what one JSON.stringify of its fields wrote, whatever the fields hold', () => {
    fc.assert(
      fc.property(
        fc.constantFrom('{}', '{"id":"u1","tenantId":"t"}', '{"a":{"b":[1,2]}}'),
        fc.record({
          fingerprint: fc.string(),
          billedSeconds: oddNumber,
          connectionCharge: fc.bigInt({ min: -(10n ** 20n), max: 10n ** 20n }),
          currency: fc.constantFrom('USD', 'EUR', 'JPY', 'KWD'),
          destinationName: oddText,
          rate: fc.oneof(fc.constant(null), fc.record({ deck: oddText, version: oddText, prefix: oddText })),
        }),
        fc.record({
          charge: fc.bigInt({ min: -(10n ** 20n), max: 10n ** 20n }),
          poolSeconds: oddNumber,
          source: fc.oneof(fc.constantFrom('credits', 'bundle', 'postpaid', 'free'), oddText),
          appliedAt: fc.date({ noInvalidDate: true }),
        }),
        (body, details, outcome) => {
          expect(ratedValue(body, details as RatedDetails, outcome as never)).toBe(
            firstRatedValue(body, details as RatedDetails, outcome),
          );
        },
      ),
      { numRuns: 5_000 },
    );
  });

  it('leaves out an undefined rate as JSON.stringify does', () => {
    const details = {
      fingerprint: 'f',
      billedSeconds: 60,
      connectionCharge: 0n,
      currency: 'USD',
      destinationName: 'X',
      rate: undefined,
    } as unknown as RatedDetails;
    const outcome = { charge: 5n, poolSeconds: 0, source: 'credits' as const, appliedAt: new Date(0) };
    expect(ratedValue('{}', details, outcome)).toBe(firstRatedValue('{}', details, outcome));
    expect(ratedValue('{}', details, outcome)).not.toContain('"rate"');
  });
});

describe('jsonString and jsonValue', () => {
  it('write what JSON.stringify writes', () => {
    fc.assert(
      fc.property(oddText, (text) => expect(jsonString(text)).toBe(JSON.stringify(text))),
      { numRuns: 5_000 },
    );
    fc.assert(
      fc.property(
        fc.oneof(oddText, oddNumber, fc.constantFrom(null, undefined, true), fc.object()),
        (value) => expect(jsonValue(value)).toBe(JSON.stringify(value ?? null)),
      ),
      { numRuns: 5_000 },
    );
  });
});
