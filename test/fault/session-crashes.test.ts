import { createHash } from 'node:crypto';
import Redis from 'ioredis';
import { Kafka, Partitioners, Producer } from 'kafkajs';
import { Ledger, openLedger } from '../../src/ledger/open-ledger';
import { restart } from '../../tools/stack/stack';
import {
  deploymentEnv,
  faultKafka,
  faultStack,
  kill,
  RaterProcess,
  raterUrl,
  startRater,
} from '../support/fault';
import { prepaid } from '../support/ledger';
import { apiCaller } from '../support/api-app';
import { uniqueName } from '../support/stack';
import { eventually, recentCall } from '../support/wait';

jest.setTimeout(240_000);

const OPERATOR = 'operator-token-for-session-crash-tests';
const FUNDS = 1_000_000n; // 10,000.00 USD

/**
 * Call sessions through crashes: the rater SIGKILLed, or Redis restarted (appendfsync always),
 * between the sessions' starts and their CDRs. Flat pricing: 10 minor units a started minute
 * plus 5; a grant of 60 s holds 15. Grace 1 s and a sweep every second, so a session whose
 * switch stopped talking is expired about 61 s after its start.
 */
describe('call sessions survive crashes of the rater and of Redis', () => {
  let kafka: Kafka;
  let producer: Producer;
  let redis: Redis;
  const raters: RaterProcess[] = [];

  beforeAll(async () => {
    kafka = faultKafka();
    producer = kafka.producer({ createPartitioner: Partitioners.DefaultPartitioner, idempotent: true });
    await producer.connect();
    redis = new Redis(faultStack().redis.url);
  });
  afterAll(async () => {
    await Promise.all(raters.map((r) => kill(r)));
    await producer.disconnect();
    redis.disconnect();
  });

  function sessionEnv(): Record<string, string> {
    return {
      ...deploymentEnv(),
      RATER_ROLES: 'consumer,relay,api,sweeper',
      OPERATOR_TOKEN_SHA256: createHash('sha256').update(OPERATOR).digest('hex'),
      SESSION_GRANT_SECONDS: '60',
      SESSION_GRACE_SECONDS: '1',
      SESSION_SWEEP_INTERVAL_SECONDS: '1',
    };
  }

  async function launch(env: Record<string, string>, name: string) {
    const rater = startRater(env, uniqueName(name));
    raters.push(rater);
    return { rater, url: await raterUrl(rater) };
  }

  async function setUp(env: Record<string, string>): Promise<{ ledger: Ledger; tenants: [string, string] }> {
    const ledger = openLedger(redis, { prefix: env.REDIS_KEY_PREFIX });
    const tenants: [string, string] = [uniqueName('sess-a'), uniqueName('sess-b')];
    for (const tenant of tenants) {
      await ledger.writes.upsertAccount(tenant, prepaid());
      await ledger.writes.addFunds(tenant, {
        paymentRef: 'seed',
        amount: FUNDS,
        currency: 'USD',
        purchasedAt: new Date(),
      });
    }
    return { ledger, tenants };
  }

  async function startSession(url: string, tenantId: string, usageId: string) {
    const call = apiCaller(() => url, OPERATOR);
    return call('POST', '/v1/sessions', {
      usageId,
      tenantId,
      callType: 'user_out',
      calleeNumber: '+442071234567',
      licenseCapability: 'MCOPSTNPP',
      usageCountryCode: 'US',
      userId: 'alice',
    });
  }

  const cdr = (tenantId: string, id: string, duration: number) => ({
    key: tenantId,
    value: JSON.stringify({
      id,
      tenantId,
      callType: 'user_out',
      ...recentCall(15),
      duration,
      calleeNumber: '+442071234567',
      callerNumber: '+14155550100',
      licenseCapability: 'MCOPSTNPP',
    }),
  });

  async function state(ledger: Ledger, tenant: string) {
    const account = (await ledger.reads.readAccount(tenant))!;
    const hold = BigInt((await redis.hget(ledger.keys(tenant).account, 'sessHold')) ?? '0');
    let applied = 0;
    for await (const page of ledger.reads.appliedUsages(tenant)) applied += page.length;
    return { balance: account.balance, hold, applied };
  }

  /**
   * Three sessions (a1, a2 on the first tenant, b1 on the second) started; `crash` happens;
   * CDRs for a1 (twice) and b1 come; a2's switch stops talking: the sweeper expires it after
   * its grant plus grace, then its late CDR is charged once.
   */
  async function scenario(
    name: string,
    crash: (env: Record<string, string>, rater: RaterProcess) => Promise<string>,
  ) {
    const env = sessionEnv();
    const { ledger, tenants } = await setUp(env);
    const [a, b] = tenants;
    const first = await launch(env, `${name}-1`);
    for (const [tenant, id] of [
      [a, 'a1'],
      [a, 'a2'],
      [b, 'b1'],
    ] as const) {
      expect(await startSession(first.url, tenant, `${name}-${id}`)).toMatchObject({
        status: 200,
        body: { allowed: true, reason: 'covered', grantedSeconds: 60, reserved: '0.15' },
      });
    }
    const startedAt = Date.now();
    expect(await state(ledger, a)).toEqual({ balance: FUNDS, hold: 30n, applied: 0 });
    expect(await state(ledger, b)).toEqual({ balance: FUNDS, hold: 15n, applied: 0 });

    const url = await crash(env, first.rater);
    // Nothing lost with the crash: the holds are still there, and the API answers from them.
    expect(await state(ledger, a)).toEqual({ balance: FUNDS, hold: 30n, applied: 0 });
    const call = apiCaller(() => url, OPERATOR);
    expect((await call('GET', `/v1/tenants/${a}/balance`)).body).toMatchObject({
      reserved: { amount: '0.30', currency: 'USD' },
      available: { amount: '9999.70', currency: 'USD' },
    });

    // a1: 50 s (15), delivered twice; b1: 130 s (3 minutes: 35).
    await producer.send({
      topic: env.TOPIC_USAGE_IN!,
      messages: [cdr(a, `${name}-a1`, 50), cdr(b, `${name}-b1`, 130), cdr(a, `${name}-a1`, 50)],
    });
    await eventually(
      async () => {
        expect(await state(ledger, a)).toEqual({ balance: FUNDS - 15n, hold: 15n, applied: 1 });
        expect(await state(ledger, b)).toEqual({ balance: FUNDS - 35n, hold: 0n, applied: 1 });
      },
      30_000,
      250,
    );
    expect(Date.now() - startedAt).toBeLessThan(60_000); // a2 still within its grant

    // a2 past its grant plus grace: the sweeper releases what it held.
    await eventually(
      async () => expect(await state(ledger, a)).toEqual({ balance: FUNDS - 15n, hold: 0n, applied: 1 }),
      90_000,
      250,
    );
    expect(Date.now() - startedAt).toBeGreaterThanOrEqual(60_000);
    expect(await ledger.sessions.readSession(a, `${name}-a2`)).toMatchObject({ status: 'expired', held: 0n });
    expect(await ledger.sessions.readSession(a, `${name}-a1`)).toMatchObject({ status: 'settled', held: 0n });

    // Its late CDR (40 s: 15) is charged once, and nothing is held again.
    await producer.send({
      topic: env.TOPIC_USAGE_IN!,
      messages: [cdr(a, `${name}-a2`, 40), cdr(a, `${name}-a2`, 40)],
    });
    await eventually(
      async () => expect(await state(ledger, a)).toEqual({ balance: FUNDS - 30n, hold: 0n, applied: 2 }),
      30_000,
      250,
    );
    expect(await state(ledger, b)).toEqual({ balance: FUNDS - 35n, hold: 0n, applied: 1 });
    expect((await call('GET', `/v1/tenants/${a}/balance`)).body).toMatchObject({
      reserved: { amount: '0.00', currency: 'USD' },
      available: { amount: '9999.70', currency: 'USD' },
    });
  }

  it('the rater SIGKILLed between the starts and the CDRs: charged once, the silent session expired', async () => {
    await scenario('kill', async (env, rater) => {
      await kill(rater);
      return (await launch(env, 'kill-2')).url;
    });
  });

  it('Redis restarted between the starts and the CDRs: charged once, the silent session expired', async () => {
    await scenario('redis', async (env, rater) => {
      await restart('redis', faultStack().dir);
      await redis.ping();
      return raterUrl(rater);
    });
  });
});
