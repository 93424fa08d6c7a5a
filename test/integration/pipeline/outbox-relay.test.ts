import { Kafka, Partitioners, Producer } from 'kafkajs';
import { OutboxRelay } from '../../../src/kafka/outbox-relay';
import { openLedger } from '../../../src/ledger/open-ledger';
import { applyPaid, ledgerFixture, LedgerFixture, paid, prepaid } from '../../support/ledger';
import { consumeMessages, createTopics, testKafka, uniqueName } from '../../support/stack';
import { eventually } from '../../support/wait';

/** The keys of the seven events of the two tenants' funding, sorted. */
const ACME_AND_OTHER_KEYS = ['acme', 'acme', 'acme', 'acme', 'acme', 'other', 'other'];
const keysOf = (messages: { key: Buffer | null }[]) => messages.map((m) => m.key!.toString()).sort();

describe('outbox relay', () => {
  let kafka: Kafka;
  let producer: Producer;
  let f: LedgerFixture;
  let topic: string;

  beforeAll(async () => {
    kafka = testKafka();
    producer = kafka.producer({ createPartitioner: Partitioners.DefaultPartitioner, idempotent: true });
    await producer.connect();
  });
  afterAll(() => producer.disconnect());
  beforeEach(async () => {
    f = ledgerFixture();
    topic = uniqueName('events');
    const admin = kafka.admin();
    await admin.connect();
    await createTopics(admin, [topic], 2);
    await admin.disconnect();
    await f.ledger.writes.upsertAccount('acme', prepaid({ lowBalanceThreshold: 500n }));
    await f.ledger.writes.addFunds('acme', {
      paymentRef: 'p1',
      amount: 1000n,
      currency: 'USD',
      purchasedAt: f.clock.now,
    });
    await applyPaid(f, 'acme', [paid('u1', 600n), paid('u2', 450n)]);
  });
  afterEach(() => f.close());

  const relay = (p: Producer = producer) =>
    new OutboxRelay({ ledger: f.ledger, producer: p, topic, source: '/rater/credits' });

  it('publishes the outbox as CloudEvents keyed by tenant, then empties it', async () => {
    expect(await relay().relayTenant('acme')).toBe(5);

    const messages = await consumeMessages(kafka, topic, 5);
    expect(messages.map((m) => m.key?.toString())).toEqual(['acme', 'acme', 'acme', 'acme', 'acme']);
    const events = messages.map((m) => JSON.parse(m.value!.toString()) as Record<string, unknown>);
    expect(events.map((e) => [e.type, e.id])).toEqual([
      ['credits.adjustment.added', 'acme/credits.adjustment.added/m:p1'],
      ['credits.funds.added', 'acme/credits.funds.added/m:p1'],
      ['credits.balance.low', 'acme/credits.balance.low/usage:u1'],
      ['credits.balance.depleted', 'acme/credits.balance.depleted/usage:u2'],
      ['credits.service.blocked', 'acme/credits.service.blocked/usage:u2'],
    ]);
    expect(events[3]).toEqual({
      specversion: '1.0',
      id: 'acme/credits.balance.depleted/usage:u2',
      source: '/rater/credits',
      type: 'credits.balance.depleted',
      subject: 'acme',
      time: '2026-11-01T00:00:00.000Z',
      datacontenttype: 'application/json',
      data: { tenantId: 'acme', balance: { amount: '-0.50', currency: 'USD' } },
    });
    expect(messages[1]!.headers?.ce_id?.toString()).toBe('acme/credits.funds.added/m:p1');
    expect(await f.ledger.outbox.outboxLength('acme')).toBe(0);
  });

  it('keeps what the broker did not acknowledge, and sends it again on the next round', async () => {
    const failing = {
      send: async () => {
        throw new Error('broker unavailable');
      },
    } as unknown as Producer;
    await expect(relay(failing).relayTenant('acme')).rejects.toThrow('broker unavailable');
    expect(await f.ledger.outbox.outboxLength('acme')).toBe(5);

    // A crash after the broker acknowledged but before the outbox was trimmed: sent twice.
    const crashAfterSend = {
      send: async (record: Parameters<Producer['send']>[0]) => {
        await producer.send(record);
        throw new Error('crashed before trimming');
      },
    } as unknown as Producer;
    await expect(relay(crashAfterSend).relayTenant('acme')).rejects.toThrow('crashed before trimming');
    expect(await f.ledger.outbox.outboxLength('acme')).toBe(5);
    expect(await relay().relayTenant('acme')).toBe(5);

    const ids = (await consumeMessages(kafka, topic, 10)).map(
      (m) => JSON.parse(m.value!.toString()).id as string,
    );
    expect(new Set(ids).size).toBe(5);
    expect(ids.slice(0, 5)).toEqual(ids.slice(5));
    expect(await f.ledger.outbox.outboxLength('acme')).toBe(0);
  });

  it('finds every tenant on its sweep when started, without pokes', async () => {
    await f.ledger.writes.upsertAccount('other', prepaid());
    await f.ledger.writes.addFunds('other', {
      paymentRef: 'x',
      amount: 1n,
      currency: 'USD',
      purchasedAt: f.clock.now,
    });
    const running = new OutboxRelay({
      ledger: f.ledger,
      producer,
      topic,
      source: '/rater/credits',
      sweepIntervalMs: 100,
    });
    running.start();
    try {
      const messages = await consumeMessages(kafka, topic, 7);
      expect(keysOf(messages)).toEqual(ACME_AND_OTHER_KEYS);
    } finally {
      await running.stop();
    }
  });

  it('sends the events of several tenants in one produce request', async () => {
    await f.ledger.writes.upsertAccount('other', prepaid());
    await f.ledger.writes.addFunds('other', {
      paymentRef: 'x',
      amount: 1n,
      currency: 'USD',
      purchasedAt: f.clock.now,
    });
    const counted = kafka.producer({ createPartitioner: Partitioners.DefaultPartitioner, idempotent: true });
    let produceRequests = 0;
    counted.on(counted.events.REQUEST, ({ payload }) => {
      if (payload.apiName === 'Produce') produceRequests += 1;
    });
    await counted.connect();
    const running = new OutboxRelay({
      ledger: f.ledger,
      producer: counted,
      topic,
      source: '/rater/credits',
      sweepIntervalMs: 600_000,
      subscribe: false,
    });
    running.start();
    try {
      const messages = await consumeMessages(kafka, topic, 7);
      expect(keysOf(messages)).toEqual(ACME_AND_OTHER_KEYS);
    } finally {
      await running.stop();
      await counted.disconnect();
    }
    expect(produceRequests).toBe(1);
    expect(await f.ledger.outbox.outboxLength('acme')).toBe(0);
    expect(await f.ledger.outbox.outboxLength('other')).toBe(0);
  });

  it("relays at once what another process wrote, on the scripts' hint: no poke, no sweep due", async () => {
    const running = new OutboxRelay({
      ledger: f.ledger,
      producer,
      topic,
      source: '/rater/credits',
      sweepIntervalMs: 600_000,
    });
    running.start();
    try {
      // The sweep after subscribing finds what was written before.
      expect(await consumeMessages(kafka, topic, 5)).toHaveLength(5);
      // Another process (here: another ledger over the same keys) writes; this relay is told.
      const elsewhere = openLedger(f.redis, { prefix: f.prefix, clock: () => f.clock.now });
      await elsewhere.writes.upsertAccount('other', prepaid());
      await elsewhere.writes.addFunds('other', {
        paymentRef: 'x',
        amount: 1n,
        currency: 'USD',
        purchasedAt: f.clock.now,
      });
      const messages = await consumeMessages(kafka, topic, 7);
      expect(messages.slice(5).map((m) => m.key!.toString())).toEqual(['other', 'other']);
      await eventually(async () => expect(await f.ledger.indexes.tenantsWithEvents()).toEqual([]));
    } finally {
      await running.stop();
    }
  });
});
