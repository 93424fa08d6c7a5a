import { Partitioners } from 'kafkajs';
import { createHash } from 'node:crypto';
import pino from 'pino';
import { App, startApp } from '../../../src/app';
import { loadConfig } from '../../../src/config';
import { accountSettings } from '../../../src/credits/wallet';
import { stackEnv } from '../../../tools/stack/stack';
import { apiCaller } from '../../support/api-app';
import { FlatPricer } from '../../support/flat-pricer';
import { testKafka, testStack, uniqueName } from '../../support/stack';
import { eventually, recentCall } from '../../support/wait';

const OPERATOR = 'operator-token-for-the-session-pipeline';

describe('a call session settled by its CDR through the consumer', () => {
  let app: App;
  const env = {
    ...stackEnv(testStack()),
    HTTP_PORT: '0',
    RATER_ROLES: 'consumer,api,sweeper',
    PAYMENT_GATEWAY: 'none',
    KAFKA_GROUP_ID: uniqueName('rater'),
    KAFKA_TOPIC_PARTITIONS: '1',
    TOPIC_USAGE_IN: uniqueName('cdr'),
    TOPIC_RATED_OUT: uniqueName('rated'),
    TOPIC_EVENTS_OUT: uniqueName('events'),
    TOPIC_DEAD_LETTER: uniqueName('dlq'),
    REDIS_KEY_PREFIX: `${uniqueName('s')}:`,
    OPERATOR_TOKEN_SHA256: createHash('sha256').update(OPERATOR).digest('hex'),
  };
  const call = apiCaller(() => app.url, OPERATOR);

  beforeAll(async () => {
    app = await startApp(loadConfig(env), { pricer: new FlatPricer(), logger: pino({ level: 'silent' }) });
    await app.ledger.writes.upsertAccount('acme', accountSettings('prepaid', 'USD'));
    await app.ledger.writes.addFunds('acme', {
      paymentRef: 'p',
      amount: 100n,
      currency: 'USD',
      purchasedAt: new Date(),
    });
  });
  afterAll(() => app.stop());

  it('reserves at the start, holds the used seconds at the end, and the CDR charges once and releases the rest', async () => {
    const { startDateTime, endDateTime } = recentCall(2);
    const body = {
      usageId: 'sip-1',
      tenantId: 'acme',
      callType: 'user_out',
      calleeNumber: '+442071234567',
      startDateTime,
    };
    expect((await call('POST', '/v1/sessions', body)).body).toMatchObject({
      allowed: true,
      reserved: '0.55',
    });
    expect(
      (await call('POST', '/v1/sessions/sip-1/end', { tenantId: 'acme', usedSeconds: 90 })).body,
    ).toEqual({
      usageId: 'sip-1',
      released: '0.30',
      held: '0.25',
      currency: 'USD',
    });
    const producer = testKafka().producer({ createPartitioner: Partitioners.DefaultPartitioner });
    await producer.connect();
    const cdr = {
      id: 'sip-1',
      tenantId: 'acme',
      callType: 'user_out',
      startDateTime,
      endDateTime,
      duration: 90,
      calleeNumber: '+442071234567',
    };
    // Redelivered: charged once.
    await producer.send({
      topic: env.TOPIC_USAGE_IN,
      messages: [cdr, cdr].map((c) => ({ key: 'acme', value: JSON.stringify(c) })),
    });
    await producer.disconnect();
    await eventually(async () => {
      const balance = (await call('GET', '/v1/tenants/acme/balance')).body;
      expect(balance).toMatchObject({
        balance: { amount: '0.75', currency: 'USD' },
        reserved: { amount: '0.00', currency: 'USD' },
        available: { amount: '0.75', currency: 'USD' },
      });
    }, 20_000);
    expect(await app.ledger.sessions.readSession('acme', 'sip-1')).toMatchObject({
      status: 'settled',
      held: 0n,
    });
  });
});
