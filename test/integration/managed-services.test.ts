import { SchemaRegistry, SchemaType } from '@kafkajs/confluent-schema-registry';
import { mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { createServer, request, Server } from 'node:http';
import { AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { KafkaMessage, logLevel } from 'kafkajs';
import pino from 'pino';
import { App, startApp } from '../../src/app';
import { loadConfig } from '../../src/config';
import { kafkaClient } from '../../src/kafka/kafka-client';
import { openLedger } from '../../src/ledger/open-ledger';
import { connectRedis } from '../../src/ledger/redis-connection';
import { down, securedStackEnv, StackInfo, up } from '../../tools/stack/stack';
import { makeCertificates } from '../../tools/stack/tls';
import { projectRoot } from '../../tools/stack/toolchain';
import { FlatPricer } from '../support/flat-pricer';
import { prepaid } from '../support/ledger';
import { consumeMessages, uniqueName } from '../support/stack';
import { eventually } from '../support/wait';

jest.setTimeout(120_000);

const silent = pino({ level: 'silent' });

/**
 * The registry behind HTTP basic authentication, as a managed registry is: a request without
 * the right Authorization header is a 401, any other is passed to the stack's registry.
 */
async function basicAuthRegistry(target: string, username: string, password: string) {
  const expected = `Basic ${Buffer.from(`${username}:${password}`).toString('base64')}`;
  const upstream = new URL(target);
  const seen = { authorized: 0, refused: 0 };
  const server: Server = createServer((incoming, outgoing) => {
    if (incoming.headers.authorization !== expected) {
      seen.refused += 1;
      outgoing.writeHead(401, { 'www-authenticate': 'Basic realm="registry"' }).end();
      return;
    }
    seen.authorized += 1;
    const forwarded = request(
      {
        host: upstream.hostname,
        port: upstream.port,
        path: incoming.url,
        method: incoming.method,
        headers: { ...incoming.headers, host: upstream.host },
        agent: false,
      },
      (answer) => {
        outgoing.writeHead(answer.statusCode ?? 502, answer.headers);
        answer.pipe(outgoing);
      },
    );
    forwarded.on('error', () => outgoing.writeHead(502).end());
    incoming.pipe(forwarded);
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as AddressInfo;
  return {
    url: `http://127.0.0.1:${port}${upstream.pathname}`,
    seen,
    close: () => new Promise<void>((resolve) => server.close(() => resolve())),
  };
}

/**
 * The service against Kafka, Redis and a registry as managed services offer them: Kafka only
 * on SASL_SSL (SCRAM-SHA-512), Redis only over TLS as an ACL user (the default user off), both
 * requiring a client certificate (mutual TLS), certificates of a CA the stack made. The stack
 * is this test's own (`.stack/secured`).
 */
describe('managed Kafka and Redis: mutual TLS, SASL and ACL users', () => {
  const dir = join(projectRoot, '.stack', 'secured');
  const secrets = mkdtempSync(join(tmpdir(), 'rater-secrets-'));
  let info: StackInfo;
  let env: Record<string, string>;
  const apps: App[] = [];

  beforeAll(async () => {
    info = await up(dir, { secured: true });
    const { KAFKA_SASL_PASSWORD, REDIS_PASSWORD, ...rest } = securedStackEnv(info);
    // The passwords as a secret store mounts them: files, with a trailing newline.
    writeFileSync(join(secrets, 'kafka'), `${KAFKA_SASL_PASSWORD}\n`);
    writeFileSync(join(secrets, 'redis'), `${REDIS_PASSWORD}\n`);
    env = {
      ...rest,
      KAFKA_SASL_PASSWORD_FILE: join(secrets, 'kafka'),
      REDIS_PASSWORD_FILE: join(secrets, 'redis'),
      HTTP_PORT: '0',
      RATER_ROLES: 'consumer,relay',
      PAYMENT_GATEWAY: 'none',
    };
  });
  afterAll(async () => {
    for (const app of apps) await app.stop();
    await down(dir);
  });

  it('streams usage end to end: CDRs in over SASL_SSL, rated records out, the ledger debited over TLS, client certificates presented', async () => {
    const runId = uniqueName('managed');
    const topics = {
      TOPIC_USAGE_IN: `${runId}.cdr`,
      TOPIC_RATED_OUT: `${runId}.rated`,
      TOPIC_EVENTS_OUT: `${runId}.events`,
      TOPIC_DEAD_LETTER: `${runId}.dlq`,
    };
    const config = loadConfig({ ...env, ...topics, REDIS_KEY_PREFIX: `${runId}:` });
    expect(config.kafka.saslPassword).toBe(info.secured!.password);
    const clientCert = readFileSync(info.secured!.clientCertFile, 'utf8');
    expect(config.kafka.sslCert).toBe(clientCert);
    expect(config.redis.tlsCert).toBe(clientCert);

    const registry = await basicAuthRegistry(info.schemaRegistry.url, 'registry-key', 'registry-secret');
    writeFileSync(join(secrets, 'registry'), 'registry-secret\n');
    const redis = connectRedis(config.redis);
    const ledger = openLedger(redis, { prefix: `${runId}:` });
    const kafka = kafkaClient(config.kafka, { clientId: runId, logLevel: logLevel.NOTHING });
    const producer = kafka.producer();
    try {
      await ledger.writes.upsertAccount('acme', prepaid());
      await ledger.writes.addFunds('acme', {
        paymentRef: 'p1',
        amount: 1000n,
        currency: 'USD',
        purchasedAt: new Date(),
      });

      const app = await startApp(
        loadConfig({
          ...env,
          ...topics,
          REDIS_KEY_PREFIX: `${runId}:`,
          KAFKA_GROUP_ID: runId,
          KAFKA_TOPIC_PARTITIONS: '2',
          SCHEMA_REGISTRY_URL: registry.url,
          SCHEMA_REGISTRY_USERNAME: 'registry-key',
          SCHEMA_REGISTRY_PASSWORD_FILE: join(secrets, 'registry'),
        }),
        { pricer: new FlatPricer(), logger: silent },
      );
      apps.push(app);

      const start = new Date(Date.now() - 3_600_000);
      const cdr = (id: string, duration: number) => ({
        id,
        tenantId: 'acme',
        callType: 'user_out',
        startDateTime: start.toISOString(),
        endDateTime: new Date(start.getTime() + duration * 1000).toISOString(),
        duration,
        calleeNumber: '+442071234567',
        callerNumber: '+14155550100',
        licenseCapability: 'MCOPSTNPP',
        usageCountryCode: 'US',
      });
      // One record in Avro: the service fetches its schema through the registry's basic auth.
      const schema = readFileSync(join(projectRoot, 'schemas', 'usage-cdr.v1.avsc'), 'utf8');
      const writer = new SchemaRegistry({ host: info.schemaRegistry.url });
      const { id } = await writer.register(
        { type: SchemaType.AVRO, schema },
        { subject: `${runId}-cdr-value` },
      );
      const fields = (JSON.parse(schema) as { fields: { name: string }[] }).fields.map((field) => field.name);
      const m4 = cdr('m4', 45) as Record<string, unknown>;
      const avro = await writer.encode(id, Object.fromEntries(fields.map((f) => [f, m4[f] ?? null])));

      await producer.connect();
      await producer.send({
        topic: topics.TOPIC_USAGE_IN,
        messages: [
          ...[cdr('m1', 125), cdr('m2', 30), cdr('m3', 600)].map((value) => ({
            key: value.tenantId,
            value: JSON.stringify(value),
          })),
          { key: 'acme', value: avro },
        ],
      });

      // FlatPricer: 10 a started minute and 5 a call: 35 + 15 + 105 + 15.
      const rated = await consumeMessages(kafka, topics.TOPIC_RATED_OUT, 4);
      const values = rated.map(
        (m: KafkaMessage) => JSON.parse(m.value!.toString()) as { id: string; charge: string },
      );
      expect(values.map((v) => [v.id, v.charge]).sort()).toEqual([
        ['m1', '0.35'],
        ['m2', '0.15'],
        ['m3', '1.05'],
        ['m4', '0.15'],
      ]);
      await eventually(async () =>
        expect((await ledger.reads.readAccount('acme'))!.balance).toBe(1000n - 170n),
      );
      expect(registry.seen.refused).toBe(0);
      expect(registry.seen.authorized).toBeGreaterThan(0);
      const events = await consumeMessages(kafka, topics.TOPIC_EVENTS_OUT, 1);
      expect(events.length).toBeGreaterThan(0);
    } finally {
      await producer.disconnect();
      redis.disconnect();
      await registry.close();
    }
  });

  /** The start's error message with `overrides`, and without the settings in `omit`. */
  const refusal = async (overrides: Record<string, string>, omit: string[] = []) => {
    const settings: Record<string, string> = { ...env, RATER_ROLES: 'relay', ...overrides };
    for (const name of omit) delete settings[name];
    try {
      const app = await startApp(loadConfig(settings), { logger: silent });
      apps.push(app);
      return 'started';
    } catch (error) {
      return (error as Error).message;
    }
  };

  it('stops the start on a wrong password, naming the setting', async () => {
    const wrong = join(secrets, 'wrong');
    writeFileSync(wrong, 'not-the-password\n');
    expect(await refusal({ REDIS_PASSWORD_FILE: wrong })).toMatch(
      /^Redis refused the credentials \(REDIS_USERNAME, REDIS_PASSWORD\): WRONGPASS/,
    );
    expect(await refusal({ KAFKA_SASL_PASSWORD_FILE: wrong })).toMatch(
      /^Kafka refused the SASL credentials \(KAFKA_SASL_MECHANISM, KAFKA_SASL_USERNAME, KAFKA_SASL_PASSWORD\)/,
    );
  });

  it('stops the start on a CA that did not sign the servers, naming the setting', async () => {
    const other = makeCertificates(join(secrets, 'other-ca'), 'another');
    expect(await refusal({ REDIS_TLS_CA_FILE: other.caFile })).toMatch(
      /^Redis's TLS certificate is not trusted \(REDIS_TLS_CA_FILE\)/,
    );
    expect(await refusal({ KAFKA_SSL_CA_FILE: other.caFile })).toMatch(
      /^Kafka's TLS certificate is not trusted \(KAFKA_SSL_CA_FILE\)/,
    );
  });

  it('stops the start without a client certificate, or with one of another CA, naming the setting', async () => {
    expect(await refusal({}, ['REDIS_TLS_CERT_FILE', 'REDIS_TLS_KEY_FILE'])).toMatch(
      /^Redis refused the TLS client certificate, or wants one \(REDIS_TLS_CERT_FILE, REDIS_TLS_KEY_FILE\): .*alert certificate required/,
    );
    const other = makeCertificates(join(secrets, 'other-client-ca'), 'another');
    expect(
      await refusal({ REDIS_TLS_CERT_FILE: other.clientCertFile, REDIS_TLS_KEY_FILE: other.clientKeyFile }),
    ).toMatch(
      /^Redis refused the TLS client certificate, or wants one \(REDIS_TLS_CERT_FILE, REDIS_TLS_KEY_FILE\): .*alert unknown ca/,
    );
    // Kafka's comes after kafkajs's connection retries (about 10 s).
    expect(await refusal({}, ['KAFKA_SSL_CERT_FILE', 'KAFKA_SSL_KEY_FILE'])).toMatch(
      /^Kafka refused the TLS client certificate, or wants one \(KAFKA_SSL_CERT_FILE, KAFKA_SSL_KEY_FILE\): .*alert bad certificate/,
    );
  });
});
