import { ledgerFixture, LedgerFixture, prepaid } from '../../support/ledger';

/** updateSettings-10.lua: a partial update, checked against the stored settings. */
describe('ledger: settings updates', () => {
  let f: LedgerFixture;
  beforeEach(() => {
    f = ledgerFixture();
  });
  afterEach(() => f.close());

  const withAutoRecharge = prepaid({
    lowBalanceThreshold: 500n,
    autoRecharge: { enabled: true, trigger: 1000n, amount: 2500n, monthlyCap: 4, maxConsecutiveFailures: 2 },
    poolCapacities: { 'MCOPSTN1:US': 6000 },
  });
  /** Every key of the tenant, dumped: a refused update must leave each byte as it was. */
  const snapshot = async (tenant: string) => {
    const k = f.ledger.keys(tenant);
    return Promise.all([f.redis.hgetall(k.account), f.redis.hgetall(k.pools)]);
  };
  const settings = async (tenant: string) => (await f.ledger.reads.readAccount(tenant))!.settings;

  it('changes only the fields named, and counts a version up with each change', async () => {
    expect(await f.ledger.writes.updateSettings('acme', withAutoRecharge, { create: true })).toEqual({
      status: 'created',
      version: 1,
    });
    expect(await f.ledger.writes.updateSettings('acme', { paymentMethodRef: 'pm_new' })).toEqual({
      status: 'updated',
      version: 2,
    });
    expect(
      await f.ledger.writes.updateSettings('acme', { autoRecharge: { enabled: true, amount: 4000n } }),
    ).toEqual({
      status: 'updated',
      version: 3,
    });
    expect(await settings('acme')).toEqual({
      ...withAutoRecharge,
      paymentMethodRef: 'pm_new',
      autoRecharge: { ...withAutoRecharge.autoRecharge, amount: 4000n },
    });
    expect((await f.ledger.reads.readAccount('acme'))!.settingsVersion).toBe(3);

    // Pool sizes are replaced whole when named, and kept when not.
    await f.ledger.writes.updateSettings('acme', { poolCapacities: { 'MCOPSTN6:GB': 14400 } });
    expect((await settings('acme')).poolCapacities).toEqual({ 'MCOPSTN6:GB': 14400 });
    await f.ledger.writes.updateSettings('acme', { lowBalanceThreshold: 0n });
    expect(await settings('acme')).toMatchObject({
      lowBalanceThreshold: 0n,
      poolCapacities: { 'MCOPSTN6:GB': 14400 },
    });
  });

  it('gives a new account the defaults for what it does not name, and updates only accounts that exist', async () => {
    expect(await f.ledger.writes.updateSettings('ghost', { paymentMethodRef: 'pm_x' })).toEqual({
      refused: 'no_account',
      detail: 'ghost',
    });
    expect(await f.ledger.reads.readAccount('ghost')).toBeUndefined();
    await f.ledger.writes.updateSettings('newco', { mode: 'prepaid', currency: 'EUR' }, { create: true });
    expect(await settings('newco')).toEqual({
      mode: 'prepaid',
      currency: 'EUR',
      lowBalanceThreshold: 0n,
      autoRecharge: { enabled: false, trigger: 0n, amount: 0n, monthlyCap: 5, maxConsecutiveFailures: 3 },
      paymentMethodRef: '',
      adminContacts: [],
      poolCapacities: {},
      sessionOverdraft: 0n,
    });
  });

  it('refuses a stale version, or amounts converted in a currency no longer stored, changing nothing', async () => {
    await f.ledger.writes.updateSettings('acme', withAutoRecharge, { create: true });
    const before = await snapshot('acme');
    expect(
      await f.ledger.writes.updateSettings('acme', { paymentMethodRef: 'pm_x' }, { ifVersion: 0 }),
    ).toEqual({
      refused: 'version_mismatch',
      detail: '1',
    });
    expect(
      await f.ledger.writes.updateSettings(
        'acme',
        { autoRecharge: { enabled: true, amount: 9n } },
        { ifCurrency: 'EUR' },
      ),
    ).toEqual({ refused: 'currency_mismatch', detail: 'USD' });
    expect(await snapshot('acme')).toEqual(before);
    expect(
      await f.ledger.writes.updateSettings(
        'acme',
        { paymentMethodRef: 'pm_x' },
        { ifVersion: 1, ifCurrency: 'USD' },
      ),
    ).toEqual({ status: 'updated', version: 2 });
  });

  it('checks the auto-recharge rules against the stored settings', async () => {
    await f.ledger.writes.updateSettings('post', prepaid({ mode: 'postpaid' }), { create: true });
    await f.ledger.writes.updateSettings('zero', prepaid(), { create: true });
    const before = await Promise.all([snapshot('post'), snapshot('zero')]);
    expect(
      await f.ledger.writes.updateSettings('post', { autoRecharge: { enabled: true, amount: 100n } }),
    ).toEqual({
      refused: 'settings_conflict',
      detail: 'arEnabled: auto-recharge is for prepaid tenants only',
    });
    // The stored recharge amount is zero, and the request names none.
    expect(await f.ledger.writes.updateSettings('zero', { autoRecharge: { enabled: true } })).toEqual({
      refused: 'settings_conflict',
      detail: 'arAmount: the recharge amount must be more than zero to enable auto-recharge',
    });
    expect(await Promise.all([snapshot('post'), snapshot('zero')])).toEqual(before);
  });

  it('turns auto-recharge off on a switch to postpaid, and resets the amounts of another currency', async () => {
    await f.ledger.writes.updateSettings('acme', withAutoRecharge, { create: true });
    await f.ledger.writes.updateSettings('acme', { mode: 'postpaid' });
    expect((await settings('acme')).autoRecharge).toEqual({
      ...withAutoRecharge.autoRecharge,
      enabled: false,
    });

    await f.ledger.writes.updateSettings('euro', withAutoRecharge, { create: true });
    await f.ledger.writes.updateSettings('euro', {
      currency: 'EUR',
      autoRecharge: { enabled: true, amount: 3000n },
    });
    // The threshold and the trigger were cents: they do not become euro cents.
    expect(await settings('euro')).toMatchObject({
      currency: 'EUR',
      lowBalanceThreshold: 0n,
      autoRecharge: { enabled: true, trigger: 0n, amount: 3000n },
    });
    await f.ledger.writes.updateSettings('euro', { currency: 'JPY' });
    expect((await settings('euro')).autoRecharge).toMatchObject({ enabled: false, amount: 0n });
  });

  it('lifts a block on a switch to postpaid, and counts failures afresh when auto-recharge is enabled again', async () => {
    await f.ledger.writes.updateSettings('acme', withAutoRecharge, { create: true });
    const k = f.ledger.keys('acme');
    await f.redis.hset(k.account, 'blocked', '1', 'arEnabled', '0', 'arFailures', '2');
    await f.ledger.writes.updateSettings('acme', { autoRecharge: { enabled: true } });
    expect(await f.redis.hmget(k.account, 'blocked', 'arFailures')).toEqual(['1', '0']);
    await f.ledger.writes.updateSettings('acme', { mode: 'postpaid' });
    expect(await f.redis.hget(k.account, 'blocked')).toBe('0');
  });
});
