import type { App } from '../../src/app';
import { fingerprint } from '../../src/settlement/rated-details';
import { RatingPricer } from '../../src/settlement/rating-pricer';
import { TenantSettlement } from '../../src/settlement/settle-tenant';
import type { UsageRecord } from '../../src/rating';
import { newApiKey } from '../../src/api/auth';
import { startApiApp } from '../support/api-app';
import { ledgerFixture, LedgerFixture, prepaid } from '../support/ledger';
import { correctBook, wrongBook } from '../support/rate-books';
import { consumeMessages, createTopics, testKafka, uniqueName } from '../support/stack';
import { recentCall } from '../support/wait';

const OPERATOR = 'operator-token-for-rerate-tests';

/**
 * POST /v1/rerates on the running service (the shipped, correct decks) over calls charged
 * with a wrong UK rate: operator only, a dry run that changes nothing, then the real run with
 * its records on the rated topic.
 */
describe('the re-rating route', () => {
  let f: LedgerFixture;
  let app: App;
  const tenant = uniqueName('rerate');
  const ratedTopic = uniqueName('rated');
  const kafka = testKafka();
  const calls: UsageRecord[] = [1, 2].map((n) => ({
    id: `${tenant}-c${n}`,
    tenantId: tenant,
    callType: 'user_out',
    ...recentCall(2, n + 2),
    duration: 90,
    calleeNumber: '+442071234567',
    licenseCapability: 'MCOPSTNPP',
    usageCountryCode: 'US',
  }));
  const period = { from: new Date(Date.now() - 24 * 3_600_000).toISOString(), to: new Date().toISOString() };

  beforeAll(async () => {
    f = ledgerFixture();
    f.clock.set(new Date().toISOString());
    await f.ledger.writes.upsertAccount(tenant, prepaid());
    await f.ledger.writes.addFunds(tenant, {
      paymentRef: 'p1',
      amount: 1000n,
      currency: 'USD',
      purchasedAt: f.clock.now,
    });
    const settlement = new TenantSettlement({
      ledger: f.ledger.writes,
      pricer: new RatingPricer(wrongBook()),
      maxUsagesPerApply: 10,
    });
    await settlement.settle(
      tenant,
      calls.map((record) => ({ record, fingerprint: fingerprint(record) })),
    );
    const admin = kafka.admin();
    await admin.connect();
    await createTopics(admin, [ratedTopic]);
    await admin.disconnect();
    app = await startApiApp({
      operatorToken: OPERATOR,
      keyPrefix: f.prefix,
      book: correctBook(),
      env: { TOPIC_RATED_OUT: ratedTopic },
    });
  });
  afterAll(async () => {
    await app.stop();
    f.close();
  });

  const post = (body: unknown, token = OPERATOR) =>
    fetch(`${app.url}/v1/rerates`, {
      method: 'POST',
      headers: { authorization: `Bearer ${token}`, 'content-type': 'application/json' },
      body: JSON.stringify(body),
    });
  const balance = async () => (await f.ledger.reads.readAccount(tenant))!.balance;

  it('is for the operator only, and refuses an empty period', async () => {
    const key = newApiKey(tenant);
    await f.ledger.apiKeys.storeApiKeyDigest(tenant, key.keyId, key.digest);
    expect((await post({ ...period, tenantId: tenant }, 'nobody')).status).toBe(401);
    expect((await post({ ...period, tenantId: tenant }, key.token)).status).toBe(403);
    const empty = await post({ from: period.to, to: period.from });
    expect(empty.status).toBe(400);
    expect(await empty.json()).toMatchObject({ message: 'body/to must be after body/from' });
    expect((await post({ ...period, dryRun: 'yes' })).status).toBe(400);
    expect(await balance()).toBe(600n);
  });

  it('reports a dry run per tenant and changes nothing; the real run refunds once and publishes', async () => {
    const dry = await post({ ...period, tenantId: tenant, dryRun: true });
    expect(dry.status).toBe(200);
    const report = (await dry.json()) as { revision: string };
    expect(report).toEqual({
      revision: expect.stringMatching(/^rr-/),
      from: period.from,
      to: period.to,
      dryRun: true,
      complete: true,
      tenants: [
        {
          tenantId: tenant,
          examined: 2,
          calls: 2,
          oldTotal: { amount: '4.00', currency: 'USD' },
          newTotal: { amount: '0.14', currency: 'USD' },
          difference: { amount: '-3.86', currency: 'USD' },
          unpriced: [],
          refused: [],
        },
      ],
    });
    expect(await balance()).toBe(600n);

    const real = await post({ ...period, tenantId: tenant });
    expect(real.status).toBe(200);
    expect(await real.json()).toMatchObject({ revision: report.revision, dryRun: false, complete: true });
    expect(await balance()).toBe(986n);
    expect(await (await post({ ...period, tenantId: tenant })).json()).toMatchObject({
      tenants: [{ calls: 2, difference: { amount: '-3.86' } }],
    });
    expect(await balance()).toBe(986n);

    const messages = await consumeMessages(kafka, ratedTopic, 2);
    expect(
      messages
        .map((m) => ({
          key: m.key?.toString(),
          rerate: m.headers?.['x-rerate']?.toString(),
          ...JSON.parse(m.value!.toString()),
        }))
        .sort((a, b) => (a.id < b.id ? -1 : 1)),
    ).toEqual(
      calls.map((c) =>
        expect.objectContaining({
          key: tenant,
          rerate: 'true',
          id: c.id,
          charge: '0.07',
          previousCharge: '2.00',
          revision: report.revision,
        }),
      ),
    );
  });
});
