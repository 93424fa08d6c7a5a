import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { SchemaRegistry, SchemaType } from '@kafkajs/confluent-schema-registry';
import { Kafka, KafkaMessage, Partitioners, Producer } from 'kafkajs';
import { PipelineInstrumentation } from '../../../src/shared/instrumentation';
import { UsageConsumer } from '../../../src/kafka/usage-consumer';
import { MAX_TOTAL_MINOR } from '../../../src/credits/wallet';
import { FlatPricer } from '../../support/flat-pricer';
import { applyPaid, ledgerFixture, LedgerFixture, paid, prepaid } from '../../support/ledger';
import { consumeMessages, createTopics, testKafka, testStack, uniqueName } from '../../support/stack';
import { eventually } from '../../support/wait';

/** The consumer's clock: the day after the calls, so none is in the future or too old. */
const RATER_NOW = new Date('2026-11-25T09:00:00Z');

const cdr = (id: string, tenantId: string, extra: Record<string, unknown> = {}) => ({
  id,
  tenantId,
  callType: 'user_out',
  startDateTime: '2026-11-24T09:00:00Z',
  endDateTime: '2026-11-24T09:02:05Z',
  duration: 125,
  calleeNumber: '+442071234567',
  callerNumber: '+14155550100',
  licenseCapability: 'MCOPSTNPP',
  usageCountryCode: 'US',
  ...extra,
});

