import { CALL_TYPES } from '../../../../src/rating';
import {
  CALL_TYPE_WORDS,
  callTypeWords,
  compareNatural,
  sortNatural,
} from '../../../../src/api/console/words';

describe('the console: users in natural order', () => {
  it('orders the numbers in names by their value', () => {
    expect(['user10', 'user2', 'user1', 'user-3', 'user20b', 'user20a'].sort(compareNatural)).toEqual([
      'user-3',
      'user1',
      'user2',
      'user10',
      'user20a',
      'user20b',
    ]);
  });

  it('is a total order: names the collator holds equal keep one order, whatever came first', () => {
    const names = ['a', 'A', 'a01', 'a1', 'user2', 'user02'];
    const once = [...names].sort(compareNatural);
    expect([...names].reverse().sort(compareNatural)).toEqual(once);
    for (let i = 0; i + 1 < once.length; i++) expect(compareNatural(once[i]!, once[i + 1]!)).toBeLessThan(0);
    expect(compareNatural('user1', 'user1')).toBe(0);
  });

  it('sorts items by the name it is given, leaving the input as it was', () => {
    const rows = [{ user: 'user10' }, { user: 'user2' }, { user: 'user1' }];
    expect(sortNatural(rows, (r) => r.user).map((r) => r.user)).toEqual(['user1', 'user2', 'user10']);
    expect(rows.map((r) => r.user)).toEqual(['user10', 'user2', 'user1']);
  });
});

describe('the console: call types in words', () => {
  it('names every call type of the contract', () => {
    expect(Object.keys(CALL_TYPE_WORDS).sort()).toEqual([...CALL_TYPES].sort());
    expect(new Set(Object.values(CALL_TYPE_WORDS)).size).toBe(CALL_TYPES.length);
    expect(callTypeWords('user_out')).toBe('Outbound call');
    expect(callTypeWords('user_in')).toBe('Inbound call');
    expect(callTypeWords('conf_out')).toBe('Conference dial-out');
    expect(callTypeWords('emergency')).toBe('Emergency call');
  });

  it('says when a conference dial-in was toll-free (the one paid for)', () => {
    expect(callTypeWords('conf_in', 'tollFree')).toBe('Conference dial-in (toll-free)');
    expect(callTypeWords('conf_in', 'subscriber')).toBe('Conference dial-in');
    expect(callTypeWords('conf_in')).toBe('Conference dial-in');
  });

  it('shows a code it does not know as it is', () => {
    expect(callTypeWords('pstn_future')).toBe('pstn_future');
    expect(callTypeWords('')).toBe('');
  });
});
