import type { SchemaRegistry } from '@kafkajs/confluent-schema-registry';
import {
  decodeCdr,
  decodeCdrs,
  decodeCdrSync,
  defaultCdrRules,
  nestsDeeperThan,
  NEEDS_REGISTRY,
  RegistryUnavailableError,
} from '../../../src/kafka/cdr-decoder';

const valid = {
  id: 'u-1',
  tenantId: 'acme',
  callType: 'user_out',
  startDateTime: '2026-11-24T09:00:00Z',
  duration: 125,
  calleeNumber: '+442071234567',
  callerNumber: '+14155550100',
  licenseCapability: 'MCOPSTN1',
  usageCountryCode: 'US',
  vendorField: { kept: true },
};

/** The decoder's clock: a day after the test record's call. */
const NOW = new Date('2026-11-25T09:00:00Z');
const rules = defaultCdrRules({ now: () => NOW });

const decode = (value: unknown, key: string | undefined = 'acme', given = rules) =>
  decodeCdr(Buffer.from(typeof value === 'string' ? value : JSON.stringify(value)), key, undefined, given);

/** `depth` arrays, one inside the other, around a 0. */
const nested = (depth: number) => JSON.parse('['.repeat(depth) + '0' + ']'.repeat(depth)) as unknown;

describe('decodeCdr', () => {
  it('accepts a contract record and carries unknown fields through', async () => {
    expect(await decode(valid)).toEqual({ record: valid });
  });

  it('treats null optional fields as absent', async () => {
    const result = await decode({ ...valid, endDateTime: null, numberType: null });
    expect(result).toEqual({ record: { ...valid, endDateTime: undefined, numberType: undefined } });
  });

  it.each([
    ['an empty value', '', 'empty_value', 'the message has no value'],
    ['cut-off JSON', '{"id": ', 'malformed_json', expect.stringContaining('JSON')],
    ['a JSON array', '[1,2]', 'not_an_object', 'the value is not a JSON object'],
    ['no id', { ...valid, id: undefined }, 'missing_field', 'id is required'],
    ['no duration', { ...valid, duration: undefined }, 'missing_field', 'duration is required'],
    [
      'a negative duration',
      { ...valid, duration: -1 },
      'invalid_field',
      'duration: Too small: expected number to be >=0',
    ],
    [
      'a fractional duration',
      { ...valid, duration: 1.5 },
      'invalid_field',
      'duration: must be a whole number of seconds',
    ],
    [
      'a duration as a string',
      { ...valid, duration: '60' },
      'invalid_field',
      'duration: Invalid input: expected number, received string',
    ],
    [
      'an unknown call type',
      { ...valid, callType: 'user_sideways' },
      'invalid_field',
      expect.stringContaining('callType: Invalid option'),
    ],
    [
      'a callee number that is not E.164',
      { ...valid, calleeNumber: '0044207' },
      'invalid_field',
      'calleeNumber: must be E.164: + and 2 to 15 digits',
    ],
    [
      'a time without T',
      { ...valid, startDateTime: '2026-11-24 09:00' },
      'invalid_field',
      'startDateTime: must be ISO 8601 with a time zone offset or Z',
    ],
    [
      'a time without offset',
      { ...valid, startDateTime: '2026-11-24T09:00:00' },
      'invalid_field',
      'startDateTime: must be ISO 8601 with a time zone offset or Z',
    ],
    [
      'a tenant id with braces',
      { ...valid, tenantId: '{t:evil}' },
      'invalid_field',
      'tenantId: must be 1-64 characters of A-Z a-z 0-9 . _ -',
    ],
    [
      'a lower-case country',
      { ...valid, usageCountryCode: 'usa' },
      'invalid_field',
      'usageCountryCode: must be ISO 3166-1 alpha-2',
    ],
  ])('rejects %s', async (_label, value, code, message) => {
    const result = await decode(value);
    expect('rejected' in result && result.rejected).toEqual({ code, message });
  });

  it("rejects a record whose key is not its tenant, naming the record's ids", async () => {
    expect(await decode(valid, 'other')).toEqual({
      rejected: { code: 'key_mismatch', message: "message key other is not the record's tenantId acme" },
      usageId: 'u-1',
      tenantId: 'acme',
    });
  });

  it('names the usage and tenant of an invalid record as far as they can be read', async () => {
    expect(await decode({ ...valid, duration: -1 })).toMatchObject({ usageId: 'u-1', tenantId: 'acme' });
    expect(await decode({ ...valid, id: undefined })).toEqual({
      rejected: { code: 'missing_field', message: 'id is required' },
      tenantId: 'acme',
    });
    const unreadable = await decode({ ...valid, id: 42, tenantId: 'x'.repeat(129) });
    expect(unreadable).not.toHaveProperty('usageId');
    expect(unreadable).not.toHaveProperty('tenantId');
    expect(await decode('{"id": ')).toEqual({
      rejected: expect.objectContaining({ code: 'malformed_json' }),
    });
  });

  it('rejects a record without a key, or with an empty one, as a key mismatch', async () => {
    expect(await decodeCdr(Buffer.from(JSON.stringify(valid)), undefined, undefined, rules)).toEqual({
      rejected: {
        code: 'key_mismatch',
        message: 'the message has no key (the key is the tenantId acme)',
      },
      usageId: 'u-1',
      tenantId: 'acme',
    });
    expect(await decode(valid, '')).toMatchObject({ rejected: { code: 'key_mismatch' } });
  });

  it('rejects a value larger than the largest record before reading it', async () => {
    const small = defaultCdrRules({ now: () => NOW, maxRecordBytes: 1024 });
    const padded = (bytes: number) => {
      const text = JSON.stringify({ ...valid, pad: '' });
      return JSON.stringify({ ...valid, pad: 'x'.repeat(bytes - text.length) });
    };
    expect(Buffer.byteLength(padded(1024))).toBe(1024);
    expect(await decode(padded(1024), 'acme', small)).toHaveProperty('record');
    expect(await decode(padded(1025), 'acme', small)).toEqual({
      rejected: { code: 'record_too_large', message: 'the value is 1025 bytes, more than the 1024 accepted' },
    });
  });

  it('rejects carried-through fields that nest deeper than the limit, however deep', async () => {
    // The record is level 1: 31 arrays inside it make 32, the default limit.
    expect(await decode({ ...valid, vendorField: nested(31) })).toHaveProperty('record');
    expect(await decode({ ...valid, vendorField: nested(32) })).toEqual({
      rejected: { code: 'too_deep', message: 'the value nests deeper than 32 levels' },
      usageId: 'u-1',
      tenantId: 'acme',
    });
    // The poison record of the issue: valid otherwise, 10 KB, 5,000 levels.
    const poison = `{"id":"u-2","tenantId":"acme","callType":"user_out","startDateTime":"2026-11-24T09:00:00Z","duration":60,"calleeNumber":"+442071234567","x":${'['.repeat(5000)}${']'.repeat(5000)}}`;
    expect(await decode(poison)).toMatchObject({ rejected: { code: 'too_deep' }, usageId: 'u-2' });
    expect(await decode('['.repeat(5000) + ']'.repeat(5000))).toEqual({
      rejected: { code: 'too_deep', message: 'the value nests deeper than 32 levels' },
    });
    const shallow = defaultCdrRules({ now: () => NOW, maxDepth: 2 });
    expect(await decode({ ...valid, vendorField: { kept: true } }, 'acme', shallow)).toHaveProperty('record');
    expect(await decode({ ...valid, vendorField: { kept: [] } }, 'acme', shallow)).toMatchObject({
      rejected: { code: 'too_deep' },
    });
  });

  it('measures depth without recursion and stops at the limit', () => {
    expect(nestsDeeperThan(0, 0)).toBe(false);
    expect(nestsDeeperThan({}, 1)).toBe(false);
    expect(nestsDeeperThan({ a: {} }, 1)).toBe(true);
    expect(nestsDeeperThan({ a: [1, { b: 'c' }] }, 3)).toBe(false);
    expect(nestsDeeperThan({ a: [1, { b: [] }] }, 3)).toBe(true);
    expect(nestsDeeperThan(nested(100_000), 32)).toBe(true);
  });

  it.each([
    ['starts in 2100', { startDateTime: '2100-01-01T00:00:00Z' }, 'future_start'],
    ['starts on 9999-12-31', { startDateTime: '9999-12-31T23:59:59Z' }, 'future_start'],
    [
      'ends more than 5 minutes from now',
      { startDateTime: '2026-11-25T08:59:00Z', duration: 361 },
      'future_start',
    ],
    [
      'says it ends in the future',
      { startDateTime: '2026-11-25T08:00:00Z', endDateTime: '2026-11-25T10:00:00Z' },
      'future_start',
    ],
    ['started before the idempotency window', { startDateTime: '2026-10-21T08:59:59Z' }, 'too_late'],
  ])('sets aside a call that %s', async (_label, fields, code) => {
    expect(await decode({ ...valid, ...fields })).toMatchObject({
      rejected: { code },
      usageId: 'u-1',
      tenantId: 'acme',
    });
  });

  it('charges calls inside the window: ended within the skew, started within the retention', async () => {
    // Ends exactly 5 minutes from now; starts exactly 34 days ago.
    expect(await decode({ ...valid, startDateTime: '2026-11-25T08:59:00Z', duration: 360 })).toHaveProperty(
      'record',
    );
    expect(await decode({ ...valid, startDateTime: '2026-10-22T09:00:00Z' })).toHaveProperty('record');
    expect(await decode({ ...valid, startDateTime: '2026-10-22T10:00:00+01:00' })).toHaveProperty('record');
    expect(await decode({ ...valid, startDateTime: '2026-10-22T09:59:59.999+01:00' })).toMatchObject({
      rejected: { code: 'too_late' },
    });
    const message = await decode({ ...valid, startDateTime: '2100-01-01T00:00:00Z' });
    expect('rejected' in message && message.rejected.message).toBe(
      'the call starting 2100-01-01T00:00:00Z ends after now (2026-11-25T09:00:00.000Z) plus 300 s',
    );
  });
});

