import fc from 'fast-check';
import { isoString, parseInstant } from '../../../src/rating/instant';

const pad = (n: number, width: number) => String(n).padStart(width, '0');

/** Texts shaped like a UTC time, each field anywhere in its digits' range (so also out of range). */
const plainShaped = fc
  .record({
    year: fc.integer({ min: 0, max: 9999 }),
    month: fc.integer({ min: 0, max: 99 }),
    day: fc.integer({ min: 0, max: 99 }),
    hour: fc.integer({ min: 0, max: 99 }),
    minute: fc.integer({ min: 0, max: 99 }),
    second: fc.integer({ min: 0, max: 99 }),
    millis: fc.option(fc.integer({ min: 0, max: 999 })),
  })
  .map(
    ({ year, month, day, hour, minute, second, millis }) =>
      `${pad(year, 4)}-${pad(month, 2)}-${pad(day, 2)}T${pad(hour, 2)}:${pad(minute, 2)}:${pad(second, 2)}` +
      (millis === null ? '' : `.${pad(millis, 3)}`) +
      'Z',
  );

describe('parseInstant', () => {
  it('is Date.parse on UTC times, valid or not', () => {
    fc.assert(
      fc.property(plainShaped, (text) => {
        expect(parseInstant(text)).toBe(Date.parse(text));
      }),
      { numRuns: 10_000 },
    );
  });

  it('is Date.parse on every instant written as toISOString writes it', () => {
    fc.assert(
      fc.property(fc.integer({ min: -62_135_596_800_000, max: 253_402_300_799_999 }), (time) => {
        const text = new Date(time).toISOString();
        expect(parseInstant(text)).toBe(time);
        expect(parseInstant(text.replace(/\.\d{3}Z$/, 'Z'))).toBe(Date.parse(text.replace(/\.\d{3}Z$/, 'Z')));
      }),
      { numRuns: 10_000 },
    );
  });

  it('is Date.parse on other spellings and on what is not a time', () => {
    const texts = [
      '2026-12-06T16:30:04.192+01:00',
      '2026-12-06T16:30:04+00:00',
      '2026-12-06T16:30:04.1Z',
      '2026-12-06T16:30:04.1234Z',
      '2026-12-06T24:00:00Z',
      '2026-02-31T00:00:00Z',
      '2026-12-06t16:30:04Z',
      '2026-12-06T16:30:04.192z',
      '2026-12-06T16:30Z',
      '+002026-12-06T16:30:04Z',
      '0099-12-06T16:30:04Z',
      '2026-12-06 16:30:04Z',
      '2026-1a-06T16:30:04Z',
      '2026-12-06T16:30:04.19aZ',
      '2026-12-06T16:30:04,192Z',
      '',
      'not a time',
    ];
    for (const text of texts) expect(parseInstant(text)).toBe(Date.parse(text));
  });
});

describe('isoString', () => {
  it('is toISOString, asked again or not', () => {
    for (const time of [0, 1_796_574_604_192, 1_796_574_604_192, -1, 1_796_574_604_193, 0]) {
      expect(isoString(new Date(time))).toBe(new Date(time).toISOString());
    }
  });

  it('throws for an invalid date, as toISOString does', () => {
    expect(() => isoString(new Date(NaN))).toThrow(RangeError);
    expect(() => isoString(new Date(NaN))).toThrow(RangeError);
  });
});
