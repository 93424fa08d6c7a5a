import { Consumer, Kafka, KafkaMessage, Partitioners, Producer } from 'kafkajs';
import { PipelineInstrumentation } from '../../../src/shared/instrumentation';
import type { DecodedUsageRecord } from '../../../src/kafka/cdr-decoder';
import type { PricedUsage, Unrated } from '../../../src/settlement/ports';
import { fingerprint } from '../../../src/settlement/rated-details';
import { UsageConsumer } from '../../../src/kafka/usage-consumer';
import { ChangedPricer, FlatPricer } from '../../support/flat-pricer';
import { ledgerFixture, LedgerFixture, prepaid } from '../../support/ledger';
import { createTopics, testKafka, uniqueName } from '../../support/stack';
import { eventually } from '../../support/wait';

/** The consumer's clock: the day after the calls. */
const NOW = new Date('2026-11-25T09:00:00Z');

const cdr = (id: string, tenantId: string, extra: Record<string, unknown> = {}) => ({
  id,
  tenantId,
  callType: 'user_out',
  startDateTime: '2026-11-24T09:00:00Z',
  endDateTime: '2026-11-24T09:02:05Z',
  duration: 125, // 3 started minutes: 35 with the flat pricer
  calleeNumber: '+442071234567',
  callerNumber: '+14155550100',
  licenseCapability: 'MCOPSTNPP',
  usageCountryCode: 'US',
  ...extra,
});

/** Everything that arrives on some topics, kept as it comes, until stopped. */
async function collect(kafka: Kafka, topics: string[]) {
  const consumer: Consumer = kafka.consumer({
    groupId: uniqueName('collect'),
    maxBytesPerPartition: 2 << 20,
  });
  const got = new Map<string, KafkaMessage[]>(topics.map((t) => [t, []]));
  await consumer.connect();
  await consumer.subscribe({ topics, fromBeginning: true });
  await consumer.run({ eachMessage: async ({ topic, message }) => void got.get(topic)!.push(message) });
  return { got: (topic: string) => got.get(topic)!, stop: () => consumer.disconnect() };
}

const header = (m: KafkaMessage, name: string) => m.headers?.[name]?.toString();
const json = (m: KafkaMessage) => JSON.parse(m.value!.toString()) as Record<string, unknown>;

