import { Kafka, Partitioners, Producer } from 'kafkajs';
import { PipelineInstrumentation } from '../../../src/shared/instrumentation';
import { UsageConsumer } from '../../../src/kafka/usage-consumer';
import { createLogger, logPipelineEvents } from '../../../src/observability/logs';
import { FlatPricer } from '../../support/flat-pricer';
import { ledgerFixture, LedgerFixture, prepaid } from '../../support/ledger';
import { createTopics, testKafka, uniqueName } from '../../support/stack';
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
  licenseCapability: 'MCOPSTNPP',
  usageCountryCode: 'US',
  ...extra,
});

describe('the pipeline log lines, from a consumer on the real broker and Redis', () => {
  let kafka: Kafka;
  let producer: Producer;
  let f: LedgerFixture;
  let consumer: UsageConsumer;
  // One partition, so the offsets in the lines' origin are the order of sending.
  const topics = { usageIn: uniqueName('cdr'), ratedOut: uniqueName('rated'), deadLetter: uniqueName('dlq') };
  const lines: Record<string, unknown>[] = [];

  beforeAll(async () => {
    kafka = testKafka();
    const admin = kafka.admin();
    await admin.connect();
    await createTopics(admin, Object.values(topics), 1);
    await admin.disconnect();
    producer = kafka.producer({ createPartitioner: Partitioners.DefaultPartitioner, idempotent: true });
    await producer.connect();
    f = ledgerFixture();
    await f.ledger.writes.upsertAccount('acme', prepaid());
    await f.ledger.writes.addFunds('acme', {
      paymentRef: 'p1',
      amount: 1000n,
      currency: 'USD',
      purchasedAt: f.clock.now,
    });

    const instrumentation = new PipelineInstrumentation();
    // The logger the service builds, writing to memory instead of stdout.
    const logger = createLogger('debug', { write: (line: string) => void lines.push(JSON.parse(line)) });
    logPipelineEvents(instrumentation, logger);
    consumer = new UsageConsumer({
      kafka,
      producer,
      ledger: f.ledger.writes,
      pricer: new FlatPricer(),
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

  const line = (msg: string, usageId?: string) =>
    lines.find((l) => l.msg === msg && (usageId === undefined || l.usageId === usageId));
  const common = { time: expect.any(Number), pid: process.pid, hostname: expect.any(String) };

  it('names the tenant, the usage, the reason and the origin of every record it cannot take', async () => {
    await producer.send({
      topic: topics.usageIn,
      messages: [
        cdr('bad-1', 'acme', { duration: -5 }),
        cdr('x1', 'ghost'),
        cdr('ok-1', 'acme'),
        cdr('ur-1', 'acme', { calleeNumber: '+99912345' }),
      ]
        .map((value) => ({ key: value.tenantId, value: JSON.stringify(value) }))
        .concat([{ key: 'acme', value: '{"id": "broken"' }]),
    });
    await eventually(() => expect(line('batch processed')).toBeDefined());
    const origin = (offset: number) => `${topics.usageIn}/0/${offset}`;

    // Invalid: the decoder still read its ids.
    expect(line('usage record dead-lettered', 'bad-1')).toEqual({
      ...common,
      level: 40,
      msg: 'usage record dead-lettered',
      tenantId: 'acme',
      usageId: 'bad-1',
      reason: 'invalid_field',
      stage: 'decode',
      charged: false,
      detail: 'duration: Too small: expected number to be >=0',
      origin: origin(0),
    });
    // Refused by the ledger: no account for the tenant.
    expect(line('usage record dead-lettered', 'x1')).toEqual({
      ...common,
      level: 40,
      msg: 'usage record dead-lettered',
      tenantId: 'ghost',
      usageId: 'x1',
      reason: 'unknown_tenant',
      stage: 'ledger',
      charged: false,
      detail: 'no account for tenant ghost',
      origin: origin(1),
    });
    expect(line('usage record dead-lettered', 'ur-1')).toMatchObject({
      tenantId: 'acme',
      reason: 'unrated_destination',
      stage: 'rating',
      origin: origin(3),
    });
    // Not decodable at all: the tenant is the message key, there is no usage id.
    const malformed = lines.find((l) => l.reason === 'malformed_json')!;
    expect(malformed).toMatchObject({ tenantId: 'acme', stage: 'decode', origin: origin(4) });
    expect(malformed).not.toHaveProperty('usageId');

    expect(line('usage applied', 'ok-1')).toEqual({
      ...common,
      level: 20,
      msg: 'usage applied',
      tenantId: 'acme',
      usageId: 'ok-1',
      source: 'credits',
      charge: '0.35',
      currency: 'USD',
      poolSeconds: 0,
    });
    expect(line('batch processed')).toEqual({
      ...common,
      level: 20,
      msg: 'batch processed',
      topic: topics.usageIn,
      partition: 0,
      firstOffset: '0',
      lastOffset: '4',
      records: 5,
      rated: 1,
      duplicates: 0,
      deadLettered: 4,
      ms: expect.any(Number),
    });
  });

  it('logs a redelivered usage as already applied, at debug', async () => {
    await producer.send({
      topic: topics.usageIn,
      messages: [{ key: 'acme', value: JSON.stringify(cdr('ok-1', 'acme')) }],
    });
    await eventually(() =>
      expect(line('usage already applied: stored outcome repeated', 'ok-1')).toBeDefined(),
    );
    expect(line('usage already applied: stored outcome repeated', 'ok-1')).toMatchObject({
      level: 20,
      tenantId: 'acme',
      charge: '0.35',
    });
  });
});
