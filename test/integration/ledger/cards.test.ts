import { SimulatedGateway } from '../../../src/payments/gateway';
import {
  completeCardSetup,
  setPaymentMethod,
  startCardSetup,
  tenantCustomer,
} from '../../../src/settlement/cards';
import { ledgerFixture, LedgerFixture, prepaid } from '../../support/ledger';

/** recordCustomer-1.lua and recordPaymentMethod-1.lua on real Redis, with the simulated gateway's cards. */
describe("ledger: a tenant's customer and card", () => {
  let f: LedgerFixture;
  beforeEach(() => {
    f = ledgerFixture();
  });
  afterEach(() => f.close());

  it('stores one customer when two creations race: the first stored stays, and both get it', async () => {
    await f.ledger.writes.upsertAccount('acme', prepaid());
    const stored = await Promise.all(
      ['cus_a', 'cus_b', 'cus_c', 'cus_d'].map((id) => f.ledger.cards.recordCustomer('acme', id)),
    );
    const winner = (await f.ledger.cards.paymentAccount('acme'))!.customer;
    expect(['cus_a', 'cus_b', 'cus_c', 'cus_d']).toContain(winner);
    expect(stored).toEqual(Array(4).fill({ customer: winner }));
    expect(await f.ledger.cards.recordCustomer('acme', 'cus_later')).toEqual({ customer: winner });
  });

  it('refuses a customer for a postpaid tenant or no account, and a card of another customer', async () => {
    await f.ledger.writes.upsertAccount('later', prepaid({ mode: 'postpaid' }));
    expect(await f.ledger.cards.recordCustomer('later', 'cus_x')).toMatchObject({ refused: 'mode_mismatch' });
    expect(await f.ledger.cards.recordCustomer('ghost', 'cus_x')).toMatchObject({ refused: 'no_account' });
    await f.ledger.writes.upsertAccount('acme', prepaid({ paymentMethodRef: '' }));
    expect(await f.ledger.cards.recordCustomer('acme', 'cus_acme')).toEqual({ customer: 'cus_acme' });
    const before = await f.redis.hgetall(f.ledger.keys('acme').account);
    expect(
      await f.ledger.cards.recordPaymentMethod('acme', {
        customer: 'cus_other',
        ref: 'cus_other/pm_1',
        label: '',
      }),
    ).toEqual({
      refused: 'settings_conflict',
      detail: "paymentCustomer: the payment method is not attached to the tenant's customer",
    });
    expect(
      await f.ledger.cards.recordPaymentMethod('acme', {
        customer: 'cus_acme',
        ref: 'cus_acme/pm_1',
        label: '',
        ifVersion: 99,
      }),
    ).toEqual({ refused: 'version_mismatch', detail: String(before.settingsVersion) });
    expect(await f.redis.hgetall(f.ledger.keys('acme').account)).toEqual(before);
    expect(
      await f.ledger.cards.recordPaymentMethod('acme', {
        customer: 'cus_acme',
        ref: 'cus_acme/pm_1',
        label: 'visa •••• 4242',
      }),
    ).toEqual({ version: Number(before.settingsVersion) + 1 });
    const account = (await f.ledger.reads.readAccount('acme'))!;
    expect([account.settings.paymentMethodRef, account.paymentMethodLabel]).toEqual([
      'cus_acme/pm_1',
      'visa •••• 4242',
    ]);
    // Another reference set by a settings change: the label was the old card's, and is not shown.
    await f.ledger.writes.updateSettings('acme', { paymentMethodRef: 'cus_acme/pm_2' });
    expect((await f.ledger.reads.readAccount('acme'))!.paymentMethodLabel).toBe('');
  });

  it("follows the simulated gateway's documented card rules", async () => {
    const gateway = new SimulatedGateway(0);
    await f.ledger.writes.upsertAccount('acme', prepaid({ paymentMethodRef: '' }));
    expect(await tenantCustomer(f.ledger.cards, gateway, 'acme')).toEqual({
      customer: 'cus_sim_acme',
      currency: 'USD',
    });
    expect(await setPaymentMethod(f.ledger.cards, gateway, 'acme', 'pm_sim_foreign')).toEqual({
      problem: 'not_owned',
    });
    expect(await setPaymentMethod(f.ledger.cards, gateway, 'acme', 'cus_sim_other/pm_card_visa')).toEqual({
      problem: 'not_owned',
    });
    expect(await setPaymentMethod(f.ledger.cards, gateway, 'acme', 'card_visa')).toEqual({
      problem: 'invalid_ref',
    });
    expect(await setPaymentMethod(f.ledger.cards, gateway, 'acme', 'pm_sim_declined')).toMatchObject({
      recorded: true,
      ref: 'pm_sim_declined',
    });
    const setup = await startCardSetup(f.ledger.cards, gateway, 'acme', {
      successUrl: 'https://rater.example/back?session_id={CHECKOUT_SESSION_ID}',
      cancelUrl: 'https://rater.example/cancel',
    });
    expect(setup).toEqual({ sessionId: 'cs_sim_1', url: 'https://rater.example/back?session_id=cs_sim_1' });
    await f.ledger.writes.upsertAccount('other', prepaid({ paymentMethodRef: '' }));
    expect(await completeCardSetup(f.ledger.cards, gateway, 'other', 'cs_sim_1')).toEqual({
      problem: 'setup_not_owned',
    });
    expect(await completeCardSetup(f.ledger.cards, gateway, 'acme', 'cs_sim_1')).toMatchObject({
      recorded: true,
      ref: 'pm_sim_card_1',
      label: 'visa •••• 4242',
    });
    // The card set up for acme is acme's customer's: not another tenant's to name.
    expect(await setPaymentMethod(f.ledger.cards, gateway, 'other', 'pm_sim_card_1')).toEqual({
      problem: 'not_owned',
    });
  });
});
