import { join } from 'node:path';
import { decimalToMinor, minorToDecimal } from '../../../src/credits/money';
import { currencyDigits, isCurrency, loadRateBook, missingDeckKinds } from '../../../src/rating';
import { ISO_4217 } from '../../../src/rating/iso4217';

const book = loadRateBook(join(__dirname, '..', '..', '..', 'rates'));

describe('ISO 4217 minor units, from the repository table', () => {
  it.each([
    ['USD', 2],
    ['EUR', 2],
    ['HUF', 2],
    ['IQD', 3],
    ['COP', 2],
    ['JPY', 0],
    ['KRW', 0],
    ['ISK', 0],
    ['VND', 0],
    ['XAF', 0],
    ['BHD', 3],
    ['KWD', 3],
    ['OMR', 3],
    ['TND', 3],
    ['LYD', 3],
    ['JOD', 3],
    ['CLF', 4],
    ['UYW', 4],
    ['IDR', 2],
    ['PKR', 2],
  ])('%s has %i decimals', (code, digits) => {
    expect(currencyDigits(code)).toBe(digits);
  });

  it('HUF takes 2 decimals both ways', () => {
    expect(decimalToMinor('100.50', 'HUF')).toBe(10050n);
    expect(minorToDecimal('10050', 'HUF')).toBe('100.50');
    expect(() => decimalToMinor('100.505', 'HUF')).toThrow('HUF (2 decimals at most)');
  });

  it('knows active codes only, and refuses codes without a minor unit', () => {
    expect(['XCG', 'ZWG', 'SLE', 'VED', 'CHE', 'USN'].map(isCurrency)).toEqual([
      true,
      true,
      true,
      true,
      true,
      true,
    ]);
    // Withdrawn (ANG, HRK, ZWL, SLL, CUC, BGN), no minor unit (XAU, XDR, XXX), not codes.
    expect(
      ['ANG', 'HRK', 'ZWL', 'SLL', 'CUC', 'BGN', 'XAU', 'XDR', 'XXX', 'usd', 'US', ''].filter(isCurrency),
    ).toEqual([]);
    expect(() => currencyDigits('XAU')).toThrow(RangeError);
    expect(() => currencyDigits('ANG')).toThrow('ANG is not an ISO 4217 currency with a minor unit');
  });

  it('lists every currency of the shipped decks, and the whole list', () => {
    const used = [...new Set(book.decks.map((d) => d.currency))].sort();
    expect(used).toEqual(['EUR', 'USD']);
    expect(used.filter((code) => !isCurrency(code))).toEqual([]);
    expect(ISO_4217.size).toBe(177);
    expect([...ISO_4217.values()].filter((c) => c.minorUnits === null).map((c) => c.code)).toEqual([
      'XAG',
      'XAU',
      'XBA',
      'XBB',
      'XBC',
      'XBD',
      'XDR',
      'XPD',
      'XPT',
      'XSU',
      'XTS',
      'XUA',
      'XXX',
    ]);
  });
});

describe('deck kinds a currency lacks', () => {
  it('are the kinds some currency is priced in and this one is not', () => {
    expect(missingDeckKinds(book, 'USD')).toEqual([]);
    expect(missingDeckKinds(book, 'GBP')).toEqual(['outbound', 'conference_dialout', 'tollfree_dialin']);
    const partial = {
      ...book,
      decks: book.decks.filter((d) => !(d.currency === 'EUR' && d.kind === 'tollfree_dialin')),
    };
    expect(missingDeckKinds(partial, 'EUR')).toEqual(['tollfree_dialin']);
    expect(missingDeckKinds({ ...book, decks: [] }, 'EUR')).toEqual([]);
  });
});
