import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { SchemaRegistry, SchemaType } from '@kafkajs/confluent-schema-registry';
import Redis from 'ioredis';
import { Kafka, logLevel, Partitioners, Producer } from 'kafkajs';
import { down, pauseService, startService, StackInfo, stopService, up } from '../../tools/stack/stack';
import { projectRoot } from '../../tools/stack/toolchain';
import { deploymentEnv, kill, RaterProcess, raterLog, raterUrl, readAll, startRater } from '../support/fault';
import { generate, setUpTenants, verify } from '../support/fault-stream';
import { rulesWithHoldTime, startPrometheus } from '../support/prometheus';
import { uniqueName } from '../support/stack';
import { eventually } from '../support/wait';

jest.setTimeout(400_000);

const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

interface Readiness {
  status: number;
  checks: Record<string, string>;
}
async function readiness(url: string): Promise<Readiness> {
  const response = await fetch(`${url}/readyz`);
  return {
    status: response.status,
    checks: ((await response.json()) as { checks: Record<string, string> }).checks,
  };
}

/**
 * Outages that are waited out: Redis hanging (SIGSTOP) mid-stream, the schema registry down
 * while Avro records arrive. On a stack of its own: pausing Redis or stopping the registry
 * must not meet the other fault tests' restarts.
 */
