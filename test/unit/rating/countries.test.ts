import { join } from 'node:path';
import { classifyCall, loadRateBook, rateCall, UsageRecord } from '../../../src/rating';

const book = loadRateBook(join(__dirname, '..', '..', '..', 'rates'));

const call = (calleeNumber: string, usageCountryCode = 'US'): UsageRecord => ({
  id: 'u',
  tenantId: 't',
  callType: 'user_out',
  startDateTime: '2026-03-10T15:00:00Z',
  duration: 60,
  calleeNumber,
  licenseCapability: 'MCOPSTN1',
  usageCountryCode,
});

describe('calling codes (rates/countries.csv)', () => {
  it.each([
    ['+18001234567', 'US'], // NANP toll-free: non-geographic, under +1, not the Dominican Republic
    ['+18885551234', 'US'],
    ['+18095551234', 'DO'],
    ['+18295551234', 'DO'],
    ['+18495551234', 'DO'],
    ['+14165551234', 'CA'],
    ['+16045551234', 'CA'],
    ['+18765551234', 'JM'],
    ['+19395551234', 'PR'],
    ['+77012345678', 'KZ'],
    ['+76123456789', 'KZ'],
    ['+74951234567', 'RU'],
    ['+390669812345', 'VA'],
    ['+390612345678', 'IT'],
    ['+8816212345', '001'], // a satellite phone: international, and unrated (no deck prices it)
  ])('%s is %s', (number, country) => {
    expect(book.countries.lookup(number)?.country).toBe(country);
  });

  it('a US user calling a US toll-free number makes a domestic call, from the pool', () => {
    const classification = classifyCall(book, call('+18001234567'));
    expect(classification).toMatchObject({ kind: 'chargeable', context: 'Domestic', pool: 'MCOPSTN1:US' });
    expect(rateCall(book, call('+18001234567'), 'USD', 3_600)).toMatchObject({
      kind: 'rated',
      chargeMinor: 0n,
      poolSeconds: 60,
      rate: { prefix: '+1', ratePerMinute: '0.021900' },
    });
  });

  it('a Canadian user calling a Canadian number makes a domestic call, at the US and Canada rate', () => {
    expect(classifyCall(book, call('+14165551234', 'CA'))).toMatchObject({ context: 'Domestic' });
    expect(rateCall(book, call('+14165551234', 'CA'), 'USD', 0)).toMatchObject({
      chargeMinor: 2n,
      rate: { prefix: '+1416', ratePerMinute: '0.021900' },
    });
  });
});
