import { Writable } from 'node:stream';
import Redis from 'ioredis';
import pino from 'pino';
import type { App } from '../../src/app';
import { apiCaller, fundedTenant, startApiApp } from '../support/api-app';
import { testStack, uniqueName } from '../support/stack';

const OPERATOR = 'operator-secret-token-for-internal-errors';

/** Nothing of Redis or Lua reaches a client: bad input is a 400 naming the field, the rest a 500 with an id. */
describe('the admin API never shows a client its internal errors', () => {
  let app: App;
  let tenant: string;
  let key: string;
  let redis: Redis;
  const lines: Record<string, unknown>[] = [];
  const logger = pino(
    { level: 'info' },
    new Writable({
      write(chunk: Buffer, _encoding, done) {
        for (const line of chunk.toString('utf8').split('\n')) if (line) lines.push(JSON.parse(line));
        done();
      },
    }),
  );

  beforeAll(async () => {
    app = await startApiApp({ operatorToken: OPERATOR, keyPrefix: `${uniqueName('errors')}:`, logger });
    ({ tenant, key } = await fundedTenant(app, call));
    redis = new Redis(testStack().redis.url);
  });
  afterAll(async () => {
    redis.disconnect();
    await app.stop();
  });

  const call = apiCaller(() => app.url, OPERATOR);
  /** What no answer may hold: words of Redis's and Lua's errors. */
  const INTERNAL = /lua|redis|script|ERR |WRONGTYPE|user_script|stack traceback|@/i;

  it('refuses a user key that is not well-formed Unicode with a 400 naming the field', async () => {
    for (const user of ['\ud800', 'a\udc00b', 'x\ud83d']) {
      const put = await call('PUT', `/v1/tenants/${tenant}/user-limits`, { users: { [user]: '1.00' } }, key);
      expect(put).toMatchObject({ status: 400, body: { error: 'bad_request' } });
      expect(String(put.body.message)).toMatch(/^body\/users: the user key .* is not well-formed Unicode/);
      expect(JSON.stringify(put.body)).not.toMatch(INTERNAL);
    }
    for (const field of ['userId', 'userPrincipalName']) {
      const asked = await call(
        'POST',
        '/v1/authorize',
        { tenantId: tenant, callType: 'user_out', calleeNumber: '+442071234567', [field]: 'ana\udfff' },
        key,
      );
      expect(asked).toMatchObject({ status: 400 });
      expect(String(asked.body.message)).toMatch(new RegExp(`^body/${field}: is not well-formed Unicode`));
      expect(JSON.stringify(asked.body)).not.toMatch(INTERNAL);
    }
    const blocks = await call('DELETE', `/v1/tenants/${tenant}/user-blocks/%ED%A0%80`, undefined, key);
    expect(blocks.status).toBe(400);
    expect(JSON.stringify(blocks.body)).not.toMatch(INTERNAL);
    // A well-formed key outside the BMP is a user like any other.
    expect(
      (await call('PUT', `/v1/tenants/${tenant}/user-limits`, { users: { '😀': '1.00' } }, key)).status,
    ).toBe(200);
  });

  it('answers an unexpected failure with a 500 that carries an error id only, and logs the details with it', async () => {
    // The user limits hash tampered with: the script meets a key of the wrong type.
    const limitsKey = app.ledger.writes.keys(tenant).userLimits;
    await redis.del(limitsKey);
    await redis.set(limitsKey, 'not a hash');
    try {
      const put = await call('PUT', `/v1/tenants/${tenant}/user-limits`, { users: { alice: '1.00' } }, key);

      expect(put.status).toBe(500);
      expect(Object.keys(put.body).sort()).toEqual(['error', 'errorId', 'message']);
      expect(put.body).toMatchObject({
        error: 'internal_error',
        errorId: expect.stringMatching(/^[0-9a-f-]{36}$/),
      });
      expect(JSON.stringify(put.body)).not.toMatch(INTERNAL);
      const logged = lines.find((line) => line.errorId === put.body.errorId);
      expect(logged).toMatchObject({
        level: 50,
        err: expect.objectContaining({ message: expect.any(String) }),
      });
      expect(String((logged!.err as { message: string }).message)).toMatch(/WRONGTYPE/);
    } finally {
      await redis.del(limitsKey);
    }
  });
});
