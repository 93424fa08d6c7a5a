import { Kafka, Partitioners, Producer } from 'kafkajs';
import { ExpirySweeper } from '../../../src/workers/expiry-sweeper';
import { subscribeToEvents } from '../../../src/kafka/event-subscriber';
import { Notifier } from '../../../src/workers/notifier';
import { OutboxRelay } from '../../../src/kafka/outbox-relay';
import { SimulatedGateway } from '../../../src/payments/gateway';
import { RechargeWorker } from '../../../src/workers/recharge-worker';
import { applyPaid, ledgerFixture, LedgerFixture, paid, prepaid, startIn } from '../../support/ledger';
import { startMailbox } from '../../../tools/demo/mailbox';
import { consumeMessages, createTopics, testKafka, uniqueName } from '../../support/stack';
import { eventually } from '../../support/wait';

describe('recharge worker, notifier and expiry sweeper on the real stack', () => {
  let kafka: Kafka;
  let producer: Producer;
  let f: LedgerFixture;
  let mailbox: Awaited<ReturnType<typeof startMailbox>>;
  let gateway: SimulatedGateway;
  let relay: OutboxRelay;
  const stops: (() => Promise<void>)[] = [];
  const topic = uniqueName('credits-events');

  beforeAll(async () => {
    kafka = testKafka();
    const admin = kafka.admin();
    await admin.connect();
    await createTopics(admin, [topic], 3);
    await admin.disconnect();
    producer = kafka.producer({ createPartitioner: Partitioners.DefaultPartitioner, idempotent: true });
    await producer.connect();
    f = ledgerFixture();
    mailbox = await startMailbox();
    gateway = new SimulatedGateway(1);

    relay = new OutboxRelay({
      ledger: f.ledger,
      producer,
      topic,
      source: '/rater/credits',
      sweepIntervalMs: 200,
    });
    relay.start();
    const worker = new RechargeWorker({
      ledger: f.ledger,
      gateway,
      retryDelayMs: 10,
      onRecorded: (tenant) => relay.poke(tenant),
    });
    const notifier = new Notifier({
      ledger: f.ledger,
      transport: mailbox.transport,
      from: 'credits@rater.example',
      notifyLowBalance: false,
    });
    for (const [group, handler] of [
      ['recharge', worker],
      ['notifier', notifier],
    ] as const) {
      const subscription = await subscribeToEvents({
        kafka,
        groupId: uniqueName(group),
        topic,
        handle: (e) => handler.handle(e),
        fromBeginning: true,
      });
      stops.push(subscription.stop);
    }
  });

  afterAll(async () => {
    await relay.stop();
    await Promise.all(stops.map((stop) => stop()));
    await producer.disconnect();
    await mailbox.stop();
    f.close();
  });

  const account = (tenant: string, paymentMethodRef: string, maxConsecutiveFailures = 3) =>
    f.ledger.writes.upsertAccount(
      tenant,
      prepaid({
        paymentMethodRef,
        adminContacts: [`admin@${tenant}.example`],
        autoRecharge: { enabled: true, trigger: 500n, amount: 2000n, monthlyCap: 10, maxConsecutiveFailures },
      }),
    );

  it('charges the card once, adds the funds and mails the admin; declines and failures are mailed too', async () => {
    await account('card-ok', 'pm_card_visa');
    await account('card-expired', 'pm_sim_expired_card', 1);
    await account('flaky', 'pm_sim_flaky');
    for (const tenant of ['card-ok', 'card-expired', 'flaky']) {
      await f.ledger.writes.addFunds(tenant, {
        paymentRef: 'p1',
        amount: 1000n,
        currency: 'USD',
        purchasedAt: f.clock.now,
      });
      await applyPaid(f, tenant, [paid('u1', 600n)]); // 400 < 500: a recharge is requested
      relay.poke(tenant);
    }

    await eventually(async () => {
      expect((await f.ledger.reads.readAccount('card-ok'))!.balance).toBe(2400n);
      expect((await f.ledger.reads.readAccount('flaky'))!.balance).toBe(2400n);
      expect((await f.ledger.reads.readAccount('card-expired'))!.settings.autoRecharge.enabled).toBe(false);
    });
    expect(gateway.charges.map((c) => [c.tenantId, c.idempotencyKey, c.amountMinor])).toEqual(
      expect.arrayContaining([
        ['card-ok', 'card-ok:recharge:1', 2000n],
        ['flaky', 'flaky:recharge:1', 2000n],
      ]),
    );
    expect(gateway.charges).toHaveLength(2);

    await eventually(() => expect(mailbox.mails).toHaveLength(3));
    const byTenant = Object.fromEntries(mailbox.mails.map((m) => [m.to[0], m]));
    expect(byTenant['admin@card-ok.example']).toMatchObject({
      from: 'credits@rater.example',
      subject: 'Auto-recharge added USD 20.00 to your communications credits',
      eventId: 'card-ok/credits.recharge.succeeded/card-ok:recharge:1',
    });
    expect(byTenant['admin@card-expired.example']).toMatchObject({
      subject: 'Auto-recharge of your communications credits failed',
      text:
        'Auto-recharge could not charge your payment method USD 20.00 (expired_card).\nBalance now: USD 4.00.\n' +
        'Auto-recharge is now turned off after 1 failures in a row; update the payment method and turn it on again.',
    });
  });

  it('does not charge or mail twice when the request and the result are delivered again', async () => {
    const before = { charges: gateway.charges.length, mails: mailbox.mails.length };
    const requested = (await readTopic()).filter(
      (e) => e.type === 'credits.recharge.requested' || e.type === 'credits.recharge.succeeded',
    );
    expect(requested.length).toBeGreaterThanOrEqual(4);
    await producer.send({
      topic,
      messages: requested.map((e) => ({ key: e.subject, value: JSON.stringify(e) })),
    });

    await new Promise((resolve) => setTimeout(resolve, 1500));
    expect(gateway.charges).toHaveLength(before.charges);
    expect(mailbox.mails).toHaveLength(before.mails);
    expect((await f.ledger.reads.readAccount('card-ok'))!.balance).toBe(2400n);
  });

  it('mails when the balance reaches zero, and the sweeper forfeits expired funds once', async () => {
    await f.ledger.writes.upsertAccount('dry', prepaid({ adminContacts: ['ops@dry.example'] }));
    await f.ledger.writes.addFunds('dry', {
      paymentRef: 'p1',
      amount: 300n,
      currency: 'USD',
      purchasedAt: f.clock.now,
    });
    const sweeper = new ExpirySweeper({
      ledger: f.ledger,
      clock: () => new Date('2027-11-01T00:00:00.000Z'),
    });

    const first = await sweeper.sweep();
    const second = await sweeper.sweep();
    relay.poke('dry');

    expect(first).toBeGreaterThanOrEqual(1);
    expect(second).toBe(0);
    expect((await f.ledger.reads.readAccount('dry'))!.balance).toBe(0n);
    await eventually(() =>
      expect(mailbox.mails.find((m) => m.to.includes('ops@dry.example'))).toMatchObject({
        subject: 'Your communications credits balance reached zero',
        eventId: 'dry/credits.balance.depleted/expired:m:p1',
      }),
    );
  });

  it('mails the admins once what a re-rating run refunded', async () => {
    await f.ledger.writes.upsertAccount('rerated', prepaid({ adminContacts: ['ops@rerated.example'] }));
    await f.ledger.writes.addFunds('rerated', { paymentRef: 'p1', amount: 5000n, currency: 'USD' });
    const notice = {
      revision: 'rr-1',
      from: new Date('2026-10-01T00:00:00.000Z'),
      to: new Date('2026-11-01T00:00:00.000Z'),
      calls: 3,
      before: 900n,
      after: 675n,
    };
    await f.ledger.writes.rerateNotice('rerated', notice);
    await f.ledger.writes.rerateNotice('rerated', notice); // a resumed run: told once
    relay.poke('rerated');
    await eventually(() =>
      expect(mailbox.mails.filter((m) => m.to.includes('ops@rerated.example'))).toEqual([
        expect.objectContaining({
          subject: 'Calls were priced again with corrected rates: a refund of USD 2.25',
          eventId: 'rerated/credits.usage.rerated/rr-1',
        }),
      ]),
    );
    expect(mailbox.mails.find((m) => m.to.includes('ops@rerated.example'))!.text).toBe(
      'The rates of calls that started from 2026-10-01T00:00:00.000Z until 2026-11-01T00:00:00.000Z (UTC) were corrected, ' +
        'and 3 of your calls were priced again: USD 9.00 before, USD 6.75 now.\n' +
        'The difference, a refund of USD 2.25, is given back to your communications credits.\n' +
        'Balance now: USD 50.00.',
    );
  });

  it("mails the admins once when a user's month reaches the user's spend limit", async () => {
    await f.ledger.writes.upsertAccount('capped', prepaid({ adminContacts: ['ops@capped.example'] }));
    await f.ledger.writes.addFunds('capped', { paymentRef: 'p1', amount: 5000n, currency: 'USD' });
    await f.ledger.writes.setUserLimits('capped', {
      currency: 'USD',
      users: { 'alice@capped.example': 1000n },
    });
    await applyPaid(f, 'capped', [{ ...paid('u1', 600n), user: 'alice@capped.example' }]);
    await applyPaid(f, 'capped', [{ ...paid('u2', 600n), user: 'alice@capped.example' }]);
    await applyPaid(f, 'capped', [{ ...paid('u3', 600n), user: 'alice@capped.example' }]);
    relay.poke('capped');
    await eventually(() =>
      expect(mailbox.mails.filter((m) => m.to.includes('ops@capped.example'))).toEqual([
        expect.objectContaining({
          subject: 'A user reached their monthly spend limit on your communications credits',
          eventId: 'capped/credits.user.limit_reached/user:alice@capped.example:2026-11',
        }),
      ]),
    );
    const mail = mailbox.mails.find((m) => m.to.includes('ops@capped.example'))!;
    expect(mail.text).toContain('alice@capped.example spent USD 12.00 of communications credits in 2026-11');
  });

  it('mails the admins once when the burst guard blocks a user', async () => {
    await f.ledger.writes.upsertAccount('burst', prepaid({ adminContacts: ['ops@burst.example'] }));
    await f.ledger.writes.addFunds('burst', { paymentRef: 'p1', amount: 5000n, currency: 'USD' });
    await f.ledger.writes.setUserLimits('burst', {
      currency: 'USD',
      burstGuard: { windowMinutes: 10, maxInternationalCalls: 1 },
    });
    const call = (id: string, minute: number) => ({
      ...paid(id, 150n),
      start: new Date(startIn('2026-11').getTime() + minute * 60_000),
      user: 'mallory',
      international: true,
    });
    await applyPaid(f, 'burst', [call('u1', 0), call('u2', 1)]);
    await applyPaid(f, 'burst', [call('u3', 2)]);
    relay.poke('burst');
    await eventually(() =>
      expect(mailbox.mails.filter((m) => m.to.includes('ops@burst.example'))).toEqual([
        expect.objectContaining({
          subject: "A user's credit-paid calls are blocked: a burst of calls on your communications credits",
          eventId: 'burst/credits.user.blocked/burst:mallory:u2',
        }),
      ]),
    );
    const mail = mailbox.mails.find((m) => m.to.includes('ops@burst.example'))!;
    expect(mail.text).toContain(
      'mallory made 2 international credit-paid calls and spent USD 3.00 of communications credits within 10 minutes',
    );
    expect(mail.text).toContain('over 1 international calls');
  });

  /** Everything on the events topic so far. */
  async function readTopic(): Promise<{ type: string; subject: string }[]> {
    const admin = kafka.admin();
    await admin.connect();
    const offsets = await admin.fetchTopicOffsets(topic);
    await admin.disconnect();
    const total = offsets.reduce((sum, p) => sum + Number(p.high) - Number(p.low), 0);
    return (await consumeMessages(kafka, topic, total)).map((m) => JSON.parse(m.value!.toString()));
  }
});
