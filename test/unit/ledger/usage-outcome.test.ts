import fc from 'fast-check';
import { parseRecord, startDay, storedUsageId, usageIdOf } from '../../../src/ledger/usage-outcome';

describe('usage ids as the idempotency records keep them', () => {
  it('keeps a GUID in 23 bytes, in either case, and reads it back', () => {
    const lower = '3f2b8c1e-9a4d-4e6f-8b7a-0c1d2e3f4a5b';
    expect(storedUsageId(lower)).toHaveLength(23);
    expect(usageIdOf(storedUsageId(lower))).toBe(lower);
    expect(usageIdOf(storedUsageId(lower.toUpperCase()))).toBe(lower.toUpperCase());
    expect(storedUsageId(lower)).not.toBe(storedUsageId(lower.toUpperCase()));
    // Mixed case is not a GUID's canonical form: kept as it is.
    expect(storedUsageId('3F2b8c1e-9a4d-4e6f-8b7a-0c1d2e3f4a5b')).toBe(
      '3F2b8c1e-9a4d-4e6f-8b7a-0c1d2e3f4a5b',
    );
    expect(storedUsageId('u-17')).toBe('u-17');
  });

  it('is one to one: distinct ids stay distinct and every id reads back', () => {
    const ids = fc.oneof(
      fc.uuid().map((id) => (Math.random() < 0.5 ? id : id.toUpperCase())),
      fc.string({ minLength: 1, maxLength: 40 }),
      fc.string({ minLength: 1, maxLength: 40 }).map((id) => `\u0001${id}`),
      fc.string({ minLength: 1, maxLength: 40 }).map((id) => `\u0003${id}`),
    );
    fc.assert(
      fc.property(ids, ids, (a, b) => {
        expect(usageIdOf(storedUsageId(a))).toBe(a);
        if (a !== b) expect(storedUsageId(a)).not.toBe(storedUsageId(b));
      }),
      { numRuns: 2000 },
    );
  });
});

describe('records as the scripts reply them', () => {
  it('places a call by its UTC start day and second', () => {
    expect(startDay(new Date('2026-11-30T23:59:59.900Z'))).toEqual({
      day: 20787,
      second: 86399,
      month: '2026-11',
    });
    expect(startDay(new Date('2026-12-01T00:00:00.000Z'))).toEqual({
      day: 20788,
      second: 0,
      month: '2026-12',
    });
    expect(() => startDay(new Date('nope'))).toThrow(RangeError);
  });

  it('unpacks a packed record with its shared details and lot draws', () => {
    const day = 20787;
    const outcome = parseRecord(
      [
        'v2',
        'c|250|60|3|3600|2500|4:200,-:50|fp0123456789|120|5|r1|300',
        'MCOPSTN1:US|USD|d|1|+44|UK',
        ['m:p1', '200', '', '50'],
      ],
      day,
    );
    expect(outcome).toEqual({
      source: 'credits',
      charge: 250n,
      pool: 'MCOPSTN1:US',
      poolSeconds: 60,
      period: '2026-11',
      lots: [
        { lotId: 'm:p1', amount: 200n },
        { lotId: '', amount: 50n },
      ],
      start: new Date('2026-11-30T01:00:00.000Z'),
      appliedAt: new Date('2026-11-30T01:00:02.500Z'),
      revision: 'r1',
      previousCharge: 300n,
      details: {
        fingerprint: 'fp0123456789',
        billedSeconds: 120,
        connectionCharge: 5n,
        currency: 'USD',
        rate: { deck: 'd', version: '1', prefix: '+44' },
        destinationName: 'UK',
      },
      // Stored before reports were kept.
      report: {},
    });
    const bare = parseRecord(['v2', 'f|0|0||0|0||||', '', []], day);
    expect(bare).toMatchObject({ source: 'free', pool: '', revision: '', report: {} });
    expect(bare.details).toBeUndefined();
  });

  it('reads the report after the revision and previous charge, empty both until re-rated', () => {
    const day = 20787;
    expect(parseRecord(['v2', 'f|0|0||0|0|||||||c-1~~~~~~~b', '', []], day)).toMatchObject({
      revision: '',
      report: { callId: 'c-1', callType: 'user_out' },
    });
    expect(parseRecord(['v2', 'c|9|0||0|0|-|fp|60|0|r2|7|c-1', '', ['', '9']], day)).toMatchObject({
      revision: 'r2',
      charge: 9n,
      previousCharge: 7n,
      report: { callId: 'c-1' },
    });
  });
});
