import type { App } from '../../src/app';
import { utcMonth } from '../../src/credits/calendar';
import type { LedgerUsage } from '../../src/credits/wallet';
import { apiCaller, fundedTenant, startApiApp } from '../support/api-app';
import { applyPaid, LedgerFixture } from '../support/ledger';
import { uniqueName } from '../support/stack';

const OPERATOR = 'operator-secret-token-for-burst-guard';

describe('the burst guard on the admin API', () => {
  let app: App;
  let tenant: string;
  let key: string;

  beforeAll(async () => {
    app = await startApiApp({ operatorToken: OPERATOR, keyPrefix: `${uniqueName('burst')}:` });
    ({ tenant, key } = await fundedTenant(app, call));
  });
  afterAll(() => app.stop());

  const call = apiCaller(() => app.url, OPERATOR);
  const limits = (body: unknown, token = key) =>
    call('PUT', `/v1/tenants/${tenant}/user-limits`, body, token);
  const authorize = (userId: string) =>
    call(
      'POST',
      '/v1/authorize',
      {
        tenantId: tenant,
        callType: 'user_out',
        calleeNumber: '+442071234567',
        licenseCapability: 'MCOPSTNPP',
        usageCountryCode: 'US',
        userId,
      },
      key,
    );
  /** An international credit-paid call of alice's that started `secondsAgo` ago. */
  const international = (id: string, secondsAgo: number): LedgerUsage => {
    const start = new Date(Date.now() - secondsAgo * 1000);
    return {
      id,
      start,
      source: 'credits',
      charge: 10n,
      pool: '',
      poolSeconds: 0,
      period: utcMonth(start),
      user: 'alice',
      international: true,
    };
  };

  it('blocks a user past the guard, refuses their credit-paid calls until an admin clears the block', async () => {
    const put = await limits({
      burstGuard: { windowMinutes: 60, maxInternationalCalls: 2, maxSpend: '5.00' },
    });
    expect(put.status).toBe(200);
    expect(put.body).toMatchObject({
      burstGuard: {
        windowMinutes: 60,
        maxInternationalCalls: 2,
        maxSpend: { amount: '5.00', currency: 'USD' },
      },
      blocked: [],
    });
    await applyPaid({ ledger: app.ledger } as LedgerFixture, tenant, [
      international('u1', 300),
      international('u2', 200),
    ]);
    expect((await authorize('alice')).body).toMatchObject({ allowed: true, reason: 'covered' });
    await applyPaid({ ledger: app.ledger } as LedgerFixture, tenant, [international('u3', 100)]);
    expect((await authorize('alice')).body).toMatchObject({
      allowed: false,
      reason: 'user_blocked',
      maxSeconds: 0,
    });
    expect((await authorize('bob')).body).toMatchObject({ allowed: true, reason: 'covered' });
    const got = await call('GET', `/v1/tenants/${tenant}/user-limits`, undefined, key);
    expect(got.body.blocked).toEqual([
      { user: 'alice', at: expect.any(String), reason: 'international_calls' },
    ]);
    expect((await app.ledger.outbox.readOutbox(tenant)).map((event) => event.type)).toContain(
      'credits.user.blocked',
    );

    // The tenant admin clears the block (another tenant's key may not); a user not blocked is 404.
    const other = uniqueName('other');
    await call('PUT', `/v1/tenants/${other}`, { billingMode: 'prepaid', currency: 'USD' });
    const otherKey = String((await call('POST', `/v1/tenants/${other}/api-keys`)).body.apiKey);
    expect(
      (await call('DELETE', `/v1/tenants/${tenant}/user-blocks/alice`, undefined, otherKey)).status,
    ).toBe(403);
    expect(await call('DELETE', `/v1/tenants/${tenant}/user-blocks/bob`, undefined, key)).toMatchObject({
      status: 404,
      body: { error: 'not_blocked' },
    });
    expect((await call('DELETE', `/v1/tenants/${tenant}/user-blocks/alice`, undefined, key)).status).toBe(
      204,
    );
    expect((await authorize('alice')).body).toMatchObject({ allowed: true, reason: 'covered' });
    expect((await call('GET', `/v1/tenants/${tenant}/user-limits`)).body.blocked).toEqual([]);
    expect((await call('DELETE', `/v1/tenants/${tenant}/user-blocks/alice`)).status).toBe(404);
    expect((await call('DELETE', '/v1/tenants/ghost/user-blocks/alice')).status).toBe(404);
    // A user key of 256 bytes, percent-encoded, reaches the route; a longer one is a 400.
    const wide = encodeURIComponent('é'.repeat(128));
    expect((await call('DELETE', `/v1/tenants/${tenant}/user-blocks/${wide}`)).body).toMatchObject({
      error: 'not_blocked',
    });
    expect((await call('DELETE', `/v1/tenants/${tenant}/user-blocks/${'0'.repeat(257)}`)).status).toBe(400);
    expect(
      (await call('DELETE', `/v1/tenants/${tenant}/user-blocks/${encodeURIComponent('é'.repeat(129))}`))
        .status,
    ).toBe(400);

    // null turns the guard off.
    expect((await limits({ burstGuard: null })).body).toMatchObject({ burstGuard: null });
  });

  it('refuses a guard out of range, naming the field', async () => {
    const refusal = async (burstGuard: unknown, field: string) => {
      const put = await limits({ burstGuard });
      expect(put).toMatchObject({ status: 400 });
      expect(String(put.body.message)).toContain(field);
    };
    await refusal({ windowMinutes: 0, maxInternationalCalls: 1 }, 'windowMinutes');
    await refusal({ windowMinutes: 1441, maxInternationalCalls: 1 }, 'windowMinutes');
    await refusal({ windowMinutes: 1.5, maxInternationalCalls: 1 }, 'windowMinutes');
    await refusal({ windowMinutes: 60, maxInternationalCalls: 0 }, 'maxInternationalCalls');
    await refusal({ windowMinutes: 60, maxInternationalCalls: 2.5 }, 'maxInternationalCalls');
    await refusal({ windowMinutes: 60, maxSpend: '1.001' }, 'body/burstGuard/maxSpend');
    await refusal({ windowMinutes: 60, maxSpend: 5 }, 'maxSpend');
    await refusal({ maxSpend: '5.00' }, 'windowMinutes');
    // Neither threshold: off.
    expect((await limits({ burstGuard: { windowMinutes: 60 } })).body).toMatchObject({ burstGuard: null });
  });
});
