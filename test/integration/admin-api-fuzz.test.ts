import { spawn } from 'node:child_process';
import { existsSync, mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { parse } from 'yaml';
import type { App } from '../../src/app';
import { testStack, uniqueName } from '../support/stack';
import { shippedBook, startApiApp } from '../support/api-app';

const ROOT = join(__dirname, '..', '..');
const FUZZ = join(ROOT, 'test', 'fuzz');
const SCHEMATHESIS = join(ROOT, '.cache', 'fuzz-venv', 'bin', 'st');
const OPERATOR = 'operator-token-of-the-fuzz-test';

/** Every check that holds for this API, and the ledger check of test/fuzz/hooks.py. Left out:
 *  positive_data_acceptance (a valid request may still be refused: an unknown tenant, another
 *  currency) and unsupported_method (an undocumented method is a 404, not a 405). */
const CHECKS = [
  'not_a_server_error',
  'status_code_conformance',
  'content_type_conformance',
  'response_schema_conformance',
  'response_headers_conformance',
  'negative_data_rejection',
  'ignored_auth',
  'rejected_request_left_ledger_alone',
];

/**
 * The admin API fuzzed with schemathesis from the OpenAPI document the service serves (the
 * one in the repository, as the first test checks): every phase (examples, coverage with
 * negative data, fuzzing, stateful), a fixed seed and a bounded number of cases per operation.
 * It must answer no 5xx, nothing the document does not describe, and no request it refuses
 * (4xx) may change the ledger: test/fuzz/hooks.py compares every Redis key under the
 * service's prefix around each request. The service runs only its api role, so nothing else
 * writes under that prefix. Settings shared by both runs are in test/fuzz/schemathesis.toml.
 */
describe('admin API fuzzed from its own OpenAPI document (schemathesis)', () => {
  const prefix = `${uniqueName('fuzz')}:`;
  let app: App;
  let tenantKey: string;

  const call = async (method: string, path: string, body?: unknown) => {
    const response = await fetch(`${app.url}${path}`, {
      method,
      headers: {
        authorization: `Bearer ${OPERATOR}`,
        ...(body ? { 'content-type': 'application/json' } : {}),
      },
      body: body ? JSON.stringify(body) : undefined,
    });
    const json = (await response.json()) as Record<string, unknown>;
    if (response.status >= 300)
      throw new Error(`${method} ${path}: ${response.status} ${JSON.stringify(json)}`);
    return json;
  };

  beforeAll(async () => {
    if (!existsSync(SCHEMATHESIS))
      throw new Error(
        `${SCHEMATHESIS} is missing: source scripts/bootstrap.sh installs test/fuzz/requirements.txt`,
      );
    // A tenant needs every deck kind in its currency: the shipped decks plus the USD ones
    // priced as JPY, for a tenant in a currency without decimals.
    const jpy = shippedBook.decks
      .filter((deck) => deck.currency === 'USD')
      .map((deck) => ({ ...deck, id: deck.id.replace('usd', 'jpy'), currency: 'JPY' }));
    const book = { ...shippedBook, decks: [...shippedBook.decks, ...jpy] };
    // The simulated gateway approves contoso's card: purchases are fuzzed like every route.
    app = await startApiApp({
      operatorToken: OPERATOR,
      keyPrefix: prefix,
      book,
      env: { PAYMENT_GATEWAY: 'simulated' },
    });

    // The tenants of the fuzzer's dictionary (test/fuzz/schemathesis.toml): prepaid with funds
    // and a minute pool, prepaid without funds in a currency without decimals, and postpaid
    // with usage to list and a statement to show.
    await call('PUT', '/v1/tenants/contoso', {
      billingMode: 'prepaid',
      currency: 'USD',
      lowBalanceThreshold: '5.00',
      autoRecharge: { enabled: true, triggerAmount: '2.00', rechargeAmount: '20.00' },
      paymentMethodRef: 'pm_card_visa',
      licences: [{ capability: 'MCOPSTN1', country: 'US', users: 2 }],
    });
    await call('POST', '/v1/tenants/contoso/adjustments', {
      adjustmentId: 'inv-1',
      amount: '25.50',
      currency: 'USD',
      reason: 'opening balance',
      madeBy: 'fuzz setup',
    });
    await call('PUT', '/v1/tenants/fabrikam', { billingMode: 'prepaid', currency: 'JPY' });
    await call('PUT', '/v1/tenants/adatum', { billingMode: 'postpaid', currency: 'EUR' });
    const period = new Date().toISOString().slice(0, 7);
    await app.ledger.writes.applyUsage('adatum', {
      currency: 'EUR',
      poolUse: {},
      usages: ['a1', 'a2', 'a3'].map((id) => ({
        id,
        start: new Date(),
        source: 'postpaid' as const,
        charge: 125n,
        pool: '',
        poolSeconds: 0,
        period,
      })),
    });
    tenantKey = (await call('POST', '/v1/tenants/contoso/api-keys')).apiKey as string;
  });
  afterAll(() => app?.stop());

  /** Runs `st run` against the served document; resolves with its exit code and its report. */
  const schemathesis = (args: string[], timeoutMs: number) =>
    new Promise<{ status: number | null; report: string; ms: number }>((resolve, reject) => {
      const started = Date.now();
      // Its own working directory: hypothesis keeps a folder there, deleted afterwards.
      const cwd = mkdtempSync(join(tmpdir(), 'rater-fuzz-'));
      const child = spawn(
        SCHEMATHESIS,
        [
          '--config-file',
          join(FUZZ, 'schemathesis.toml'),
          'run',
          `${app.url}/v1/openapi.json`,
          '--no-color',
          '--checks',
          CHECKS.join(','),
          ...args,
        ],
        {
          cwd,
          env: {
            PATH: process.env.PATH,
            HOME: process.env.HOME,
            COLUMNS: '120',
            PYTHONDONTWRITEBYTECODE: '1',
            SCHEMATHESIS_HOOKS: join(FUZZ, 'hooks.py'),
            FUZZ_REDIS_URL: testStack().redis.url,
            FUZZ_REDIS_KEY_PREFIX: prefix,
          },
        },
      );
      let report = '';
      child.stdout.on('data', (chunk: Buffer) => (report += chunk.toString()));
      child.stderr.on('data', (chunk: Buffer) => (report += chunk.toString()));
      const timer = setTimeout(() => {
        report += `\n(stopped after ${timeoutMs} ms)`;
        child.kill('SIGKILL');
      }, timeoutMs);
      child.on('error', reject);
      child.on('close', (status) => {
        clearTimeout(timer);
        rmSync(cwd, { recursive: true, force: true });
        resolve({ status, report, ms: Date.now() - started });
      });
    });

  const expectClean = (run: { status: number | null; report: string }) => {
    // The whole report, failures and the curl commands that reproduce them, is the message.
    if (run.status !== 0) throw new Error(`schemathesis exited with ${run.status}:\n\n${run.report}`);
    expect(run.report).toMatch(/\d+ generated, \d+ passed/);
  };

  it('is served as it is in the repository', async () => {
    const served = (await (await fetch(`${app.url}/v1/openapi.json`)).json()) as unknown;
    expect(served).toEqual(parse(readFileSync(join(ROOT, 'openapi', 'admin-api.yaml'), 'utf8')));
  });

  it('holds for the operator, on every operation', async () => {
    expectClean(
      await schemathesis(['--header', `Authorization: Bearer ${OPERATOR}`, '--max-examples', '40'], 240_000),
    );
  }, 250_000);

  it("holds for a tenant admin's API key: its own tenant, 403 for the others and for operator actions", async () => {
    expectClean(
      await schemathesis(['--header', `Authorization: Bearer ${tenantKey}`, '--max-examples', '25'], 240_000),
    );
  }, 250_000);
});
