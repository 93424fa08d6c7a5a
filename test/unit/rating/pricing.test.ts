import { join } from 'node:path';
import { formatMinor, loadRateBook, rateCall, RatingResult, UsageRecord } from '../../../src/rating';

const book = loadRateBook(join(__dirname, '..', '..', '..', 'rates'));

const call = (extra: Partial<UsageRecord>): UsageRecord => ({
  id: 'u',
  tenantId: 't',
  callType: 'user_out',
  startDateTime: '2026-03-10T15:00:00Z',
  duration: 60,
  calleeNumber: '+12125551234',
  licenseCapability: 'MCOPSTNPP',
  usageCountryCode: 'US',
  tenantCountryCode: 'US',
  ...extra,
});

const summary = (result: RatingResult) =>
  result.kind === 'rated'
    ? {
        charge: formatMinor(result.chargeMinor, result.currency),
        billed: result.billedSeconds,
        pool: result.poolSeconds,
        paid: result.paidSeconds,
        prefix: result.rate.prefix,
        version: result.rate.version,
      }
    : result;

describe('rating with the shipped decks', () => {
  it.each<[string, Partial<UsageRecord>, string, number, object]>([
    [
      'pay-as-you-go to a UK mobile, per started minute',
      { calleeNumber: '+447911123456', duration: 125 },
      'USD',
      0,
      { charge: '0.42', billed: 180, pool: 0, paid: 180, prefix: '+447', version: '2026-01' },
    ],
    [
      'the same call under the July deck',
      { calleeNumber: '+447911123456', duration: 125, startDateTime: '2026-08-01T10:00:00Z' },
      'USD',
      0,
      { charge: '0.33', billed: 180, pool: 0, paid: 180, prefix: '+447', version: '2026-07' },
    ],
    [
      'domestic on a calling plan: pool minutes first, the rest paid',
      { licenseCapability: 'MCOPSTN1', duration: 200 },
      'USD',
      120,
      { charge: '0.04', billed: 240, pool: 120, paid: 120, prefix: '+1', version: '2026-01' },
    ],
    [
      'domestic on a calling plan, all in the pool: nothing to pay',
      { licenseCapability: 'MCOPSTN1', duration: 200 },
      'USD',
      6000,
      { charge: '0.00', billed: 240, pool: 240, paid: 0, prefix: '+1', version: '2026-01' },
    ],
    [
      'international on a domestic plan: paid from credits',
      { licenseCapability: 'MCOPSTN1', calleeNumber: '+442071234567' },
      'USD',
      6000,
      { charge: '0.03', billed: 60, pool: 0, paid: 60, prefix: '+44', version: '2026-01' },
    ],
    [
      'international on an international plan: from the pool',
      { licenseCapability: 'MCOPSTN2', calleeNumber: '+33142685300', duration: 90 },
      'USD',
      600,
      { charge: '0.00', billed: 120, pool: 120, paid: 0, prefix: '+33', version: '2026-01' },
    ],
    [
      'a 120-minute plan with 59 s left: the pool pays 59 s, 1 s is paid',
      { licenseCapability: 'MCOPSTN5', duration: 60 },
      'USD',
      59,
      { charge: '0.00', billed: 60, pool: 59, paid: 1, prefix: '+1', version: '2026-01' },
    ],
    [
      'conference dial-out to Zone A: included minutes, then paid',
      { callType: 'conf_out', licenseCapability: 'MCOMEETADD', calleeNumber: '+442071234567', duration: 150 },
      'USD',
      60,
      { charge: '0.04', billed: 180, pool: 60, paid: 120, prefix: '+44', version: '2026-01' },
    ],
    [
      'conference dial-out outside Zone A: no included minutes',
      { callType: 'conf_out', licenseCapability: 'MCOMEETADD', calleeNumber: '+912212345678' },
      'USD',
      3600,
      { charge: '0.13', billed: 60, pool: 0, paid: 60, prefix: '+91', version: '2026-01' },
    ],
    [
      'toll-free dial-in, rounded half to even (7.5 cents -> 8)',
      { callType: 'conf_in', numberType: 'tollFree', calleeNumber: '+18005550100', duration: 61 },
      'USD',
      0,
      { charge: '0.08', billed: 120, pool: 0, paid: 120, prefix: '+1', version: '2026-01' },
    ],
    [
      'EUR tenant, weekday peak in Berlin',
      { calleeNumber: '+4930123456', duration: 61, startDateTime: '2026-11-24T09:00:00Z' },
      'EUR',
      0,
      { charge: '0.05', billed: 120, pool: 0, paid: 120, prefix: '+49', version: '2026-01' },
    ],
    [
      'EUR tenant, Saturday off-peak at 80%',
      { calleeNumber: '+4930123456', duration: 61, startDateTime: '2026-11-28T09:00:00Z' },
      'EUR',
      0,
      { charge: '0.04', billed: 120, pool: 0, paid: 120, prefix: '+49', version: '2026-01' },
    ],
    [
      'a Caribbean NANP number by its area code',
      { calleeNumber: '+12684601234' },
      'USD',
      0,
      { charge: '0.19', billed: 60, pool: 0, paid: 60, prefix: '+1268', version: '2026-01' },
    ],
    [
      'a 240-minute plan covers domestic calls',
      { licenseCapability: 'MCOPSTN6', callType: 'user_out_transfer', duration: 90 },
      'USD',
      14400,
      { charge: '0.00', billed: 120, pool: 120, paid: 0, prefix: '+1', version: '2026-01' },
    ],
    [
      'a 240-minute plan does not cover international calls',
      { licenseCapability: 'MCOPSTN6', callType: 'user_out_forwarding', calleeNumber: '+4930123456' },
      'USD',
      14400,
      { charge: '0.03', billed: 60, pool: 0, paid: 60, prefix: '+49', version: '2026-01' },
    ],
    [
      'pay-per-minute audio conferencing pays every dial-out minute',
      {
        callType: 'conf_out',
        licenseCapability: 'MCOMEETACPEA',
        calleeNumber: '+442071234567',
        duration: 60,
      },
      'USD',
      3600,
      { charge: '0.02', billed: 60, pool: 0, paid: 60, prefix: '+44', version: '2026-01' },
    ],
    [
      'a pay-as-you-go calling plan id covers nothing',
      { licenseCapability: 'PAYG-CALLING-PLAN', callType: 'ucap_out', duration: 60 },
      'USD',
      3600,
      { charge: '0.02', billed: 60, pool: 0, paid: 60, prefix: '+1', version: '2026-01' },
    ],
    [
      'destination context given by the record wins over the numbers',
      { licenseCapability: 'MCOPSTN1', calleeNumber: '+442071234567', destinationContext: 'Domestic' },
      'USD',
      600,
      { charge: '0.00', billed: 60, pool: 60, paid: 0, prefix: '+44', version: '2026-01' },
    ],
    [
      'a zero-second call',
      { calleeNumber: '+447911123456', duration: 0 },
      'USD',
      0,
      { charge: '0.00', billed: 0, pool: 0, paid: 0, prefix: '+447', version: '2026-01' },
    ],
  ])('%s', (_name, extra, currency, poolLeft, expected) => {
    expect(summary(rateCall(book, call(extra), currency, poolLeft))).toEqual(expected);
  });

  it.each<[string, Partial<UsageRecord>, object]>([
    [
      'emergency calls are free',
      { callType: 'emergency', calleeNumber: '+1911' },
      { kind: 'free', reason: 'emergency' },
    ],
    ['ordinary inbound calls are free', { callType: 'user_in' }, { kind: 'free', reason: 'inbound' }],
    [
      'dial-in on a toll number is free',
      { callType: 'conf_in', numberType: 'subscriber' },
      { kind: 'free', reason: 'inbound' },
    ],
  ])('%s', (_name, extra, expected) => {
    expect(rateCall(book, call(extra), 'USD', 0)).toMatchObject(expected);
  });

  it('never prices silently what it cannot rate', () => {
    expect(rateCall(book, call({ calleeNumber: '+99912345' }), 'USD', 0)).toEqual({
      kind: 'unrated',
      reason: 'no rate for +99912345 in outbound-usd 2026-01',
    });
    expect(rateCall(book, call({ calleeNumber: undefined }), 'USD', 0)).toEqual({
      kind: 'unrated',
      reason: 'a user_out call needs a calleeNumber',
    });
    expect(rateCall(book, call({}), 'JPY', 0)).toEqual({
      kind: 'unrated',
      reason: 'unsupported_currency: no outbound deck in JPY',
    });
    expect(rateCall(book, call({ startDateTime: '2025-06-01T00:00:00Z' }), 'USD', 0)).toEqual({
      kind: 'unrated',
      reason: 'no version of deck outbound-usd in force at 2025-06-01T00:00:00Z',
    });
  });

  it('switches deck version at the exact instant it takes effect', () => {
    const at = (start: string) =>
      rateCall(book, call({ calleeNumber: '+447911123456', startDateTime: start }), 'USD', 0);
    expect(summary(at('2026-06-30T23:59:59.999Z'))).toMatchObject({ version: '2026-01', charge: '0.14' });
    expect(summary(at('2026-07-01T00:00:00.000Z'))).toMatchObject({ version: '2026-07', charge: '0.11' });
    expect(summary(at('2026-07-01T02:00:00+02:00'))).toMatchObject({ version: '2026-07' });
  });

  it('explains each charge', () => {
    const result = rateCall(book, call({ licenseCapability: 'MCOPSTN1', duration: 200 }), 'USD', 120);
    expect(result.kind === 'rated' && result.breakdown()).toEqual([
      { step: 'billed', detail: '200 s connected, billed 240 s by increment 60/60' },
      { step: 'pool', detail: '120 s from the minute pool' },
      { step: 'usage', detail: '120 s paid at 0.021900 USD/min' },
      { step: 'rounding', detail: '0.043800 rounded half-even to 0.04 USD' },
    ]);
  });
});