describe('decodeCdrSync and decodeCdrs', () => {
  /** A registry that reads every Avro value as the test record, or fails as told. */
  const registry = (failure?: unknown) =>
    ({
      decode: (value: Buffer) =>
        failure ? Promise.reject(failure) : Promise.resolve({ ...valid, id: `avro-${value[5]}` }),
    }) as unknown as SchemaRegistry;
  const avro = (n: number) => Buffer.from([0, 0, 0, 0, 1, n]);
  const values = [
    valid,
    { ...valid, duration: -1 },
    { ...valid, id: undefined },
    { ...valid, startDateTime: '2100-01-01T00:00:00Z' },
    { ...valid, endDateTime: null },
    '{"id": ',
    '',
  ].map((v) => Buffer.from(typeof v === 'string' ? v : JSON.stringify(v)));

  it('answers what decodeCdr answers, without a promise, for every value but Avro', async () => {
    for (const value of values) {
      for (const key of ['acme', 'other', undefined]) {
        expect(decodeCdrSync(value, key, undefined, rules)).toEqual(
          await decodeCdr(value, key, undefined, rules),
        );
        expect(decodeCdrSync(value, key, registry(), rules)).toEqual(
          await decodeCdr(value, key, registry(), rules),
        );
      }
    }
    expect(decodeCdrSync(avro(1), 'acme', registry(), rules)).toBe(NEEDS_REGISTRY);
    // Without a registry, a first byte 0 is (malformed) JSON, as before.
    expect(decodeCdrSync(avro(1), 'acme', undefined, rules)).toMatchObject({
      rejected: { code: 'malformed_json' },
    });
  });

  it('decodes a batch in order, reading only the Avro values through the registry', async () => {
    const batch = [avro(1), ...values, avro(2)].map((value) => ({ value, key: 'acme' }));
    const decoded = await decodeCdrs(batch, registry(), rules);
    expect(decoded).toEqual(
      await Promise.all(batch.map(({ value, key }) => decodeCdr(value, key, registry(), rules))),
    );
    expect(decoded[0]).toEqual({ record: { ...valid, id: 'avro-1' } });
    expect(decoded.at(-1)).toEqual({ record: { ...valid, id: 'avro-2' } });
    await expect(decodeCdrs(batch, registry({ status: 500, message: 'down' }), rules)).rejects.toBeInstanceOf(
      RegistryUnavailableError,
    );
    expect(await decodeCdrs([], undefined, rules)).toEqual([]);
  });
});
