import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Kafka, Partitioners, Producer } from 'kafkajs';
import type { App } from '../../src/app';
import { RatingPricer } from '../../src/settlement/rating-pricer';
import { CallEvent, callLengths, Callee, placeCalls, startCallee } from '../../tools/sip/sipp';
import { SipSwitch, startSwitch, switchLogTail } from '../../tools/sip/switch';
import { apiCaller, startApiApp } from '../support/api-app';
import { perSecondBook } from '../support/rate-books';
import { consumeMessages, createTopics, testKafka, uniqueName } from '../support/stack';
import { eventually } from '../support/wait';

/**
 * Real SIP calls through Kamailio (deploy/kamailio/kamailio.cfg) to a SIPp callee, placed by
 * SIPp callers, with the rater's call sessions deciding: refusals answered with the reason,
 * calls cut when the credit runs out (BYE to both legs), concurrent calls sharing one balance,
 * the burst guard stopping a user mid-burst, and the CDRs settling every session exactly.
 * Outbound USD is billed by the second here, so that a few cents last a few seconds.
 */

const OPERATOR = 'operator-secret-token-for-the-sip-switch';
/** Nigeria mobile: 0.4848 USD a minute, so a second costs a cent (0.0081, rounded). */
const MOBILE = '+2348031234567';
const book = perSecondBook();

interface Answered {
  id: string;
  tenant: string;
  user: string;
  start: Date;
  seconds: number;
}

