import type { App } from '../../src/app';
import { tenantCommand } from '../../src/api/tenant-cli';
import { apiCaller, startApiApp } from '../support/api-app';
import { runCommand as run } from '../support/cli-run';
import { consoleSignIn } from '../support/console-sign-in';
import { uniqueName } from '../support/stack';

const OPERATOR = 'operator-secret-token-for-call-sessions-cli';

/** `rater tenant call-caps` and `rater tenant sessions`, in-process against the admin API. */
describe('calls in progress from the command line: the caps, and the live sessions', () => {
  let app: App;
  const tenant = uniqueName('calls');
  const call = apiCaller(() => app.url, OPERATOR);
  const cli = (...args: string[]) => run(tenantCommand(), ['--url', app.url, '--token', OPERATOR, ...args]);
  const started = new Date(Date.now() - 30_000);
  const start = (usageId: string, userId: string) =>
    call('POST', '/v1/sessions', {
      usageId,
      tenantId: tenant,
      callType: 'user_out',
      calleeNumber: '+442071234567',
      licenseCapability: 'MCOPSTNPP',
      usageCountryCode: 'US',
      userId,
      startDateTime: started.toISOString(),
    });

  beforeAll(async () => {
    app = await startApiApp({ operatorToken: OPERATOR, keyPrefix: `${uniqueName('calls')}:` });
    expect(
      (await call('PUT', `/v1/tenants/${tenant}`, { billingMode: 'prepaid', currency: 'USD' })).status,
    ).toBe(201);
    const adjustment = {
      adjustmentId: 'seed',
      amount: '10.00',
      currency: 'USD',
      reason: 'seed',
      madeBy: 'test',
    };
    expect((await call('POST', `/v1/tenants/${tenant}/adjustments`, adjustment)).status).toBe(201);
  });
  afterAll(() => app.stop());

  it('sets the caps (a number or none), and a start past the per-user cap is refused', async () => {
    const capped = await cli('call-caps', tenant, '--per-tenant', '2', '--per-user', '1');
    expect(capped).toEqual({
      out: [`${tenant}: calls in progress at most: tenant 2, each user 1`],
      err: [],
      code: 0,
    });
    expect((await call('GET', `/v1/tenants/${tenant}/user-limits`)).body.concurrentCalls).toEqual({
      perTenant: 2,
      perUser: 1,
    });
    expect(await start('a-1', 'alice')).toMatchObject({
      status: 200,
      body: { allowed: true, reserved: '0.17' },
    });
    expect(await start('a-2', 'alice')).toMatchObject({
      status: 200,
      body: { allowed: false, reason: 'concurrent_calls' },
    });

    const json = await cli('call-caps', tenant, '--per-tenant', 'none', '--per-user', '3', '--json');
    expect(JSON.parse(json.out.join('\n'))).toMatchObject({
      concurrentCalls: { perTenant: null, perUser: 3 },
    });
    const none = await cli('call-caps', tenant, '--per-tenant', 'none', '--per-user', 'none');
    expect(none.out).toEqual([`${tenant}: calls in progress at most: tenant no cap, each user no cap`]);
    expect((await call('GET', `/v1/tenants/${tenant}/user-limits`)).body.concurrentCalls).toBeNull();

    // Not a number: refused before any request; a cap the API refuses: its 400, exit code 1.
    await expect(cli('call-caps', tenant, '--per-tenant', 'many', '--per-user', '1')).rejects.toThrow(
      "--per-tenant many: expected a whole number or 'none'",
    );
    const zero = await cli('call-caps', tenant, '--per-tenant', '0', '--per-user', '1');
    expect(zero.code).toBe(1);
    expect(zero.err.join('\n')).toContain('concurrentCalls/perTenant');
  });

  it('lists the calls in progress as a table, and as the API answers with --json', async () => {
    expect(await start('b-1', 'bob')).toMatchObject({ status: 200, body: { allowed: true } });
    expect(
      await call('POST', '/v1/sessions/b-1/update', { tenantId: tenant, usedSeconds: 280 }),
    ).toMatchObject({ status: 200, body: { reserved: '0.35' } });
    const when = started.toISOString().slice(0, 19).replace('T', ' ');
    const listed = await cli('sessions', tenant);
    expect(listed.code).toBe(0);
    expect(listed.out[0]).toBe(`${tenant}: 2 calls in progress`);
    expect(listed.out[1]).toMatch(/^USAGE ID +USER +CALLEE +STARTED \(UTC\) +USED S +GRANTED S +HELD$/);
    expect(listed.out.slice(2).map((line) => line.split(/ {2,}/))).toEqual(
      [
        ['a-1', 'alice', '+442071234567', when, '0', '300', '0.17 USD'],
        ['b-1', 'bob', '+442071234567', when, '280', '580', '0.35 USD'],
      ].sort((x, y) => x[0]!.localeCompare(y[0]!)),
    );

    const json = await cli('sessions', tenant, '--json');
    const body = JSON.parse(json.out.join('\n')) as { sessions: Record<string, unknown>[] };
    expect(body.sessions.find((s) => s.usageId === 'b-1')).toEqual({
      usageId: 'b-1',
      reserved: '0.35',
      currency: 'USD',
      usedSeconds: 280,
      grantedSeconds: 580,
      startDateTime: started.toISOString(),
      validUntil: expect.any(String),
      user: 'bob',
      calleeNumber: '+442071234567',
    });

    // Ended (with the seconds last reported), the calls leave the list.
    for (const [id, usedSeconds] of [
      ['a-1', 0],
      ['b-1', 280],
    ] as const)
      expect((await call('POST', `/v1/sessions/${id}/end`, { tenantId: tenant, usedSeconds })).status).toBe(
        200,
      );
    expect((await cli('sessions', tenant)).out).toEqual([`${tenant}: no call in progress`]);
    const stranger = await run(tenantCommand(), ['--url', app.url, '--token', 'wrong', 'sessions', tenant]);
    expect(stranger.code).toBe(1);
    expect(stranger.err.join('\n')).toContain('the token was refused');
  });

  it("sets the caps on the console's Spend limits page, by the API's conversion, and names a bad field", async () => {
    const cookie = await consoleSignIn(app.url, OPERATOR);
    const page = `${app.url}/console/t/${tenant}/user-limits`;
    const csrf = async () =>
      /action="[^"]*call-caps"[^>]*>\s*<input type="hidden" name="_csrf" value="([^"]+)"/.exec(
        await (await fetch(page, { headers: { cookie } })).text(),
      )![1]!;
    const post = async (perTenant: string, perUser: string) => {
      const response = await fetch(`${page}/call-caps`, {
        method: 'POST',
        headers: { cookie, 'content-type': 'application/x-www-form-urlencoded' },
        body: new URLSearchParams({
          _csrf: await csrf(),
          'concurrentCalls/perTenant': perTenant,
          'concurrentCalls/perUser': perUser,
        }).toString(),
      });
      return { status: response.status, text: await response.text() };
    };
    const saved = await post('3', '');
    expect(saved.status).toBe(200);
    expect(saved.text).toContain('Calls at once saved: 3 for the tenant, no cap for each user.');
    expect((await call('GET', `/v1/tenants/${tenant}/user-limits`)).body.concurrentCalls).toEqual({
      perTenant: 3,
      perUser: null,
    });
    const refused = await post('3', '0');
    expect(refused.status).toBe(400);
    expect(refused.text).toContain('concurrentCalls/perUser: from 1 to 1000000, or empty for no cap');
    expect((await call('GET', `/v1/tenants/${tenant}/user-limits`)).body.concurrentCalls).toEqual({
      perTenant: 3,
      perUser: null,
    });
    expect((await post('', '')).status).toBe(200);
    expect((await call('GET', `/v1/tenants/${tenant}/user-limits`)).body.concurrentCalls).toBeNull();
  });
});
