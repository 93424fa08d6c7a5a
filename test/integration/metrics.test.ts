import { Partitioners } from 'kafkajs';
import pino from 'pino';
import { App, startApp } from '../../src/app';
import { loadConfig } from '../../src/config';
import { accountSettings } from '../../src/credits/wallet';
import { stackEnv } from '../../tools/stack/stack';
import { FlatPricer } from '../support/flat-pricer';
import { testKafka, testStack, uniqueName } from '../support/stack';
import { eventually, recentCall } from '../support/wait';

describe('GET /metrics of the running service', () => {
  let app: App;
  const env = {
    ...stackEnv(testStack()),
    HTTP_PORT: '0',
    RATER_ROLES: 'consumer,relay,api',
    PAYMENT_GATEWAY: 'none',
    KAFKA_GROUP_ID: uniqueName('rater'),
    KAFKA_TOPIC_PARTITIONS: '2',
    TOPIC_USAGE_IN: uniqueName('cdr'),
    TOPIC_RATED_OUT: uniqueName('rated'),
    TOPIC_EVENTS_OUT: uniqueName('events'),
    TOPIC_DEAD_LETTER: uniqueName('dlq'),
    REDIS_KEY_PREFIX: `${uniqueName('m')}:`,
    OUTBOX_SWEEP_INTERVAL_MS: '100',
  };

  beforeAll(async () => {
    app = await startApp(loadConfig(env), { pricer: new FlatPricer(), logger: pino({ level: 'silent' }) });
    await app.ledger.writes.upsertAccount('acme', accountSettings('prepaid', 'USD'));
    await app.ledger.writes.addFunds('acme', {
      paymentRef: 'p',
      amount: 20n,
      currency: 'USD',
      purchasedAt: new Date(),
    });
  });
  afterAll(() => app.stop());

  const scrape = async () => {
    const response = await fetch(`${app.url}/metrics`);
    expect(response.headers.get('content-type')).toMatch(/^text\/plain; version=0.0.4/);
    return response.text();
  };
  const value = (text: string, series: string) => {
    const line = text.split('\n').find((l) => l.startsWith(`${series} `));
    return line === undefined ? undefined : Number(line.slice(series.length + 1));
  };

  it('exposes every rater_ series, at zero before any traffic', async () => {
    const text = await scrape();
    const families = text
      .split('\n')
      .filter((line) => line.startsWith('# TYPE rater_') && !/rater_(process|nodejs)_/.test(line))
      .sort();
    expect(families).toMatchSnapshot();
    expect(value(text, 'rater_records_consumed_total{result="rated"}')).toBe(0);
    expect(value(text, 'rater_dead_letters_total{reason="malformed_json"}')).toBe(0);
    for (const reason of [
      'record_too_large',
      'too_deep',
      'key_mismatch',
      'future_start',
      'too_late',
      'conflicting_duplicate',
      'too_large',
      'unserializable',
    ]) {
      expect(value(text, `rater_dead_letters_total{reason="${reason}"}`)).toBe(0);
    }
    expect(value(text, 'rater_recharges_total{outcome="failed"}')).toBe(0);
    expect(value(text, 'rater_stuck_partitions')).toBe(0);
    expect(value(text, 'rater_retries_total{stage="registry"}')).toBe(0);
    expect(text).toContain('rater_nodejs_heap_size_used_bytes');
  });

  it('counts records by result, dead letters by reason, events by type, and times the stages', async () => {
    const producer = testKafka().producer({ createPartitioner: Partitioners.DefaultPartitioner });
    await producer.connect();
    const cdr = (id: string) => ({
      id,
      tenantId: 'acme',
      callType: 'user_out',
      ...recentCall(1),
      duration: 60,
      calleeNumber: '+442071234567',
    });
    await producer.send({
      topic: env.TOPIC_USAGE_IN,
      messages: [cdr('m1'), cdr('m2'), cdr('m1')]
        .map((c) => ({ key: 'acme', value: JSON.stringify(c) }))
        .concat([{ key: 'acme', value: 'nope' }]),
    });
    await producer.disconnect();

    const text = await eventually(async () => {
      const t = await scrape();
      expect(value(t, 'rater_events_published_total{type="credits.service.blocked"}')).toBe(1);
      // The relay may publish the batch's events before the batch is committed and counted.
      expect(value(t, 'rater_batch_duration_seconds_count')).toBeGreaterThanOrEqual(1);
      return t;
    });
    expect(value(text, 'rater_records_consumed_total{result="rated"}')).toBe(2);
    expect(value(text, 'rater_records_consumed_total{result="duplicate"}')).toBe(1);
    expect(value(text, 'rater_records_consumed_total{result="dead_letter"}')).toBe(1);
    expect(value(text, 'rater_dead_letters_total{reason="malformed_json"}')).toBe(1);
    expect(value(text, 'rater_events_published_total{type="credits.balance.depleted"}')).toBe(1);
    expect(value(text, 'rater_batch_duration_seconds_count')).toBeGreaterThanOrEqual(1);
    expect(value(text, 'rater_ledger_duration_seconds_count')).toBeGreaterThanOrEqual(1);
    expect(value(text, 'rater_debit_lag_seconds_count')).toBe(2);
    // What the broker was asked to do: the batch's records and the events produced (a request
    // each), its offset committed.
    expect(value(text, 'rater_kafka_requests_total{client="producer",api="Produce"}')).toBeGreaterThanOrEqual(
      2,
    );
    expect(
      value(text, 'rater_kafka_requests_total{client="consumer",api="OffsetCommit"}'),
    ).toBeGreaterThanOrEqual(1);
    expect(value(text, 'rater_kafka_requests_total{client="consumer",api="Fetch"}')).toBeGreaterThanOrEqual(
      1,
    );
    // The service wires the dead-letter log and keeps the operator's lists.
    await eventually(async () =>
      expect(await app.ledger.deadLetters.summary({ recent: 5 })).toMatchObject({
        byReason: { malformed_json: 1 },
        recent: [{ reason: 'malformed_json', topic: env.TOPIC_USAGE_IN, offset: '3' }],
      }),
    );
    expect(await app.ledger.indexes.attention({ limit: 10 })).toEqual({ blocked: ['acme'], low: [] });
    // The ledger-wide gauges are the index shards' counters, cached for a second.
    await eventually(async () => {
      const later = await scrape();
      expect(value(later, 'rater_depleted_tenants')).toBe(1);
      expect(value(later, 'rater_outbox_backlog_events')).toBe(0);
      expect(value(later, 'rater_tenants')).toBe(1);
      expect(value(later, 'rater_ledger_gauges_age_seconds')).toBeLessThan(5);
    }, 10_000);
  });
});