describe('the Kamailio switch on the call sessions', () => {
  let app: App;
  let kafka: Kafka;
  let producer: Producer;
  let sipSwitch: SipSwitch;
  let callee: Callee;
  let dir: string;
  const topics = {
    usageIn: uniqueName('sip-cdr'),
    ratedOut: uniqueName('sip-rated'),
    events: uniqueName('sip-events'),
    dlq: uniqueName('sip-dlq'),
  };
  const call = apiCaller(() => app.url, OPERATOR);
  /** Every call answered, for the CDRs of the last test; the funds each tenant got. */
  const answered: Answered[] = [];
  const funded = new Map<string, bigint>();

  beforeAll(async () => {
    dir = mkdtempSync(join(tmpdir(), 'sip-switch-'));
    kafka = testKafka();
    const admin = kafka.admin();
    await admin.connect();
    await createTopics(admin, Object.values(topics), 1);
    await admin.disconnect();
    app = await startApiApp({
      operatorToken: OPERATOR,
      keyPrefix: `${uniqueName('sip')}:`,
      book,
      env: {
        RATER_ROLES: 'api,consumer',
        KAFKA_GROUP_ID: uniqueName('sip-rater'),
        TOPIC_USAGE_IN: topics.usageIn,
        TOPIC_RATED_OUT: topics.ratedOut,
        TOPIC_EVENTS_OUT: topics.events,
        TOPIC_DEAD_LETTER: topics.dlq,
        SESSION_GRANT_SECONDS: '60',
      },
    });
    callee = await startCallee(dir);
    sipSwitch = await startSwitch({
      raterUrl: app.url,
      token: OPERATOR,
      gateway: `sip:127.0.0.1:${callee.port}`,
      dir,
    });
    producer = kafka.producer({ createPartitioner: Partitioners.DefaultPartitioner });
    await producer.connect();
  });

  afterAll(async () => {
    await sipSwitch?.stop();
    await callee?.stop();
    await producer?.disconnect();
    await app?.stop();
    rmSync(dir, { recursive: true, force: true });
  });

  /** A prepaid USD tenant with `cents` of credits (none when 0). */
  const tenantWith = async (prefix: string, cents: number) => {
    const tenant = uniqueName(prefix);
    expect(
      (await call('PUT', `/v1/tenants/${tenant}`, { billingMode: 'prepaid', currency: 'USD' })).status,
    ).toBe(201);
    if (cents > 0) await addFunds(tenant, cents);
    funded.set(tenant, BigInt(cents));
    return tenant;
  };
  const addFunds = async (tenant: string, cents: number) => {
    await app.ledger.writes.addFunds(tenant, {
      paymentRef: uniqueName('p'),
      amount: BigInt(cents),
      currency: 'USD',
    });
    funded.set(tenant, (funded.get(tenant) ?? 0n) + BigInt(cents));
  };
  /** The longest call to a Nigerian mobile that `tenant`'s credit pays for, as the rater says. */
  const affords = async (tenant: string) => {
    const answer = await call('POST', '/v1/authorize', {
      tenantId: tenant,
      callType: 'user_out',
      calleeNumber: MOBILE,
      licenseCapability: 'MCOPSTNPP',
      usageCountryCode: 'US',
    });
    return Number(answer.body.maxSeconds);
  };
  /** `tenant`'s balance and what its sessions hold (reserved), in cents, as the API shows them. */
  const holding = async (tenant: string) => {
    const { status, body } = await call('GET', `/v1/tenants/${tenant}/balance`);
    if (status !== 200) throw new Error(`balance of ${tenant}: ${status} ${JSON.stringify(body)}`);
    const cents = (money: unknown) => {
      const amount = String((money as { amount: string }).amount);
      const [whole = '0', fraction = ''] = amount.replace('-', '').split('.');
      const value = BigInt(whole) * 100n + BigInt(`${fraction}00`.slice(0, 2));
      return amount.startsWith('-') ? -value : value;
    };
    return { held: cents(body.reserved), balance: cents(body.balance) };
  };

  /** Places calls from `user` of `tenant` to a Nigerian mobile; remembers the answered ones. */
  const dial = (
    scenario: 'uac-cut' | 'uac-hangup',
    tenant: string,
    user: string,
    options: { calls?: number; concurrent?: number; holdMs?: number; ratePerSecond?: number } = {},
  ) => dialFrom(scenario, [{ tenant, user }], options);
  /** Calls from each of `callers` in turn (call n from callers[(n - 1) % length]). */
  const dialFrom = async (
    scenario: 'uac-cut' | 'uac-hangup',
    callers: { tenant: string; user: string }[],
    options: { calls?: number; concurrent?: number; holdMs?: number; ratePerSecond?: number } = {},
  ) => {
    const start = new Date();
    const prefix = uniqueName('call');
    const result = await placeCalls({
      scenario,
      switchPort: sipSwitch.port,
      callers,
      callee: MOBILE,
      calls: options.calls ?? 1,
      concurrent: options.concurrent,
      holdMs: options.holdMs,
      ratePerSecond: options.ratePerSecond,
      callIdPrefix: prefix,
      dir,
      timeoutSeconds: 45,
    });
    if (result.exitCode !== 0)
      throw new Error(`sipp exited ${result.exitCode}\n${result.output}\n${switchLogTail(sipSwitch)}`);
    for (const [id, seconds] of callLengths(result.events)) {
      const caller = callers[(Number(id.slice(prefix.length + 1)) - 1) % callers.length]!;
      answered.push({ id, ...caller, start, seconds });
    }
    return result.events;
  };
  const refusals = (events: CallEvent[]) =>
    events.flatMap((e) => (e.kind === 'refused' ? [{ code: e.code, reason: e.reason }] : []));
  const byes = (events: CallEvent[], id: string) => events.filter((e) => e.kind === 'bye' && e.callId === id);

  it('refuses a call of a tenant without credit, or unknown, with the reason', async () => {
    const broke = await tenantWith('broke', 0);
    const refused = await dial('uac-cut', broke, 'alice', { calls: 2 });
    expect(refusals(refused)).toEqual([
      { code: 402, reason: 'balance_depleted' },
      { code: 402, reason: 'balance_depleted' },
    ]);
    const unknown = await dial('uac-cut', uniqueName('ghost'), 'alice');
    expect(refusals(unknown)).toEqual([{ code: 403, reason: 'unknown_tenant' }]);
    expect(callee.events()).toEqual([]);
    expect(answered).toEqual([]);
  });

  it('renews the grant while credit lasts, and cuts the call (BYE to both legs) when it runs out', async () => {
    // Six cents first; six more arrive while the call runs, so the renewal grants more.
    const tenant = await tenantWith('cut', 6);
    const twin = await tenantWith('twin', 12);
    const first = await affords(tenant);
    const whole = await affords(twin);
    expect(first).toBeGreaterThan(3);
    expect(whole).toBeGreaterThan(first + 2);
    expect(whole).toBeLessThan(30);

    const placed = dial('uac-cut', tenant, 'carol');
    await eventually(() => expect(callee.events().some((e) => e.kind === 'answered')).toBe(true), 5_000);
    await addFunds(tenant, 6);
    const events = await placed;

    const [cut] = answered.filter((a) => a.tenant === tenant);
    expect(cut).toBeDefined();
    expect(Math.abs(cut!.seconds - whole)).toBeLessThanOrEqual(1);
    expect(byes(events, cut!.id)).toHaveLength(1);
    await eventually(() => expect(byes(callee.events(), cut!.id)).toHaveLength(1), 3_000);
    // The session ended (with the seconds used): it holds their price until the CDR.
    await eventually(
      async () => expect((await app.ledger.sessions.readSession(tenant, cut!.id))?.status).toBe('ended'),
      3_000,
    );
  }, 45_000);

  it('cuts thirty calls at once, each caller and each callee getting its BYE', async () => {
    // Thirty tenants with 3 cents each (a few seconds): the dialog module's BYE race shows
    // when many calls are cut together.
    const callers = await Promise.all(
      Array.from({ length: 30 }, async (_, i) => ({ tenant: await tenantWith('many', 3), user: `u${i}` })),
    );
    const affordable = await affords(callers[0]!.tenant);
    expect(affordable).toBeGreaterThanOrEqual(2);
    const events = await dialFrom('uac-cut', callers, { calls: 30, concurrent: 30, ratePerSecond: 30 });
    const lengths = callLengths(events);
    expect(lengths.size).toBe(30);
    for (const seconds of lengths.values()) expect(Math.abs(seconds - affordable)).toBeLessThanOrEqual(1);
    for (const id of lengths.keys()) expect(byes(events, id)).toHaveLength(1);
    await eventually(() => {
      for (const id of lengths.keys()) expect(byes(callee.events(), id)).toHaveLength(1);
    }, 3_000);
  }, 30_000);

  it('never grants concurrent calls more than the balance, nor more calls than the cap', async () => {
    // 0.75: the first call's grant of 60 s holds 0.48, the second gets what 0.27 pays (33 s),
    // the third nothing.
    const tenant = await tenantWith('shared', 75);
    let most = 0n;
    let polling = true;
    const poll = (async () => {
      while (polling) {
        const { held } = await holding(tenant);
        if (held > most) most = held;
        await new Promise((resolve) => setTimeout(resolve, 100));
      }
    })();
    let events: CallEvent[];
    try {
      events = await dial('uac-hangup', tenant, 'dave', { calls: 3, concurrent: 3, holdMs: 3_000 });
    } finally {
      polling = false;
      await poll;
    }
    expect(events.filter((e) => e.kind === 'answered')).toHaveLength(2);
    expect(events.filter((e) => e.kind === 'hangup')).toHaveLength(2);
    expect(refusals(events)).toEqual([{ code: 402, reason: 'balance_depleted' }]);
    expect(most).toBe(75n);

    // A cap of two calls in progress for the tenant: the third is busy.
    const capped = await tenantWith('capped', 100);
    const caps = await call('PUT', `/v1/tenants/${capped}/user-limits`, {
      concurrentCalls: { perTenant: 2 },
    });
    expect(caps.status).toBe(200);
    const busy = await dial('uac-hangup', capped, 'erin', { calls: 3, concurrent: 3, holdMs: 2_000 });
    expect(busy.filter((e) => e.kind === 'answered')).toHaveLength(2);
    expect(refusals(busy)).toEqual([{ code: 486, reason: 'concurrent_calls' }]);
  }, 30_000);

  it('stops a user mid-burst (the burst guard), other users still call', async () => {
    const tenant = await tenantWith('burst', 100);
    const guard = await call('PUT', `/v1/tenants/${tenant}/user-limits`, {
      burstGuard: { windowMinutes: 60, maxInternationalCalls: 2 },
    });
    expect(guard.status).toBe(200);
    const burst = await dial('uac-hangup', tenant, 'mallory', { calls: 4, concurrent: 1, holdMs: 300 });
    expect(burst.map((e) => (e.kind === 'refused' ? `${e.code} ${e.reason}` : e.kind))).toEqual([
      'answered',
      'hangup',
      'answered',
      'hangup',
      '403 user_blocked',
      '403 user_blocked',
    ]);
    const other = await dial('uac-hangup', tenant, 'bob', { holdMs: 300 });
    expect(other.map((e) => e.kind)).toEqual(['answered', 'hangup']);
  }, 30_000);

  it('settles every session exactly by its CDR: balances charged once, nothing held after', async () => {
    expect(answered.length).toBeGreaterThanOrEqual(5);
    const cdrs = answered.map((a) => ({
      id: a.id,
      tenantId: a.tenant,
      callId: a.id,
      userId: a.user,
      callType: 'user_out' as const,
      callerNumber: '+12065550100',
      calleeNumber: MOBILE,
      licenseCapability: 'MCOPSTNPP',
      usageCountryCode: 'US',
      startDateTime: a.start.toISOString(),
      duration: Math.round(a.seconds),
    }));
    await producer.send({
      topic: topics.usageIn,
      messages: cdrs.map((cdr) => ({ key: cdr.tenantId, value: JSON.stringify(cdr) })),
    });
    const rated = (await consumeMessages(kafka, topics.ratedOut, cdrs.length, 30_000)).map(
      (m) => JSON.parse(m.value!.toString()) as { id: string; tenantId: string; charge: string },
    );
    expect(rated.map((r) => r.id).sort()).toEqual(cdrs.map((c) => c.id).sort());

    const pricer = new RatingPricer(book);
    for (const tenant of new Set(cdrs.map((c) => c.tenantId))) {
      const charges = cdrs
        .filter((c) => c.tenantId === tenant)
        .map((c) => {
          const price = pricer.price(c, 'USD', 0);
          if (price.kind !== 'priced') throw new Error(`unpriced ${c.id}`);
          return price.charge;
        });
      const expected = funded.get(tenant)! - charges.reduce((a, b) => a + b, 0n);
      // The tenant and its calls are in both sides, so that a failure names them.
      const calls = cdrs.filter((c) => c.tenantId === tenant).map((c) => `${c.id} ${c.duration} s`);
      await eventually(
        async () =>
          expect({ tenant, calls, ...(await holding(tenant)) }).toEqual({
            tenant,
            calls,
            held: 0n,
            balance: expected,
          }),
        10_000,
      );
    }
  }, 45_000);
});
