import type { App } from '../../src/app';
import { apiCaller, fundedTenant, startApiApp } from '../support/api-app';
import { uniqueName } from '../support/stack';

const OPERATOR = 'operator-secret-token-for-call-sessions';

describe('call sessions on the admin API', () => {
  let app: App;
  let tenant: string;
  let key: string;

  beforeAll(async () => {
    app = await startApiApp({ operatorToken: OPERATOR, keyPrefix: `${uniqueName('sessions')}:` });
    ({ tenant, key } = await fundedTenant(app, call));
  });
  afterAll(() => app.stop());

  const call = apiCaller(() => app.url, OPERATOR);
  const start = (usageId: string, extra: Record<string, unknown> = {}, token = key) =>
    call(
      'POST',
      '/v1/sessions',
      {
        usageId,
        tenantId: tenant,
        callType: 'user_out',
        calleeNumber: '+442071234567',
        licenseCapability: 'MCOPSTNPP',
        usageCountryCode: 'US',
        userId: 'alice',
        ...extra,
      },
      token,
    );
  const report = (usageId: string, what: 'update' | 'end', usedSeconds: unknown, token = key) =>
    call(
      'POST',
      `/v1/sessions/${encodeURIComponent(usageId)}/${what}`,
      { tenantId: tenant, usedSeconds },
      token,
    );

  it('starts, renews and ends a session; the balance shows what sessions hold', async () => {
    const started = await start('call-1@pbx');
    expect(started).toEqual({
      status: 200,
      body: {
        usageId: 'call-1@pbx',
        allowed: true,
        reason: 'covered',
        grantedSeconds: 300,
        reserved: '0.17',
        currency: 'USD',
        validUntil: expect.any(String),
      },
    });
    expect(await start('call-1@pbx')).toEqual(started);
    expect(await start('call-1@pbx', { calleeNumber: '+33123456789' })).toMatchObject({
      status: 409,
      body: { error: 'usage_id_reused', message: expect.stringContaining('body/usageId') },
    });

    const renewed = await report('call-1@pbx', 'update', 280);
    // 580 s as one call: 10 started minutes at 0.0349 = 0.349 -> 0.35.
    expect(renewed).toMatchObject({
      status: 200,
      body: { allowed: true, grantedSeconds: 300, reserved: '0.35' },
    });
    expect(await report('call-1@pbx', 'update', 100)).toMatchObject({
      status: 409,
      body: { error: 'used_seconds_decreased', message: expect.stringContaining('body/usedSeconds') },
    });
    const balance = await call('GET', `/v1/tenants/${tenant}/balance`, undefined, key);
    expect(balance.body).toMatchObject({
      balance: { amount: '100.00', currency: 'USD' },
      reserved: { amount: '0.35', currency: 'USD' },
      available: { amount: '99.65', currency: 'USD' },
    });
    const listed = await call('GET', `/v1/tenants/${tenant}/sessions?limit=50`, undefined, key);
    expect(listed.body).toMatchObject({
      cursor: '0',
      sessions: [
        { usageId: 'call-1@pbx', reserved: '0.35', currency: 'USD', usedSeconds: 280, user: 'alice' },
      ],
    });

    // 301 s: 6 started minutes, 0.2094 -> 0.21 held; the rest of 0.35 released.
    const ended = await report('call-1@pbx', 'end', 301);
    expect(ended).toEqual({
      status: 200,
      body: { usageId: 'call-1@pbx', released: '0.14', held: '0.21', currency: 'USD' },
    });
    expect(await report('call-1@pbx', 'end', 301)).toEqual(ended);
    expect(await report('call-1@pbx', 'update', 320)).toMatchObject({
      status: 409,
      body: { error: 'session_ended' },
    });
  });

  it('answers 404 for an unknown session, 400 naming the field, 403 for another tenant', async () => {
    expect(await report('nobody', 'update', 5)).toMatchObject({
      status: 404,
      body: { error: 'session_unknown' },
    });
    expect(await report('nobody', 'end', -1)).toMatchObject({
      status: 400,
      body: { message: expect.stringContaining('usedSeconds') },
    });
    expect(await start('bad', { calleeNumber: 'x' })).toMatchObject({
      status: 400,
      body: { message: expect.stringContaining('calleeNumber') },
    });
    const { key: otherKey } = await fundedTenant(app, call, 'other');
    expect((await start('x1', {}, otherKey)).status).toBe(403);
    expect((await report('x1', 'end', 1, otherKey)).status).toBe(403);
  });

  it('caps concurrent credit-paid calls by the user limits setting (concurrent_calls)', async () => {
    const { tenant: capped, key: cappedKey } = await fundedTenant(app, call, 'capped');
    const put = await call(
      'PUT',
      `/v1/tenants/${capped}/user-limits`,
      { concurrentCalls: { perTenant: 3, perUser: 1 } },
      cappedKey,
    );
    expect(put).toMatchObject({ status: 200, body: { concurrentCalls: { perTenant: 3, perUser: 1 } } });
    const startFor = (usageId: string, userId: string) =>
      start(usageId, { tenantId: capped, userId }, cappedKey);
    expect((await startFor('k1', 'alice')).body).toMatchObject({ allowed: true });
    expect((await startFor('k2', 'alice')).body).toMatchObject({
      allowed: false,
      reason: 'concurrent_calls',
    });
    expect((await startFor('k3', 'bob')).body).toMatchObject({ allowed: true });
    const removed = await call(
      'PUT',
      `/v1/tenants/${capped}/user-limits`,
      { concurrentCalls: null },
      cappedKey,
    );
    expect(removed.body).toMatchObject({ concurrentCalls: null });
    expect((await startFor('k4', 'alice')).body).toMatchObject({ allowed: true });
    const metrics = await (await fetch(`${app.url}/metrics`)).text();
    expect(metrics).toContain('rater_session_answers_total{request="start",reason="concurrent_calls"} 1');
    // Gauges of the whole namespace (the other tests' tenants count too).
    expect(metrics).toMatch(/rater_call_sessions_held_minor_units\{currency="USD"\} \d+/);
    expect(metrics).toMatch(/rater_call_sessions_live \d+/);
    expect(
      (await call('PUT', `/v1/tenants/${capped}/user-limits`, { concurrentCalls: { perUser: 0 } }, cappedKey))
        .body,
    ).toMatchObject({ message: expect.stringContaining('concurrentCalls/perUser') });
  });

  it('always allows an emergency call and reserves nothing', async () => {
    expect((await start('sos', { callType: 'emergency', calleeNumber: '+1911' })).body).toMatchObject({
      allowed: true,
      reason: 'emergency',
      reserved: '0',
    });
  });
});
