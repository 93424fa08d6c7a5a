import {
  dailyField,
  isDailyField,
  MAX_SPEND_DAYS,
  slotAmount,
  spendDays,
  spendFields,
  spendSeries,
} from '../../../src/ledger/daily-spend';

// 2026-11-24 is day 20781 since 1970.
const day = 20781;

describe('daily spend slots', () => {
  it('names one field per day mod 64 and source, apart from the period totals', () => {
    expect(dailyField(day, 'credits')).toBe(`daily:${day % 64}:credits`);
    expect(dailyField(day + 64, 'postpaid')).toBe(dailyField(day, 'postpaid'));
    expect(isDailyField(dailyField(day, 'credits'))).toBe(true);
    expect(isDailyField('2026-11:credits:charge')).toBe(false);
  });

  it("reads a slot's amount only for the day it holds", () => {
    expect(slotAmount(`${day}|1250`, day)).toBe(1250n);
    expect(slotAmount(`${day}|-40`, day)).toBe(-40n);
    // The slot's previous occupant, 64 days before: nothing spent on this day yet.
    expect(slotAmount(`${day - 64}|999`, day)).toBe(0n);
    expect(slotAmount(null, day)).toBe(0n);
    expect(slotAmount(undefined, day)).toBe(0n);
  });

  it('asks for the days ending today, oldest first, and refuses more than 62', () => {
    const now = new Date('2026-11-24T23:59:59.999Z');
    expect(spendDays(now, 3)).toEqual([day - 2, day - 1, day]);
    expect(spendDays(new Date('2026-11-24T00:00:00Z'), 1)).toEqual([day]);
    expect(spendDays(now, MAX_SPEND_DAYS)).toHaveLength(62);
    // 62 days and today's slot are all distinct: a 64-slot ring never mixes them.
    expect(new Set(spendFields(spendDays(now, 62))).size).toBe(124);
    for (const days of [0, 63, 1.5, -1, Number.NaN]) expect(() => spendDays(now, days)).toThrow(RangeError);
  });

  it('makes the series with zeros where nothing was spent', () => {
    const days = [day - 1, day];
    const values = [`${day - 1}|100`, null, `${day - 64}|5`, `${day}|7`];
    expect(spendSeries(days, values)).toEqual([
      { day: '2026-11-23', credits: 100n, postpaid: 0n },
      { day: '2026-11-24', credits: 0n, postpaid: 7n },
    ]);
  });
});
