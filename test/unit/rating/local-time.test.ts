import fc from 'fast-check';
import { localWeekTime, localWeekTimeOf } from '../../../src/rating/local-time';

// Zones with DST, half- and quarter-hour offsets, a 30-minute DST shift (Lord Howe), offsets
// of seconds in their history (local mean time before standard time) and a date-line jump.
const ZONES = [
  'Europe/Berlin',
  'America/New_York',
  'America/St_Johns',
  'Asia/Kathmandu',
  'Asia/Kolkata',
  'Australia/Lord_Howe',
  'Europe/Amsterdam',
  'Africa/Monrovia',
  'Pacific/Apia',
  'UTC',
];

const HOUR_MS = 3_600_000;

describe('localWeekTime (the hour remembered)', () => {
  it('answers as Intl does for each instant, transitions and odd offsets included', () => {
    fc.assert(
      fc.property(
        fc.constantFrom(...ZONES),
        // From 1890 (local mean times) to 2100.
        fc.integer({ min: -2_524_521_600_000, max: 4_102_444_800_000 }),
        (zone, at) => {
          expect(localWeekTime(zone, at)).toEqual(localWeekTimeOf(zone, at));
        },
      ),
      { numRuns: 20_000 },
    );
  });

  it('answers as Intl does minute by minute around DST transitions', () => {
    const transitions = [
      ['Europe/Berlin', Date.UTC(2026, 2, 29, 1)],
      ['Europe/Berlin', Date.UTC(2026, 9, 25, 1)],
      ['America/New_York', Date.UTC(2026, 2, 8, 7)],
      ['America/St_Johns', Date.UTC(2026, 10, 1, 3, 30)],
      ['Australia/Lord_Howe', Date.UTC(2026, 3, 4, 15)],
      ['Europe/Amsterdam', Date.UTC(1937, 6, 1)],
    ] as const;
    for (const [zone, at] of transitions) {
      for (let t = at - 2 * HOUR_MS; t <= at + 2 * HOUR_MS; t += 29_999) {
        expect(localWeekTime(zone, t)).toEqual(localWeekTimeOf(zone, t));
      }
    }
  });

  it('reads the weekday and minute of a plain instant', () => {
    // Tuesday 10 March 2026, 15:00 UTC is 16:00 in Berlin and 11:00 in New York.
    expect(localWeekTime('Europe/Berlin', Date.parse('2026-03-10T15:00:00Z'))).toEqual({
      day: 2,
      minute: 16 * 60,
    });
    expect(localWeekTime('America/New_York', Date.parse('2026-03-10T15:00:59.999Z'))).toEqual({
      day: 2,
      minute: 11 * 60,
    });
    // Sunday 23:59 local in Berlin, then Monday 00:00.
    expect(localWeekTime('Europe/Berlin', Date.parse('2026-03-15T22:59:00Z'))).toEqual({
      day: 7,
      minute: 23 * 60 + 59,
    });
    expect(localWeekTime('Europe/Berlin', Date.parse('2026-03-15T23:00:00Z'))).toEqual({ day: 1, minute: 0 });
  });

  it('throws for an invalid time, as Intl does', () => {
    expect(() => localWeekTime('Europe/Berlin', NaN)).toThrow(RangeError);
  });
});