describe('usage consumer on the real broker and Redis', () => {
  let kafka: Kafka;
  let producer: Producer;
  let f: LedgerFixture;
  let consumer: UsageConsumer;
  const topics = { usageIn: uniqueName('cdr'), ratedOut: uniqueName('rated'), deadLetter: uniqueName('dlq') };
  const instrumentation = new PipelineInstrumentation();
  const results: string[] = [];
  instrumentation.on('record', ({ result }) => results.push(result));

  beforeAll(async () => {
    kafka = testKafka();
    const admin = kafka.admin();
    await admin.connect();
    await createTopics(admin, Object.values(topics), 2);
    await admin.disconnect();
    producer = kafka.producer({ createPartitioner: Partitioners.DefaultPartitioner, idempotent: true });
    await producer.connect();
    f = ledgerFixture();
    await f.ledger.writes.upsertAccount('acme', prepaid({ poolCapacities: { 'MCOPSTN1:US': 120 } }));
    await f.ledger.writes.addFunds('acme', {
      paymentRef: 'p1',
      amount: 1000n,
      currency: 'USD',
      purchasedAt: f.clock.now,
    });
    await f.ledger.writes.upsertAccount('newco', prepaid({ mode: 'postpaid', currency: 'EUR' }));
    consumer = new UsageConsumer({
      kafka,
      producer,
      ledger: f.ledger.writes,
      pricer: new FlatPricer(),
      registry: new SchemaRegistry({ host: testStack().schemaRegistry.url }),
      groupId: uniqueName('rater'),
      topics,
      instrumentation,
      clock: () => RATER_NOW,
    });
    await consumer.start();
  });

  afterAll(async () => {
    await consumer.stop();
    await producer.disconnect();
    f.close();
  });

  const send = (values: (object | string)[]) =>
    producer.send({
      topic: topics.usageIn,
      messages: values.map((v) => ({
        key: typeof v === 'string' ? 'acme' : (v as { tenantId: string }).tenantId,
        value: typeof v === 'string' ? v : JSON.stringify(v),
      })),
    });

  it('rates, debits once, produces rated records and dead-letters what it cannot take', async () => {
    await send([
      cdr('a1', 'acme'), // 3 min paid: 35
      cdr('a2', 'acme', { licenseCapability: 'MCOPSTN1', duration: 170 }), // 3 min: 2 from the pool, 1 paid: 15
      cdr('a3', 'acme', { licenseCapability: 'MCOPSTN1', duration: 30 }), // pool empty: 1 paid: 15
      cdr('a1', 'acme'), // a duplicate
      cdr('a4', 'acme', { callType: 'user_in' }), // free
      cdr('n1', 'newco', { duration: 3600 }), // postpaid: 60 min: 605 EUR cents owed
      cdr('x1', 'ghost'), // unknown tenant
      cdr('x2', 'acme', { calleeNumber: '+99912345' }), // unrated
      '{"id": "broken"', // malformed
      { ...cdr('x3', 'acme'), duration: -5 }, // invalid
    ]);

    const rated = await consumeMessages(kafka, topics.ratedOut, 6);
    const dead = await consumeMessages(kafka, topics.deadLetter, 4);

    const account = (await f.ledger.reads.readAccount('acme'))!;
    expect(account.balance).toBe(1000n - 35n - 15n - 15n);
    expect(account.poolUsed).toEqual({ 'MCOPSTN1:US:2026-11': 120 });
    expect((await f.ledger.reads.readAccount('newco'))!.owed).toEqual({ '2026-11': 605n });

    const byId = (messages: KafkaMessage[]) =>
      messages.map((m) => JSON.parse(m.value!.toString()) as Record<string, unknown>);
    const values = byId(rated);
    expect(values.map((v) => [v.id, v.charge, v.currency, v.source, v.poolSeconds, v.billedSeconds])).toEqual(
      expect.arrayContaining([
        ['a1', '0.35', 'USD', 'credits', 0, 180],
        ['a2', '0.15', 'USD', 'credits', 120, 180],
        ['a3', '0.15', 'USD', 'credits', 0, 60],
        ['a4', '0.00', 'USD', 'free', 0, 180],
        ['n1', '6.05', 'EUR', 'postpaid', 0, 3600],
      ]),
    );
    expect(values.filter((v) => v.id === 'a1')).toHaveLength(2);
    expect(rated.filter((m) => m.headers?.['x-duplicate']?.toString() === 'true')).toHaveLength(1);
    const a1 = values.find((v) => v.id === 'a1')!;
    expect(a1).toMatchObject({
      tenantId: 'acme',
      callType: 'user_out',
      connectionCharge: '0.05',
      destinationName: 'Flatland',
      rate: { deck: 'flat', version: '1', prefix: '+' },
    });
    expect(typeof a1.ratedAt).toBe('string');

    const reasons = dead.map((m) => [
      m.headers!['x-error-code']!.toString(),
      m.headers!['x-origin-topic']!.toString(),
    ]);
    expect(reasons.map(([code]) => code).sort()).toEqual([
      'invalid_field',
      'malformed_json',
      'unknown_tenant',
      'unrated_destination',
    ]);
    expect(reasons.every(([, origin]) => origin === topics.usageIn)).toBe(true);
    const malformed = dead.find((m) => m.headers!['x-error-code']!.toString() === 'malformed_json')!;
    expect(malformed.value!.toString()).toBe('{"id": "broken"');
    expect(malformed.headers!['x-origin-offset']).toBeDefined();
    const invalid = dead.find((m) => m.headers!['x-error-code']!.toString() === 'invalid_field')!;
    expect(invalid.headers!['x-error-message']!.toString()).toBe(
      'duration: Too small: expected number to be >=0',
    );
  });

  it('charges nothing again when the same records arrive again', async () => {
    const before = (await f.ledger.reads.readAccount('acme'))!.balance;
    await send([cdr('a1', 'acme'), cdr('a2', 'acme', { licenseCapability: 'MCOPSTN1', duration: 170 })]);
    await eventually(() => expect(results.filter((r) => r === 'duplicate').length).toBeGreaterThanOrEqual(3));
    expect((await f.ledger.reads.readAccount('acme'))!.balance).toBe(before);
  });

  it('dead-letters as balance_limit a batch that would take a total past the bound', async () => {
    await f.ledger.writes.upsertAccount('deep', prepaid());
    await applyPaid(f, 'deep', [paid('d0', MAX_TOTAL_MINOR)]);
    await send([cdr('d1', 'deep')]);
    const dead = await consumeMessages(kafka, topics.deadLetter, 5);
    const limited = dead.filter((m) => m.headers!['x-error-code']!.toString() === 'balance_limit');
    expect(limited.map((m) => [m.key!.toString(), m.headers!['x-error-message']!.toString()])).toEqual([
      ['deep', 'the ledger refused the batch: usage d1: a total would pass 1000000000000000 minor units'],
    ]);
    expect((await f.ledger.reads.readAccount('deep'))!.debt).toBe(MAX_TOTAL_MINOR);
  });

  it("sends a backlog whose rated records for one partition exceed the broker's largest batch", async () => {
    // A lagging partition comes back as one big fetch (4 MB a partition); its rated records,
    // all keyed by one tenant, would make a record batch over the broker's 1 MB limit.
    const own = { usageIn: uniqueName('cdr'), ratedOut: uniqueName('rated'), deadLetter: uniqueName('dlq') };
    const admin = kafka.admin();
    await admin.connect();
    await createTopics(admin, Object.values(own), 1);
    await admin.disconnect();
    await f.ledger.writes.upsertAccount('bulk', prepaid());
    await f.ledger.writes.addFunds('bulk', {
      paymentRef: 'p1',
      amount: 10n ** 9n,
      currency: 'USD',
      purchasedAt: f.clock.now,
    });
    const backlog = new UsageConsumer({
      kafka,
      producer,
      ledger: f.ledger.writes,
      pricer: new FlatPricer(),
      groupId: uniqueName('rater'),
      topics: own,
      instrumentation: new PipelineInstrumentation(),
      clock: () => RATER_NOW,
    });
    const padding = 'x'.repeat(400);
    const incoming = Array.from({ length: 4000 }, (_, i) => ({
      topic: own.usageIn,
      partition: 0,
      message: {
        key: Buffer.from('bulk'),
        value: Buffer.from(JSON.stringify(cdr(`bulk-${i}`, 'bulk', { userDisplayName: padding }))),
        offset: String(i),
        timestamp: String(Date.now()),
        attributes: 0,
        headers: {},
      },
    }));
    const deadline = Date.now() + 20_000;
    const result = await backlog.processBatch(
      incoming,
      async () => undefined,
      () => Date.now() < deadline,
    );
    expect(result.rated).toBe(4000);
    expect(await consumeMessages(kafka, own.ratedOut, 4000, 30_000)).toHaveLength(4000);
    expect((await f.ledger.reads.readAccount('bulk'))!.balance).toBe(10n ** 9n - 4000n * 35n);
  });

  it('decodes Avro records through the schema registry, and dead-letters what it cannot decode', async () => {
    const registry = new SchemaRegistry({ host: testStack().schemaRegistry.url });
    const schema = readFileSync(join(__dirname, '..', '..', '..', 'schemas', 'usage-cdr.v1.avsc'), 'utf8');
    const { id } = await registry.register(
      { type: SchemaType.AVRO, schema },
      { subject: uniqueName('cdr-value') },
    );
    const fields = (JSON.parse(schema) as { fields: { name: string }[] }).fields.map((field) => field.name);
    const record = cdr('avro-1', 'acme', { duration: 30 });
    const avro = await registry.encode(
      id,
      Object.fromEntries(fields.map((f) => [f, (record as Record<string, unknown>)[f] ?? null])),
    );
    const unknownSchema = Buffer.concat([Buffer.from([0, 0, 0, 0x7f, 0xff]), Buffer.from('payload')]);
    const before = (await f.ledger.reads.readAccount('acme'))!.balance;
    await producer.send({
      topic: topics.usageIn,
      messages: [
        { key: 'acme', value: avro },
        { key: 'acme', value: unknownSchema },
      ],
    });

    await eventually(async () =>
      expect((await f.ledger.reads.readAccount('acme'))!.balance).toBe(before - 15n),
    );
    // The topic's first five dead letters are the earlier tests'.
    const dead = await consumeMessages(kafka, topics.deadLetter, 6);
    const undecodable = dead.filter((m) => m.headers!['x-error-code']!.toString() === 'avro_decode_failed');
    expect(undecodable).toHaveLength(1);
    expect(undecodable[0]!.value).toEqual(unknownSchema);
  });
});
