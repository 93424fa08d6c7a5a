import type { App } from '../../src/app';
import { keysCommand, tokenCommand } from '../../src/api/keys-cli';
import { tenantCommand } from '../../src/api/tenant-cli';
import { createHash } from 'node:crypto';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { runCommand as run } from '../support/cli-run';
import { uniqueName } from '../support/stack';
import { apiCaller, startApiApp } from '../support/api-app';
import { consoleSignIn } from '../support/console-sign-in';

const OPERATOR = 'operator-secret-token-for-keys';

describe('API keys: issued, listed and revoked by the operator, from the API and the command line', () => {
  let app: App;
  const tenant = uniqueName('keys');
  const call = apiCaller(() => app.url, OPERATOR);

  beforeAll(async () => {
    app = await startApiApp({ operatorToken: OPERATOR, keyPrefix: `${uniqueName('keys')}:` });
    expect(
      (await call('PUT', `/v1/tenants/${tenant}`, { billingMode: 'prepaid', currency: 'USD' })).status,
    ).toBe(201);
  });
  afterAll(() => app.stop());

  it('lists live keys without the keys themselves, and a revoked key is refused at once by the API and the console', async () => {
    const first = (await call('POST', `/v1/tenants/${tenant}/api-keys`)).body as {
      keyId: string;
      apiKey: string;
    };
    const second = (await call('POST', `/v1/tenants/${tenant}/api-keys`)).body as {
      keyId: string;
      apiKey: string;
    };
    const listed = await call('GET', `/v1/tenants/${tenant}/api-keys`);
    expect(listed.status).toBe(200);
    expect(listed.body.keys).toEqual([
      { keyId: first.keyId, createdAt: expect.stringMatching(/^\d{4}-\d\d-\d\dT/) },
      { keyId: second.keyId, createdAt: expect.stringMatching(/^\d{4}-\d\d-\d\dT/) },
    ]);
    expect(JSON.stringify(listed.body)).not.toContain(first.apiKey.slice(-20));

    const cookie = await consoleSignIn(app.url, first.apiKey);
    const home = `${app.url}/console/t/${tenant}`;
    expect((await fetch(home, { headers: { cookie }, redirect: 'manual' })).status).toBe(200);
    expect((await call('GET', `/v1/tenants/${tenant}/balance`, undefined, first.apiKey)).status).toBe(200);

    // A tenant key may not list or revoke keys, its own included.
    expect((await call('GET', `/v1/tenants/${tenant}/api-keys`, undefined, first.apiKey)).status).toBe(403);
    expect(
      (await call('DELETE', `/v1/tenants/${tenant}/api-keys/${second.keyId}`, undefined, first.apiKey))
        .status,
    ).toBe(403);

    expect((await call('DELETE', `/v1/tenants/${tenant}/api-keys/${first.keyId}`)).status).toBe(204);
    expect((await call('GET', `/v1/tenants/${tenant}/balance`, undefined, first.apiKey)).status).toBe(401);
    const after = await fetch(home, { headers: { cookie }, redirect: 'manual' });
    expect(after.status).toBe(303);
    expect(after.headers.get('location')).toContain('/console/sign-in');
    expect((await call('GET', `/v1/tenants/${tenant}/balance`, undefined, second.apiKey)).status).toBe(200);
    expect((await call('GET', `/v1/tenants/${tenant}/api-keys`)).body.keys).toEqual([
      { keyId: second.keyId, createdAt: expect.any(String) },
    ]);

    // Revoking again, or a key of no tenant, is a 404; a malformed key id a 400 naming it.
    expect((await call('DELETE', `/v1/tenants/${tenant}/api-keys/${first.keyId}`)).body).toEqual({
      error: 'unknown_key',
      message: `tenant ${tenant} has no key ${first.keyId}`,
    });
    expect((await call('DELETE', `/v1/tenants/nobody-${tenant}/api-keys/${first.keyId}`)).status).toBe(404);
    const malformed = await call('DELETE', `/v1/tenants/${tenant}/api-keys/not-a-key`);
    expect(malformed.status).toBe(400);
    expect(String(malformed.body.message)).toContain('params/keyId');
  });

  it('rater keys create, list and revoke; a 401 says which credential is missing', async () => {
    const cli = (...args: string[]) => run(keysCommand(), ['--url', app.url, ...args]);
    const created = await cli('--token', OPERATOR, 'create', tenant);
    expect(created.code).toBe(0);
    const token = created.out[1]!;
    const keyId = /^key ([0-9a-f]{12}) for /.exec(created.out[0]!)![1]!;
    expect(token).toMatch(new RegExp(`^rtk\\.${tenant}\\.${keyId}\\.`));

    const listed = await cli('--token', OPERATOR, 'list', tenant);
    expect(listed.out[0]).toMatch(/^KEY ID\s+ISSUED$/);
    expect(listed.out.some((line) => line.startsWith(`${keyId}  20`))).toBe(true);
    const json = await cli('--token', OPERATOR, '--json', 'list', tenant);
    expect(JSON.parse(json.out.join('\n')).keys).toContainEqual({ keyId, createdAt: expect.any(String) });

    expect(await cli('--token', OPERATOR, 'revoke', tenant, keyId)).toEqual({
      out: [`key ${keyId} of ${tenant} revoked`],
      err: [],
      code: 0,
    });
    expect((await call('GET', `/v1/tenants/${tenant}/balance`, undefined, token)).status).toBe(401);

    const anonymous = await cli('list', tenant);
    expect(anonymous.code).toBe(1);
    expect(anonymous.err.at(-1)).toBe(
      'no credentials: set RATER_TOKEN (or --token) to the operator token or a tenant API key',
    );
    const wrong = await cli('--token', 'not-a-token', 'list', tenant);
    expect(wrong.err.at(-1)).toContain('the token was refused: RATER_TOKEN (or --token) must be');
  });

  it("rater tenant adjust uses the tenant's own currency when none is given", async () => {
    const adjusted = await run(tenantCommand(), [
      '--url',
      app.url,
      '--token',
      OPERATOR,
      'adjust',
      tenant,
      '--amount',
      '2.50',
      '--id',
      'goodwill-1',
      '--reason',
      'goodwill',
      '--made-by',
      'ops@rater.example',
    ]);
    expect(adjusted.code).toBe(0);
    expect(JSON.parse(adjusted.out.join('\n'))).toMatchObject({
      adjustmentId: 'goodwill-1',
      duplicate: false,
    });
    expect((await call('GET', `/v1/tenants/${tenant}/balance`)).body.balance).toEqual({
      amount: '2.50',
      currency: 'USD',
    });
    const shown = await run(tenantCommand(), ['--url', app.url, '--token', OPERATOR, 'show', tenant]);
    expect(shown.out.slice(0, 3)).toEqual([
      `${tenant} (prepaid)`,
      'balance    2.50 USD',
      'reserved   0.00 USD by calls in progress; available 2.50 USD',
    ]);
    expect(shown.out).toContainEqual(
      expect.stringMatching(/^m:goodwill-1 +manual +2\.50 USD +\d{4}-\d\d-\d\d +active$/),
    );
  });

  it('rater token new prints a token whose SHA-256 it writes into an env file', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'token-'));
    try {
      const envFile = join(dir, '.env');
      writeFileSync(envFile, 'KAFKA_BROKERS=kafka:9092\nOPERATOR_TOKEN_SHA256=old\n');
      const made = await run(tokenCommand(), ['new', '--env-file', envFile]);
      const token = /^operator token \(shown once, keep it secret\): (rop\.[A-Za-z0-9_-]{43})$/.exec(
        made.out[0]!,
      )![1]!;
      const sha = createHash('sha256').update(token).digest('hex');
      expect(made.out[1]).toBe(`OPERATOR_TOKEN_SHA256=${sha}`);
      expect(readFileSync(envFile, 'utf8')).toBe(`KAFKA_BROKERS=kafka:9092\nOPERATOR_TOKEN_SHA256=${sha}\n`);
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });
});
