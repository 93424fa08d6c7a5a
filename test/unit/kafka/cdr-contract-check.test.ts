import fc from 'fast-check';
import { contractRecord, usageRecordSchema } from '../../../src/kafka/cdr-decoder';
import { CALL_TYPES } from '../../../src/rating';
import { cdrStream } from '../../../tools/loadgen/cdr-stream';

/** Each value kind a field can come with: right, nearly right, wrong type, null. */
const strings = (...good: string[]) =>
  fc.oneof(
    { weight: 60, arbitrary: fc.constantFrom(...good) },
    fc.string({ maxLength: 20 }),
    fc.string({ unit: 'grapheme', maxLength: 70 }),
    fc.constantFrom('', ' ', '\u0000', '\ud800', '😀', 'x'.repeat(64), 'x'.repeat(65), 'x'.repeat(128)),
    fc.constantFrom('x'.repeat(129), '😀'.repeat(64), '😀'.repeat(65), 'a😀'.repeat(43)),
  );
const wrongTypes = fc.constantFrom<unknown>(null, 0, 1, -0, 1.5, true, false, [], {}, ['a'], { a: 1 });
const field = (values: fc.Arbitrary<unknown>) => fc.oneof({ weight: 30, arbitrary: values }, wrongTypes);

const digits = (n: number) => fc.stringMatching(new RegExp(`^\\d{${n}}$`));
const two = fc.oneof(
  digits(2),
  fc.constantFrom('00', '01', '12', '13', '23', '24', '29', '30', '31', '59', '60'),
);
/** ISO 8601 look-alikes: leap days, out-of-range parts, fractions, offsets right and wrong. */
const datetime = fc.oneof(
  fc
    .tuple(
      fc.oneof(digits(4), fc.constantFrom('2000', '1900', '2024', '2023', '2100', '0000', '9999')),
      two,
      two,
      fc.constantFrom('T', 't', ' '),
      two,
      two,
      fc.oneof(two, fc.constant('')),
      fc.constantFrom('', '.1', '.123', '.123456789', '.', ',5'),
      fc.constantFrom('Z', 'z', '', '+00:00', '-05:30', '+23:59', '+24:00', '+01', '+0100', '-12:60', ' Z'),
    )
    .map(([y, mo, d, t, h, mi, s, f, o]) => `${y}-${mo}-${d}${t}${h}:${mi}${s ? `:${s}` : ''}${f}${o}`),
  {
    weight: 8,
    arbitrary: fc.constantFrom(
      '2024-02-29T00:00:00Z',
      '2026-11-24T09:00:00.5-03:00',
      '2026-11-24T09:00:00+01:00',
    ),
  },
  fc.constantFrom('2023-02-29T00:00:00Z', '2100-02-29T00:00:00Z', '2000-02-29T23:59:59.999+14:00'),
);
const e164 = fc.oneof(
  fc.stringMatching(/^\+[0-9]\d{0,16}$/),
  fc.constantFrom('+1', '+12', '+123456789012345', '+1234567890123456', '+442071234567', '442071234567'),
);
const duration = fc.oneof(
  { weight: 20, arbitrary: fc.integer({ min: -10, max: 700_000 }) },
  fc.constantFrom(0, -0, 604_800, 604_801, 1.5, 1e21, Number.MAX_SAFE_INTEGER, Infinity, NaN, '60'),
  fc.double(),
);
const country = fc.oneof(
  fc.stringMatching(/^[A-Za-z]{1,3}$/),
  { weight: 10, arbitrary: fc.constantFrom('US', 'GB') },
  fc.constantFrom('us', 'USA', 'U'),
);

/** A field is absent (one time in `freq`), or present with one of its values. */
const maybe = (values: fc.Arbitrary<unknown>, freq = 3) => fc.option(field(values), { nil: undefined, freq });
/** A field the contract requires: seldom absent. */
const required = (values: fc.Arbitrary<unknown>) => maybe(values, 40);

