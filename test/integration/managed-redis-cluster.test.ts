import { mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import Redis, { Cluster } from 'ioredis';
import { KafkaMessage, logLevel } from 'kafkajs';
import pino from 'pino';
import { App, startApp } from '../../src/app';
import { loadConfig } from '../../src/config';
import { kafkaClient } from '../../src/kafka/kafka-client';
import { tenantKeys } from '../../src/ledger/keys';
import { openLedger } from '../../src/ledger/open-ledger';
import { connectRedis } from '../../src/ledger/redis-connection';
import { clusterTopology, readCluster } from '../../tools/stack/redis-cluster';
import { killMaster, startClusterNode, waitForFailover } from '../../tools/stack/redis-cluster-faults';
import { withNode } from '../../tools/stack/servers';
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
 * The service against a Redis Cluster as a managed service runs one: every node only on TLS
 * (clients, cluster bus, replication) with a client certificate required, the default user
 * off, the service logging in as an ACL user on every node it is redirected to; Kafka on
 * SASL_SSL with a client certificate. The stack is this test's own
 * (`.stack/secured-cluster`), started with `--secured --redis-cluster`.
 */
describe('managed Redis Cluster: mutual TLS and an ACL user on every node', () => {
  const dir = join(projectRoot, '.stack', 'secured-cluster');
  const secrets = mkdtempSync(join(tmpdir(), 'rater-secrets-'));
  let info: StackInfo;
  let env: Record<string, string>;
  const apps: App[] = [];

  beforeAll(async () => {
    info = await up(dir, { secured: true, redisCluster: true });
    const { KAFKA_SASL_PASSWORD, REDIS_PASSWORD, ...rest } = securedStackEnv(info, { redisCluster: true });
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

  it('is reached only over TLS with a client certificate and only as the ACL user', async () => {
    expect(env.REDIS_URL).toMatch(/^rediss:\/\/127\.0\.0\.1:\d+$/);
    expect(env.REDIS_CLUSTER).toBe('true');
    const seed = info.redisCluster!.nodes[0]!;
    const secured = info.secured!;
    // No plain-text port: a client without TLS gets nowhere.
    await expect(withNode(seed.host, seed.port, (c) => c.ping())).rejects.toThrow();
    const ca = readFileSync(secured.caFile, 'utf8');
    // TLS without a client certificate: refused in the handshake, before any login.
    await expect(
      withNode(seed.host, seed.port, (c) => c.ping(), { ...secured, tlsCaFile: secured.caFile }),
    ).rejects.toThrow();
    // TLS with the client certificate, without logging in: the default user is off.
    const anonymous = new Redis({
      host: seed.host,
      port: seed.port,
      tls: {
        ca,
        cert: readFileSync(secured.clientCertFile, 'utf8'),
        key: readFileSync(secured.clientKeyFile, 'utf8'),
      },
      lazyConnect: true,
      maxRetriesPerRequest: 0,
      retryStrategy: () => null,
    });
    anonymous.on('error', () => undefined);
    try {
      await expect(anonymous.ping()).rejects.toThrow(/NOAUTH/);
    } finally {
      anonymous.disconnect();
    }
    const nodes = await clusterTopology(readCluster(info.redisCluster!.dir)!);
    expect(nodes.filter((n) => n.role === 'master')).toHaveLength(3);
    expect(nodes.filter((n) => n.role === 'replica')).toHaveLength(3);
  });

  it('streams usage end to end into the TLS cluster: tenants on several masters debited, rated records out', async () => {
    const runId = uniqueName('managed-cluster');
    const topics = {
      TOPIC_USAGE_IN: `${runId}.cdr`,
      TOPIC_RATED_OUT: `${runId}.rated`,
      TOPIC_EVENTS_OUT: `${runId}.events`,
      TOPIC_DEAD_LETTER: `${runId}.dlq`,
    };
    const settings = { ...env, ...topics, REDIS_KEY_PREFIX: `${runId}:` };
    const config = loadConfig(settings);
    expect(config.redis.password).toBe(info.secured!.password);
    expect(config.redis.cluster).toBe(true);

    const redis = connectRedis(config.redis) as Cluster;
    const ledger = openLedger(redis, { prefix: `${runId}:` });
    const kafka = kafkaClient(config.kafka, { clientId: runId, logLevel: logLevel.NOTHING });
    const producer = kafka.producer();
    const tenants = Array.from({ length: 6 }, (_, i) => `acme-${i}`);
    try {
      for (const tenant of tenants) {
        await ledger.writes.upsertAccount(tenant, prepaid());
        await ledger.writes.addFunds(tenant, {
          paymentRef: 'p1',
          amount: 1000n,
          currency: 'USD',
          purchasedAt: new Date(),
        });
      }
      // The tenants' hash tags put them on more than one master: the service follows the
      // slot map to each over TLS and logs in there too.
      const slotOf = async (tenant: string) =>
        Number(await redis.cluster('KEYSLOT', tenantKeys(tenant, `${runId}:`).account));
      const masterPorts = new Set(
        await Promise.all(
          tenants.map(async (tenant) => {
            const slot = await slotOf(tenant);
            const owner = redis.slots[slot]![0]!;
            return owner.split(':').pop();
          }),
        ),
      );
      expect(masterPorts.size).toBeGreaterThanOrEqual(2);

      const app = await startApp(
        loadConfig({ ...settings, KAFKA_GROUP_ID: runId, KAFKA_TOPIC_PARTITIONS: '2' }),
        { pricer: new FlatPricer(), logger: silent },
      );
      apps.push(app);

      const start = new Date(Date.now() - 3_600_000);
      const cdr = (tenantId: string, id: string, duration: number) => ({
        id,
        tenantId,
        callType: 'user_out',
        startDateTime: start.toISOString(),
        endDateTime: new Date(start.getTime() + duration * 1000).toISOString(),
        duration,
        calleeNumber: '+442071234567',
        callerNumber: '+14155550100',
        licenseCapability: 'MCOPSTNPP',
        usageCountryCode: 'US',
      });
      await producer.connect();
      await producer.send({
        topic: topics.TOPIC_USAGE_IN,
        messages: tenants.flatMap((tenant) =>
          [cdr(tenant, `${tenant}-m1`, 125), cdr(tenant, `${tenant}-m2`, 30)].map((value) => ({
            key: tenant,
            value: JSON.stringify(value),
          })),
        ),
      });

      // FlatPricer: 10 a started minute and 5 a call: 35 + 15 for each tenant.
      const rated = await consumeMessages(kafka, topics.TOPIC_RATED_OUT, tenants.length * 2);
      const charges = rated.map((m: KafkaMessage) => JSON.parse(m.value!.toString()) as { charge: string });
      expect(charges.map((v) => v.charge).sort()).toEqual([
        ...Array<string>(tenants.length).fill('0.15'),
        ...Array<string>(tenants.length).fill('0.35'),
      ]);
      for (const tenant of tenants)
        await eventually(async () =>
          expect((await ledger.reads.readAccount(tenant))!.balance).toBe(1000n - 50n),
        );
      const events = await consumeMessages(kafka, topics.TOPIC_EVENTS_OUT, 1);
      expect(events.length).toBeGreaterThan(0);
    } finally {
      await producer.disconnect();
      redis.disconnect();
    }
  });

  it("fails over with the stack's tools: a master killed, its replica promoted, the node back as a replica", async () => {
    const clusterDir = info.redisCluster!.dir;
    const seed = info.redisCluster!.nodes[0]!;
    const killed = await killMaster(clusterDir, { except: [seed.port] });
    const { promoted } = await waitForFailover(clusterDir, killed);
    expect(promoted.slots).toEqual(killed.slots);
    const healthy = await startClusterNode(clusterDir, killed.name);
    expect(healthy.nodes.find((n) => n.name === killed.name)!.role).toBe('replica');
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
  });

  it('stops the start on a CA that did not sign the nodes, naming the setting', async () => {
    const other = makeCertificates(join(secrets, 'other-ca'), 'another');
    expect(await refusal({ REDIS_TLS_CA_FILE: other.caFile })).toMatch(
      /^Redis's TLS certificate is not trusted \(REDIS_TLS_CA_FILE\)/,
    );
  });

  it('stops the start without a client certificate, naming the setting', async () => {
    expect(await refusal({}, ['REDIS_TLS_CERT_FILE', 'REDIS_TLS_KEY_FILE'])).toMatch(
      /^Redis refused the TLS client certificate, or wants one \(REDIS_TLS_CERT_FILE, REDIS_TLS_KEY_FILE\)/,
    );
  });
});
