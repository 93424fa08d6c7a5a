import pino from 'pino';
import { App, startApp } from '../../src/app';
import { loadConfig } from '../../src/config';
import { freePort } from '../../tools/stack/processes';
import { stackEnv } from '../../tools/stack/stack';
import { FlatPricer } from '../support/flat-pricer';
import { testStack, uniqueName } from '../support/stack';

const silent = pino({ level: 'silent' });

describe('health endpoints of the running service', () => {
  const apps: App[] = [];
  afterAll(() => Promise.all(apps.map((app) => app.stop())));

  const start = async (overrides: Record<string, string> = {}) => {
    const env = {
      ...stackEnv(testStack()),
      HTTP_PORT: '0',
      RATER_ROLES: 'api',
      PAYMENT_GATEWAY: 'none',
      ...overrides,
    };
    const app = await startApp(loadConfig(env), { pricer: new FlatPricer(), logger: silent });
    apps.push(app);
    return app;
  };

  it('is alive and ready when Kafka and Redis answer', async () => {
    const app = await start();

    const health = await fetch(`${app.url}/healthz`);
    expect(health.status).toBe(200);
    expect(await health.json()).toEqual({ status: 'ok' });

    const ready = await fetch(`${app.url}/readyz`);
    expect(ready.status).toBe(200);
    expect(await ready.json()).toEqual({
      status: 'ready',
      checks: { redis: 'ok', kafka: 'ok' },
      paymentGateway: 'none',
      payments: expect.stringContaining('disabled: no payment gateway (PAYMENT_GATEWAY=none)'),
    });
  });

  it('says so when the simulated payment gateway was chosen', async () => {
    const app = await start({ PAYMENT_GATEWAY: 'simulated' });
    expect(await (await fetch(`${app.url}/readyz`)).json()).toMatchObject({ paymentGateway: 'simulated' });
  });

  it('is alive but not ready while Redis is unreachable, and names it', async () => {
    const app = await start({ REDIS_URL: `redis://127.0.0.1:${await freePort()}` });

    expect((await fetch(`${app.url}/healthz`)).status).toBe(200);
    const ready = await fetch(`${app.url}/readyz`);
    expect(ready.status).toBe(503);
    const body = (await ready.json()) as { status: string; checks: Record<string, string> };
    expect(body.status).toBe('not ready');
    expect(body.checks.kafka).toBe('ok');
    expect(body.checks.redis).toMatch(/ECONNREFUSED|did not answer|max retries/);

    // The ledger-wide gauges were never read: NaN, answered without waiting for Redis.
    const started = Date.now();
    const text = await (await fetch(`${app.url}/metrics`)).text();
    expect(Date.now() - started).toBeLessThan(2_000);
    for (const gauge of ['rater_tenants', 'rater_depleted_tenants', 'rater_ledger_gauges_age_seconds'])
      expect(text).toContain(`\n${gauge} Nan\n`); // prom-client writes NaN so
  });
  it('with the consumer role, is ready only while it is in its group and no partition is stuck', async () => {
    const app = await start({
      RATER_ROLES: 'consumer',
      KAFKA_GROUP_ID: uniqueName('health'),
      TOPIC_USAGE_IN: uniqueName('cdr'),
      TOPIC_RATED_OUT: uniqueName('rated'),
      TOPIC_EVENTS_OUT: uniqueName('events'),
      TOPIC_DEAD_LETTER: uniqueName('dlq'),
      KAFKA_TOPIC_PARTITIONS: '2',
    });
    const checks = async () =>
      ((await (await fetch(`${app.url}/readyz`)).json()) as { checks: object }).checks;
    // The group join comes a moment after the start.
    for (let i = 0; i < 100 && JSON.stringify(await checks()).includes('not ready'); i++) {
      await new Promise((resolve) => setTimeout(resolve, 200));
    }
    expect(await checks()).toEqual({ redis: 'ok', kafka: 'ok', consumer: 'ok', partitions: 'ok' });
    expect(await (await fetch(`${app.url}/healthz`)).json()).toEqual({
      status: 'ok',
      checks: { consumer: 'ok' },
    });
  });
});