describe('records that cannot be charged as they are, on the real broker and Redis', () => {
  let kafka: Kafka;
  let producer: Producer;
  let f: LedgerFixture;
  const consumers: UsageConsumer[] = [];
  const funded = 1_000_000n;

  const topicsOf = async (partitions = 3, ratedConfig: { name: string; value: string }[] = []) => {
    const topics = {
      usageIn: uniqueName('cdr'),
      ratedOut: uniqueName('rated'),
      deadLetter: uniqueName('dlq'),
    };
    const admin = kafka.admin();
    await admin.connect();
    await createTopics(admin, [topics.usageIn, topics.deadLetter], partitions);
    await admin.createTopics({
      topics: [{ topic: topics.ratedOut, numPartitions: partitions, configEntries: ratedConfig }],
      waitForLeaders: true,
    });
    await admin.disconnect();
    return topics;
  };

  const start = async (
    topics: { usageIn: string; ratedOut: string; deadLetter: string },
    options: Partial<ConstructorParameters<typeof UsageConsumer>[0]> = {},
  ) => {
    const consumer = new UsageConsumer({
      kafka,
      producer,
      ledger: f.ledger.writes,
      pricer: new FlatPricer(),
      groupId: uniqueName('rater'),
      topics,
      instrumentation: new PipelineInstrumentation(),
      clock: () => NOW,
      retryDelayMs: { initial: 50, max: 500 },
      ...options,
    });
    consumers.push(consumer);
    await consumer.start();
    return consumer;
  };

  const fund = async (tenant: string) => {
    await f.ledger.writes.upsertAccount(tenant, prepaid());
    await f.ledger.writes.addFunds(tenant, {
      paymentRef: 'p1',
      amount: funded,
      currency: 'USD',
      purchasedAt: f.clock.now,
    });
  };
  const balance = async (tenant: string) => (await f.ledger.reads.readAccount(tenant))!.balance;

  beforeAll(async () => {
    kafka = testKafka();
    producer = kafka.producer({ createPartitioner: Partitioners.DefaultPartitioner, idempotent: true });
    await producer.connect();
    f = ledgerFixture();
  });

  afterAll(async () => {
    for (const consumer of consumers) await consumer.stop();
    await producer.disconnect();
    f.close();
  });

  it('dead-letters a 5,000-deep record and records near 1 MiB, while every other partition is rated', async () => {
    const topics = await topicsOf();
    const [acme, beta, gamma] = [uniqueName('acme'), uniqueName('beta'), uniqueName('gamma')];
    for (const tenant of [acme, beta, gamma]) await fund(tenant);
    const out = await collect(kafka, [topics.ratedOut, topics.deadLetter]);
    await start(topics);

    const poison = JSON.stringify(cdr('poison', acme)).replace(
      /}$/,
      `,"x":${'['.repeat(5000)}${']'.repeat(5000)}}`,
    );
    const sized = (id: string, extra: Record<string, unknown>, bytes: number) => {
      const base = JSON.stringify(cdr(id, acme, { ...extra, pad: '' }));
      return JSON.stringify(cdr(id, acme, { ...extra, pad: 'x'.repeat(bytes - base.length) }));
    };
    const big = sized('big', {}, 1_048_400);
    const bigInvalid = sized('big-invalid', { duration: -1 }, 1_048_400);
    expect([Buffer.byteLength(big), Buffer.byteLength(bigInvalid)]).toEqual([1_048_400, 1_048_400]);
    // One message a request: the broker takes each of them on the usage topic.
    for (const value of [poison, big, bigInvalid]) {
      await producer.send({ topic: topics.usageIn, messages: [{ key: acme, value, partition: 0 }] });
    }
    const normal = [
      ...Array.from({ length: 5 }, (_, i) => ({
        key: acme,
        value: JSON.stringify(cdr(`a${i}`, acme)),
        partition: 0,
      })),
      ...Array.from({ length: 5 }, (_, i) => ({
        key: beta,
        value: JSON.stringify(cdr(`b${i}`, beta)),
        partition: 1,
      })),
      ...Array.from({ length: 5 }, (_, i) => ({
        key: gamma,
        value: JSON.stringify(cdr(`g${i}`, gamma)),
        partition: 2,
      })),
    ];
    await producer.send({ topic: topics.usageIn, messages: normal });

    await eventually(() => expect(out.got(topics.ratedOut)).toHaveLength(15), 60_000);
    await eventually(() => expect(out.got(topics.deadLetter)).toHaveLength(3), 60_000);
    expect(
      out
        .got(topics.ratedOut)
        .map((m) => json(m).id)
        .sort(),
    ).toEqual([0, 1, 2, 3, 4].flatMap((i) => [`a${i}`, `b${i}`, `g${i}`]).sort());
    const dead = new Map(out.got(topics.deadLetter).map((m) => [header(m, 'x-origin-offset'), m]));
    const [deep, tooLarge, invalid] = ['0', '1', '2'].map((offset) => dead.get(offset)!) as [
      KafkaMessage,
      KafkaMessage,
      KafkaMessage,
    ];
    expect([deep, tooLarge, invalid].map((m) => [header(m, 'x-error-code'), header(m, 'x-charged')])).toEqual(
      [
        ['too_deep', 'false'],
        ['too_large', 'false'],
        ['invalid_field', 'false'],
      ],
    );
    expect(deep.value!.toString()).toBe(poison);
    expect(header(deep, 'x-truncated')).toBeUndefined();
    // Too large for the dead-letter topic as they are: a truncated copy, its size and origin.
    for (const [m, original] of [
      [tooLarge, big],
      [invalid, bigInvalid],
    ] as const) {
      expect(header(m, 'x-truncated')).toBe('true');
      expect(header(m, 'x-original-size')).toBe('1048400');
      expect(header(m, 'x-origin-topic')).toBe(topics.usageIn);
      expect(m.value!.length).toBeGreaterThan(1_040_000);
      expect(m.value!.length).toBeLessThan(1_048_400);
      expect(original.startsWith(m.value!.toString())).toBe(true);
    }
    expect(header(tooLarge, 'x-error-message')).toMatch(
      /^the rated record would be \d+ bytes, more than the broker's 1048576$/,
    );
    // Charged are the 5 rated records of each tenant, and nothing else.
    expect([await balance(acme), await balance(beta), await balance(gamma)]).toEqual([
      funded - 5n * 35n,
      funded - 5n * 35n,
      funded - 5n * 35n,
    ]);
    await out.stop();
  });

  it('dead-letters, once charged, a rated record the broker refuses, and sends the rest of its request', async () => {
    // The rated topic takes less than the consumer was told: the refusal comes at produce.
    const topics = await topicsOf(1, [{ name: 'max.message.bytes', value: '65536' }]);
    const acme = uniqueName('acme');
    await fund(acme);
    const out = await collect(kafka, [topics.ratedOut, topics.deadLetter]);
    const wide = cdr('wide', acme, { pad: 'x'.repeat(100_000) });
    await producer.send({
      topic: topics.usageIn,
      messages: [
        { key: acme, value: JSON.stringify(cdr('n1', acme)) },
        { key: acme, value: JSON.stringify(wide) },
        { key: acme, value: JSON.stringify(cdr('n2', acme)) },
      ],
    });
    await start(topics);
    await eventually(() => expect(out.got(topics.deadLetter)).toHaveLength(1), 60_000);
    await eventually(() => expect(out.got(topics.ratedOut).map((m) => json(m).id)).toEqual(['n1', 'n2']));
    const [dead] = out.got(topics.deadLetter);
    expect([
      header(dead!, 'x-error-code'),
      header(dead!, 'x-charged'),
      header(dead!, 'x-origin-offset'),
    ]).toEqual(['too_large', 'true', '1']);
    expect(dead!.value!.toString()).toBe(JSON.stringify(wide));
    // The debit stands: three usages charged.
    expect(await balance(acme)).toBe(funded - 3n * 35n);
    await out.stop();
  });

  it('dead-letters records without their key or dated outside the window, and charges none of them', async () => {
    const topics = await topicsOf(1);
    const acme = uniqueName('acme');
    await fund(acme);
    const out = await collect(kafka, [topics.ratedOut, topics.deadLetter]);
    await producer.send({
      topic: topics.usageIn,
      messages: [
        { key: null, value: JSON.stringify(cdr('no-key', acme)) },
        { key: 'other', value: JSON.stringify(cdr('other-key', acme)) },
        { key: acme, value: JSON.stringify(cdr('y2100', acme, { startDateTime: '2100-01-01T00:00:00Z' })) },
        { key: acme, value: JSON.stringify(cdr('y9999', acme, { startDateTime: '9999-12-31T23:59:59Z' })) },
        {
          key: acme,
          value: JSON.stringify(
            cdr('not-ended', acme, { startDateTime: '2026-11-25T08:58:00Z', duration: 600 }),
          ),
        },
        { key: acme, value: JSON.stringify(cdr('old', acme, { startDateTime: '2026-09-01T00:00:00Z' })) },
        { key: acme, value: JSON.stringify(cdr('fine', acme)) },
      ],
    });
    await start(topics);
    await eventually(() => expect(out.got(topics.deadLetter)).toHaveLength(6), 60_000);
    await eventually(() => expect(out.got(topics.ratedOut)).toHaveLength(1));
    expect(json(out.got(topics.ratedOut)[0]!).id).toBe('fine');
    expect(
      out.got(topics.deadLetter).map((m) => [header(m, 'x-error-code'), header(m, 'x-charged')]),
    ).toEqual([
      ['key_mismatch', 'false'],
      ['key_mismatch', 'false'],
      ['future_start', 'false'],
      ['future_start', 'false'],
      ['future_start', 'false'],
      ['too_late', 'false'],
    ]);
    expect(header(out.got(topics.deadLetter)[0]!, 'x-error-message')).toBe(
      `the message has no key (the key is the tenantId ${acme})`,
    );
    expect(await balance(acme)).toBe(funded - 35n);
    await out.stop();
  });

  it('counts what it sent to the dead-letter topic in the dead-letter log, and a log that fails holds nothing up', async () => {
    const acme = uniqueName('acme');
    await fund(acme);
    const messages = [
      { key: null, value: JSON.stringify(cdr('no-key', acme)) },
      { key: acme, value: JSON.stringify(cdr('y2100', acme, { startDateTime: '2100-01-01T00:00:00Z' })) },
      { key: acme, value: '{"id": "broken"' },
      { key: acme, value: JSON.stringify(cdr('old', acme, { startDateTime: '2026-09-01T00:00:00Z' })) },
      { key: 'nobody-here', value: JSON.stringify(cdr('ghost', 'nobody-here')) },
    ];
    const topics = await topicsOf(1);
    const out = await collect(kafka, [topics.ratedOut, topics.deadLetter]);
    await producer.send({ topic: topics.usageIn, messages });
    await start(topics, { deadLetterLog: f.ledger.deadLetters });
    await eventually(() => expect(out.got(topics.deadLetter)).toHaveLength(5), 60_000);
    expect(out.got(topics.ratedOut)).toHaveLength(0);
    const logged = () => f.ledger.deadLetters.summary({ recent: 10 });
    await eventually(async () => expect((await logged()).recent).toHaveLength(5));
    const summary = await logged();
    expect(summary.byReason).toEqual({
      key_mismatch: 1,
      future_start: 1,
      malformed_json: 1,
      too_late: 1,
      unknown_tenant: 1,
    });
    // Newest first: the batch's last dead letter is at the head.
    expect(summary.recent).toEqual(
      [...out.got(topics.deadLetter)].reverse().map((m) => ({
        reason: header(m, 'x-error-code'),
        message: header(m, 'x-error-message'),
        topic: topics.usageIn,
        partition: 0,
        offset: header(m, 'x-origin-offset'),
        ...(header(m, 'x-error-code') === 'malformed_json'
          ? {}
          : { tenantId: header(m, 'x-error-code') === 'unknown_tenant' ? 'nobody-here' : acme }),
        at: NOW,
      })),
    );
    expect(summary.recent.map((entry) => entry.offset)).toEqual(['4', '3', '2', '1', '0']);
    await expect(f.ledger.deadLetters.summary({ recent: 2 })).resolves.toMatchObject({
      recent: [{ offset: '4' }, { offset: '3' }],
    });

    // The same records through a consumer whose log fails: every record ends where it did.
    const failing = await topicsOf(1);
    const failingOut = await collect(kafka, [failing.ratedOut, failing.deadLetter]);
    const instrumentation = new PipelineInstrumentation();
    const failures: number[] = [];
    instrumentation.on('deadLetterLogFailed', ({ deadLetters }) => failures.push(deadLetters));
    await producer.send({ topic: failing.usageIn, messages });
    await start(failing, {
      instrumentation,
      deadLetterLog: { record: () => Promise.reject(new Error('Redis is away')) },
    });
    await eventually(() => expect(failingOut.got(failing.deadLetter)).toHaveLength(5), 60_000);
    await eventually(() => expect(failures).toEqual([5]));
    expect((await logged()).byReason).toEqual(summary.byReason);
    await out.stop();
    await failingOut.stop();
  }, 180_000);

  it('dead-letters a usage id charged before with other content, and the first charge stands', async () => {
    const topics = await topicsOf(1);
    const acme = uniqueName('acme');
    await fund(acme);
    const out = await collect(kafka, [topics.ratedOut, topics.deadLetter]);
    await start(topics);
    const first = cdr('c1', acme);
    const second = cdr('c1', acme, { duration: 600, endDateTime: '2026-11-24T09:10:00Z' });
    await producer.send({ topic: topics.usageIn, messages: [{ key: acme, value: JSON.stringify(first) }] });
    await eventually(() => expect(out.got(topics.ratedOut)).toHaveLength(1), 60_000);
    // Again with other content, then again as it was (a plain duplicate).
    await producer.send({
      topic: topics.usageIn,
      messages: [
        { key: acme, value: JSON.stringify(second) },
        { key: acme, value: JSON.stringify(first) },
      ],
    });
    await eventually(() => expect(out.got(topics.deadLetter)).toHaveLength(1), 60_000);
    await eventually(() => expect(out.got(topics.ratedOut)).toHaveLength(2));
    const [rated, again] = out.got(topics.ratedOut);
    expect(json(rated!)).toMatchObject({ id: 'c1', duration: 125, charge: '0.35', billedSeconds: 180 });
    expect(json(again!)).toEqual(json(rated!));
    expect(header(again!, 'x-duplicate')).toBe('true');

    const [dead] = out.got(topics.deadLetter);
    expect(dead!.value!.toString()).toBe(JSON.stringify(second));
    expect({
      code: header(dead!, 'x-error-code'),
      charged: header(dead!, 'x-charged'),
      firstFingerprint: header(dead!, 'x-conflict-first-fingerprint'),
      fingerprint: header(dead!, 'x-conflict-fingerprint'),
      firstCharge: header(dead!, 'x-conflict-first-charge'),
      firstCurrency: header(dead!, 'x-conflict-first-currency'),
      firstAppliedAt: header(dead!, 'x-conflict-first-applied-at'),
    }).toEqual({
      code: 'conflicting_duplicate',
      charged: 'false',
      firstFingerprint: fingerprint(first as DecodedUsageRecord),
      fingerprint: fingerprint(second as DecodedUsageRecord),
      firstCharge: '0.35',
      firstCurrency: 'USD',
      firstAppliedAt: json(rated!).ratedAt,
    });
    expect(await balance(acme)).toBe(funded - 35n);
    await out.stop();
  });

  it('repeats the first rated record on redelivery, even after the decks changed', async () => {
    const topics = await topicsOf(1);
    const acme = uniqueName('acme');
    await fund(acme);
    const records = [cdr('r1', acme), cdr('r2', acme, { callType: 'user_in' })];
    const incoming = records.map((record, i) => ({
      topic: topics.usageIn,
      partition: 0,
      message: {
        key: Buffer.from(acme),
        value: Buffer.from(JSON.stringify(record)),
        offset: String(i),
        timestamp: String(NOW.getTime()),
        attributes: 0,
        headers: {},
      },
    }));
    const consumer = (pricer: FlatPricer) =>
      new UsageConsumer({
        kafka,
        producer,
        ledger: f.ledger.writes,
        pricer,
        groupId: uniqueName('rater'),
        topics,
        instrumentation: new PipelineInstrumentation(),
        clock: () => NOW,
      });
    expect(await consumer(new FlatPricer()).processBatch(incoming)).toMatchObject({
      rated: 2,
      duplicates: 0,
    });
    f.clock.advance(3600_000);
    expect(await consumer(new ChangedPricer()).processBatch(incoming)).toMatchObject({
      rated: 2,
      duplicates: 2,
    });

    const out = await collect(kafka, [topics.ratedOut]);
    await eventually(() => expect(out.got(topics.ratedOut)).toHaveLength(4), 30_000);
    const [r1, r2, again1, again2] = out.got(topics.ratedOut);
    expect(json(r1!)).toMatchObject({
      id: 'r1',
      charge: '0.35',
      destinationName: 'Flatland',
      rate: { version: '1' },
    });
    expect(json(again1!)).toEqual(json(r1!));
    expect(json(again2!)).toEqual(json(r2!));
    expect([header(again1!, 'x-duplicate'), header(again2!, 'x-duplicate')]).toEqual(['true', 'true']);
    expect(await balance(acme)).toBe(funded - 35n);
    await out.stop();
  });

  it('sets aside alone a record the ledger refuses as a bug (LedgerError), instead of retrying it forever', async () => {
    const topics = await topicsOf(1);
    const [acme, beta] = [uniqueName('acme'), uniqueName('beta')];
    for (const tenant of [acme, beta]) await fund(tenant);
    const out = await collect(kafka, [topics.ratedOut, topics.deadLetter]);
    const instrumentation = new PipelineInstrumentation();
    const retries: string[] = [];
    instrumentation.on('retry', ({ stage }) => retries.push(stage));
    const consumer = await start(topics, { pricer: new BuggyPricer(), instrumentation });
    await producer.send({
      topic: topics.usageIn,
      messages: [
        cdr('ok1', acme),
        cdr('poison', acme, { calleeNumber: '+4400666' }),
        cdr('ok2', acme),
        cdr('ok3', beta),
      ].map((record) => ({ key: record.tenantId, value: JSON.stringify(record) })),
    });

    await eventually(() => {
      expect(out.got(topics.ratedOut)).toHaveLength(3);
      expect(out.got(topics.deadLetter)).toHaveLength(1);
    }, 30_000);
    expect(out.got(topics.ratedOut).map((m) => json(m).id)).toEqual(['ok1', 'ok2', 'ok3']);
    const [dead] = out.got(topics.deadLetter);
    expect(json(dead!).id).toBe('poison');
    expect(header(dead!, 'x-error-code')).toBe('internal_error');
    expect(header(dead!, 'x-charged')).toBe('false');
    expect(header(dead!, 'x-error-message')).toMatch(
      /^settling usage poison failed: LedgerError: .*bad charge/,
    );
    expect(await balance(acme)).toBe(funded - 70n);
    expect(await balance(beta)).toBe(funded - 35n);
    expect(retries).toEqual([]);
    await eventually(() => expect(consumer.partitions().stuck()).toEqual([]), 10_000);
    await out.stop();
  });
});

/** A pricing with a bug: a negative charge for one number, which the ledger refuses as a bad argument. */
class BuggyPricer extends FlatPricer {
  override price(
    record: DecodedUsageRecord,
    currency: string,
    poolSecondsLeft: number,
  ): PricedUsage | Unrated {
    const price = super.price(record, currency, poolSecondsLeft);
    if (price.kind === 'priced' && record.calleeNumber === '+4400666') return { ...price, charge: -1n };
    return price;
  }
}
