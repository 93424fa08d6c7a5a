import { decodeCdr } from '../../../src/consumers/cdr-decoder';

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

const decode = (value: unknown, key: string | undefined = 'acme') =>
  decodeCdr(Buffer.from(typeof value === 'string' ? value : JSON.stringify(value)), key, undefined);

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
});