describe('outages: the service waits, says it is not ready, then carries on', () => {
  const dir = join(projectRoot, '.stack', 'fault-outages');
  let stack: StackInfo;
  let kafka: Kafka;
  let producer: Producer;
  let redis: Redis;
  const raters: RaterProcess[] = [];

  beforeAll(async () => {
    stack = await up(dir);
    kafka = new Kafka({
      clientId: uniqueName('outages'),
      brokers: stack.kafka.brokers,
      logLevel: logLevel.NOTHING,
    });
    producer = kafka.producer({ createPartitioner: Partitioners.DefaultPartitioner, idempotent: true });
    await producer.connect();
    redis = new Redis(stack.redis.url);
  });
  afterAll(async () => {
    pauseService('redis', false, dir);
    await Promise.all(raters.map((r) => kill(r)));
    await producer?.disconnect();
    redis?.disconnect();
    await down(dir);
  });

  function launch(env: Record<string, string>, name: string) {
    const rater = startRater(env, uniqueName(name));
    raters.push(rater);
    return rater;
  }

  it('waits out a Redis that hangs for 40 s: not ready naming the partition, the alert fires in Prometheus, then every record is accounted for', async () => {
    const env: Record<string, string> = { ...deploymentEnv(stack), STUCK_PARTITION_SECONDS: '5' };
    const ledger = await setUpTenants(redis, env);
    const records = generate(4000, 5);
    const rater = launch(env, 'freeze');
    await rater.ready;
    const url = await raterUrl(rater);
    // The shipped rule, with a hold time of 4 s instead of the shipped one (see README).
    const prometheus = await startPrometheus({
      targets: [new URL(url).host],
      intervalSeconds: 2,
      rules: rulesWithHoldTime(join(projectRoot, 'deploy', 'prometheus', 'alerts.yml'), {
        RaterPartitionStuck: '4s',
      }),
    });
    const stuckAlerts = async () =>
      (await prometheus.alerts()).filter((a) => a.labels.alertname === 'RaterPartitionStuck');
    try {
      const half = records.length / 2;
      const send = (slice: typeof records) =>
        producer.send({
          topic: env.TOPIC_USAGE_IN!,
          messages: slice.map(({ key, value }) => ({ key, value })),
        });
      await send(records.slice(0, half));
      await sleep(300); // batches in flight
      pauseService('redis', true, dir);
      const frozenAt = Date.now();
      await send(records.slice(half));

      // While Redis hangs: not ready, and why, by partition; the alert firing in Prometheus.
      const during = await eventually(
        async () => {
          const r = await readiness(url);
          expect(r.status).toBe(503);
          expect(r.checks.partitions).toMatch(
            /^stuck: \S+\/\d+: ledger retrying for \d+ s: Command timed out/,
          );
          return r;
        },
        30_000,
        500,
      );
      expect(during.checks.consumer).toBe('ok'); // still a member of its group
      await eventually(
        async () => expect((await stuckAlerts()).map((a) => a.state)).toEqual(['firing']),
        Math.max(1_000, 39_000 - (Date.now() - frozenAt)),
        500,
      );
      expect(Date.now() - frozenAt).toBeLessThan(40_000); // all of that while frozen
      await sleep(40_000 - (Date.now() - frozenAt));
      pauseService('redis', false, dir);

      // Every record rated once or dead-lettered once, every balance to the cent, no
      // partition left behind (the group committed everything).
      const counts = await verify(kafka, redis, env, ledger, records);
      expect(counts.distinct).toBeLessThanOrEqual(counts.rated);
      await eventually(async () => expect(await readiness(url)).toMatchObject({ status: 200 }), 60_000, 500);
      await eventually(async () => expect(await stuckAlerts()).toEqual([]), 60_000, 500);
      // The group session outlived the hang: no loop on a member id the coordinator forgot.
      expect(raterLog(rater).match(/not aware of this member/g) ?? []).toHaveLength(0);
    } finally {
      pauseService('redis', false, dir);
      await prometheus.stop();
      await kill(rater, 'SIGTERM');
    }
  });

  it('waits for the schema registry: Avro records of an uncached schema id are not dead-lettered while it is down', async () => {
    const env: Record<string, string> = { ...deploymentEnv(stack), STUCK_PARTITION_SECONDS: '5' };
    const ledger = await setUpTenants(redis, env);
    const registry = new SchemaRegistry({ host: stack.schemaRegistry.url });
    const schema = readFileSync(join(projectRoot, 'schemas', 'usage-cdr.v1.avsc'), 'utf8');
    const fields = (JSON.parse(schema) as { fields: { name: string }[] }).fields.map((f) => f.name);
    const { id } = await registry.register(
      { type: SchemaType.AVRO, schema },
      { subject: uniqueName('cdr-value') },
    );
    const records = generate(1000, 9);
    // Valid records as Avro (the malformed ones stay broken JSON, dead-lettered as before).
    const messages = await Promise.all(
      records.map(async ({ key, value, id: usageId }) => {
        if (!usageId) return { key, value };
        const cdr = JSON.parse(value) as Record<string, unknown>;
        return {
          key,
          value: await registry.encode(id, Object.fromEntries(fields.map((f) => [f, cdr[f] ?? null]))),
        };
      }),
    );
    const rater = launch(env, 'registry');
    await rater.ready;
    const url = await raterUrl(rater);
    try {
      await stopService('schema-registry', dir);
      await producer.send({ topic: env.TOPIC_USAGE_IN!, messages });

      await eventually(
        async () => {
          const r = await readiness(url);
          expect(r.status).toBe(503);
          expect(r.checks.partitions).toMatch(
            /^stuck: \S+\/\d+: registry retrying for \d+ s: schema registry unavailable/,
          );
        },
        60_000,
        500,
      );
      await sleep(3_000);
      // Only the malformed JSON records are dead letters; nothing for the registry's absence.
      const dead = await readAll(kafka, env.TOPIC_DEAD_LETTER!);
      expect(dead.filter((m) => m.headers['x-error-code'] !== 'malformed_json')).toEqual([]);

      // Back with the same schemas (persistent storage): every record rated.
      await startService('schema-registry', dir);
      await verify(kafka, redis, env, ledger, records);
      await eventually(async () => expect(await readiness(url)).toMatchObject({ status: 200 }), 60_000, 500);
    } finally {
      await startService('schema-registry', dir);
      await kill(rater, 'SIGTERM');
    }
  });
});