const candidate = fc
  .record(
    {
      id: required(strings('u-1')),
      tenantId: required(strings('acme', 'a.b_c-D9', '{t:evil}', '-x', 'x'.repeat(64))),
      callType: required(strings(...CALL_TYPES, 'user_sideways', 'USER_IN')),
      startDateTime: required(datetime),
      duration: required(duration),
      calleeNumber: maybe(e164),
      callerNumber: maybe(e164),
      endDateTime: maybe(datetime),
      numberType: maybe(strings('subscriber', 'service', 'tollFree', 'mobile')),
      licenseCapability: maybe(strings('MCOPSTN1', 'MCOPSTNPP')),
      usageCountryCode: maybe(country),
      tenantCountryCode: maybe(country),
      destinationContext: maybe(strings('Domestic', 'International', 'domestic')),
      vendorField: maybe(fc.jsonValue({ maxDepth: 2 })),
      note: maybe(fc.string()),
    },
    { requiredKeys: [] },
  )
  .chain((fields) =>
    // Fields in any order, some undefined-valued (absent once through JSON), and sometimes a
    // `__proto__` key as JSON.parse makes it (an own property).
    fc
      .tuple(fc.shuffledSubarray(Object.keys(fields)), fc.boolean(), fc.boolean())
      .map(([order, json, proto]) => {
        const all = Object.keys(fields);
        const ordered = [...order, ...all.filter((k) => !order.includes(k))];
        const value: Record<string, unknown> = {};
        for (const k of ordered)
          if ((fields as Record<string, unknown>)[k] !== undefined)
            value[k] = (fields as Record<string, unknown>)[k];
        const text = JSON.stringify(value);
        const withProto = proto
          ? text.replace(/^\{/, text === '{}' ? '{"__proto__":{"id":"p"}' : '{"__proto__":{"id":"p"},')
          : text;
        return json ? (JSON.parse(withProto) as Record<string, unknown>) : value;
      }),
  );

/** Equal as zod makes it: the same keys in the same order, the same values (-0 is not 0). */
function expectSameRecord(fast: Record<string, unknown>, zod: Record<string, unknown>) {
  expect(Object.keys(fast)).toEqual(Object.keys(zod));
  for (const key of Object.keys(zod)) expect(Object.is(fast[key], zod[key])).toBe(true);
  expect(Object.getPrototypeOf(fast)).toBe(Object.getPrototypeOf(zod));
  expect(JSON.stringify(fast)).toBe(JSON.stringify(zod));
}

/** zod counts code points: a string over a limit in UTF-16 units may be within it. */
const longInUnits = (raw: Record<string, unknown>) =>
  (typeof raw.id === 'string' && raw.id.length > 128) ||
  (typeof raw.licenseCapability === 'string' && raw.licenseCapability.length > 64);

describe('the fast contract check', () => {
  it('accepts only what the schema accepts, and makes the very record zod makes', () => {
    let accepted = 0;
    fc.assert(
      fc.property(candidate, (raw) => {
        const zod = usageRecordSchema.safeParse(raw);
        const fast = contractRecord(raw);
        if (fast) {
          expect(zod.success).toBe(true);
          expectSameRecord(fast, zod.data!);
          accepted += 1;
        } else if (zod.success) {
          // The one case left to zod on purpose.
          expect(longInUnits(raw)).toBe(true);
        }
      }),
      { numRuns: 10_000, seed: 20261201 },
    );
    expect(accepted).toBeGreaterThan(100);
  });

  it('accepts records that are valid but for their optional fields, and takes them as zod does', () => {
    const nearly = fc
      .record({
        calleeNumber: fc.option(e164, { nil: undefined }),
        endDateTime: fc.option(datetime, { nil: undefined }),
        numberType: fc.option(fc.constantFrom('subscriber', 'service', 'tollFree', 'mobile', null)),
        usageCountryCode: fc.option(country),
        licenseCapability: fc.option(strings('MCOPSTNPP')),
        extra: fc.jsonValue({ maxDepth: 1 }),
      })
      .map((optional) => ({
        id: 'u-1',
        tenantId: 'acme',
        callType: 'user_out',
        startDateTime: '2026-11-24T09:00:00Z',
        duration: 60,
        ...optional,
      }));
    fc.assert(
      fc.property(nearly, (raw) => {
        const zod = usageRecordSchema.safeParse(raw);
        const fast = contractRecord(raw);
        if (zod.success && !longInUnits(raw)) expectSameRecord(fast!, zod.data);
        else if (!zod.success) expect(fast).toBeUndefined();
      }),
      { numRuns: 5_000, seed: 7 },
    );
  });

  it('accepts every generated CDR zod accepts', () => {
    for (const { value } of cdrStream(2_000)) {
      let raw: unknown;
      try {
        raw = JSON.parse(value.toString());
      } catch {
        continue;
      }
      const zod = usageRecordSchema.safeParse(raw);
      const fast = contractRecord(raw as Record<string, unknown>);
      if (zod.success) expectSameRecord(fast!, zod.data);
      else expect(fast).toBeUndefined();
    }
  });
});
