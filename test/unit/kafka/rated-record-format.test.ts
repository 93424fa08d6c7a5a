import { createHash } from 'node:crypto';
import { decodeCdrSync, DecodedUsageRecord, defaultCdrRules } from '../../../src/kafka/cdr-decoder';
import type { RatedDetails } from '../../../src/credits/usage-details';
import { ratedValue, serialiseRecord } from '../../../src/kafka/rated-record-format';
import { packRated, unpackRated } from '../../../src/ledger/usage-encoding';
import { fingerprint } from '../../../src/settlement/rated-details';
import { cdrStream } from '../../../tools/loadgen/cdr-stream';

const record = {
  id: 'u-1',
  tenantId: 'acme',
  callType: 'user_out',
  startDateTime: '2026-11-24T09:00:00Z',
  duration: 125,
  calleeNumber: '+442071234567',
  licenseCapability: 'MCOPSTNPP',
  userDisplayName: 'Ann',
} as DecodedUsageRecord;

const details: RatedDetails = {
  fingerprint: fingerprint(record),
  billedSeconds: 180,
  connectionCharge: 5n,
  currency: 'USD',
  destinationName: 'United Kingdom | 100% Mobile',
  rate: { deck: 'pstn-out', version: '2026-11', prefix: '+44' },
};

describe('the rated record and what the ledger keeps of it', () => {
  it('packs the details in a short string and unpacks them as they were', () => {
    const packed = packRated(details);
    expect(packed).toBe(
      `${details.fingerprint}|180|5|USD|pstn-out|2026-11|+44|United Kingdom %7C 100%25 Mobile`,
    );
    expect(unpackRated(packed)).toEqual(details);
    expect(unpackRated(packRated({ ...details, rate: null, destinationName: 'Inbound' }))).toEqual({
      ...details,
      rate: null,
      destinationName: 'Inbound',
    });
    expect(unpackRated('')).toBeUndefined();
  });

  it('fingerprints what rating reads, and only that', () => {
    const fp = fingerprint(record);
    expect(fp).toMatch(/^[A-Za-z0-9_-]{12}$/);
    expect(fingerprint({ ...record, userDisplayName: 'Bob', endDateTime: '2026-11-24T09:02:05Z' })).toBe(fp);
    expect(fingerprint({ ...record, startDateTime: '2026-11-24T10:00:00+01:00' })).toBe(fp);
    for (const change of [
      { duration: 126 },
      { startDateTime: '2026-11-24T09:00:01Z' },
      { calleeNumber: '+442071234568' },
      { callType: 'conf_out' },
      { tenantId: 'other' },
      { licenseCapability: 'MCOPSTN1' },
      { usageCountryCode: 'GB' },
      { destinationContext: 'International' },
      { numberType: 'tollFree' },
    ]) {
      expect(fingerprint({ ...record, ...change } as DecodedUsageRecord)).not.toBe(fp);
    }
  });

  it('appends the rating fields to the input, replacing any the input carried', () => {
    const body = serialiseRecord({ ...record, charge: '0.00', ratedAt: 'never' } as DecodedUsageRecord);
    const text = ratedValue(body, details, {
      charge: 35n,
      poolSeconds: 0,
      source: 'credits',
      appliedAt: new Date('2026-11-24T09:03:00Z'),
    });
    expect(text.match(/"charge"/g)).toHaveLength(1);
    expect(text.match(/"ratedAt"/g)).toHaveLength(1);
    const value = JSON.parse(text) as Record<string, unknown>;
    expect(value).toEqual({
      ...record,
      charge: '0.35',
      connectionCharge: '0.05',
      currency: 'USD',
      billedSeconds: 180,
      poolSeconds: 0,
      source: 'credits',
      destinationName: 'United Kingdom | 100% Mobile',
      rate: { deck: 'pstn-out', version: '2026-11', prefix: '+44' },
      ratedAt: '2026-11-24T09:03:00.000Z',
    });
  });
});

/** The generated CDRs as the consumer decodes them. */
const generated = () =>
  [...cdrStream(2_000)].flatMap(({ value, key }) => {
    const decoded = decodeCdrSync(value, key, undefined, defaultCdrRules());
    return typeof decoded === 'object' && 'record' in decoded ? [decoded.record] : [];
  });

describe('the rated record, byte for byte as before', () => {
  /** The fingerprint as it was first written: stored fingerprints must still match. */
  const FIELDS = [
    'tenantId',
    'callType',
    'duration',
    'calleeNumber',
    'callerNumber',
    'numberType',
    'licenseCapability',
    'usageCountryCode',
    'tenantCountryCode',
    'destinationContext',
  ] as const;
  const firstFingerprint = (r: DecodedUsageRecord) => {
    const parts = FIELDS.map((name) => JSON.stringify(r[name] ?? null));
    parts.push(String(Date.parse(r.startDateTime)));
    return createHash('sha256').update(parts.join('\n')).digest('base64url').slice(0, 12);
  };

  it('fingerprints as it always has', () => {
    const odd = [
      record,
      { ...record, licenseCapability: 'a"b\\c\n\u2028é😀\ud800' },
      { ...record, calleeNumber: undefined, startDateTime: 'not a date' },
      { ...record, duration: -0, tenantCountryCode: '', numberType: 'a b/c' },
      { ...record, duration: 1e21, callerNumber: null },
      { ...record, duration: NaN, usageCountryCode: { nested: ['x'] } },
      { ...record, duration: Infinity, destinationContext: 'Intern"ational' },
    ] as unknown as DecodedUsageRecord[];
    for (const r of [...odd, ...generated()]) expect(fingerprint(r)).toBe(firstFingerprint(r));
  });

  it('serialises the input as it always has', () => {
    const firstSerialisation = (r: DecodedUsageRecord) =>
      JSON.stringify(
        Object.fromEntries(
          Object.entries(r).filter(
            ([name]) =>
              ![
                'charge',
                'connectionCharge',
                'currency',
                'billedSeconds',
                'poolSeconds',
                'source',
                'destinationName',
                'rate',
                'ratedAt',
              ].includes(name),
          ),
        ),
      );
    const inherited = Object.assign(Object.create({ inherited: 1, charge: '9' }) as object, record);
    const odd = [
      record,
      { ...record, charge: '0.00', ratedAt: 'never', rate: null },
      { ...record, endDateTime: undefined, nested: { charge: 1, a: [1, null] } },
      inherited,
    ] as DecodedUsageRecord[];
    for (const r of [...odd, ...generated()]) expect(serialiseRecord(r)).toBe(firstSerialisation(r));
  });
});
