import { toCloudEvent } from '../../../src/kafka/cloudevents';
import { minorToDecimal } from '../../../src/credits/money';
import { currencyDigits } from '../../../src/rating';

describe('minor units to decimal strings', () => {
  it.each([
    ['0', 'USD', '0.00'],
    ['5', 'USD', '0.05'],
    ['-1234', 'USD', '-12.34'],
    ['123456789012345678901', 'EUR', '1234567890123456789.01'],
    ['1500', 'JPY', '1500'],
    ['1', 'BHD', '0.001'],
  ])('%s %s is %s', (minor, currency, decimal) => {
    expect(minorToDecimal(minor, currency)).toBe(decimal);
  });

  it('knows the ISO 4217 digits', () => {
    expect([
      currencyDigits('USD'),
      currencyDigits('JPY'),
      currencyDigits('KWD'),
      currencyDigits('HUF'),
    ]).toEqual([2, 0, 3, 2]);
  });

  it('refuses what is not an integer', () => {
    expect(() => minorToDecimal('1.5', 'USD')).toThrow('not an integer amount: 1.5');
  });
});

describe('toCloudEvent', () => {
  it('turns an outbox entry into a CloudEvent with decimal amounts and ISO times', () => {
    const event = toCloudEvent(
      {
        streamId: '1-0',
        id: 'acme/credits.funds.added/m:p1',
        type: 'credits.funds.added',
        time: '2026-11-01T00:00:00.000Z',
        tenantId: 'acme',
        data: {
          lotId: 'm:p1',
          amount: { amountMinor: '2500', currency: 'USD' },
          purchasedAt: '1793491200000',
          expiresAt: '1825027200000',
        },
      },
      '/rater/credits',
    );
    expect(event).toEqual({
      specversion: '1.0',
      id: 'acme/credits.funds.added/m:p1',
      source: '/rater/credits',
      type: 'credits.funds.added',
      subject: 'acme',
      time: '2026-11-01T00:00:00.000Z',
      datacontenttype: 'application/json',
      data: {
        tenantId: 'acme',
        lotId: 'm:p1',
        amount: { amount: '25.00', currency: 'USD' },
        purchasedAt: '2026-11-01T00:00:00.000Z',
        expiresAt: '2027-11-01T00:00:00.000Z',
      },
    });
  });
});
