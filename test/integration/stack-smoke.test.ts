import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { SchemaRegistry, SchemaType } from '@kafkajs/confluent-schema-registry';
import { Admin, Kafka, Partitioners, Producer } from 'kafkajs';
import Redis from 'ioredis';
import { projectRoot } from '../../tools/stack/toolchain';
import { consumeMessages, createTopics, testKafka, testRedis, testStack, uniqueName } from '../support/stack';

const sampleCdr = {
  id: 'usage-0001',
  tenantId: 'tenant-acme',
  callType: 'user_out',
  startDateTime: '2026-11-24T09:00:00Z',
  duration: 125,
  calleeNumber: '+442071234567',
  callerNumber: '+14155550100',
  endDateTime: null,
  numberType: 'subscriber',
  licenseCapability: 'MCOPSTN1',
  usageCountryCode: 'US',
  tenantCountryCode: 'US',
  destinationContext: 'International',
  userId: null,
  userPrincipalName: 'ana@acme.example',
  userDisplayName: null,
  callId: 'call-1',
  conferenceId: null,
  operator: null,
  callDurationSource: null,
};

describe('the local stack', () => {
  let kafka: Kafka;
  let admin: Admin;
  let producer: Producer;

  beforeAll(async () => {
    kafka = testKafka();
    admin = kafka.admin();
    producer = kafka.producer({ createPartitioner: Partitioners.DefaultPartitioner });
    await Promise.all([admin.connect(), producer.connect()]);
  });

  afterAll(async () => {
    await Promise.all([admin.disconnect(), producer.disconnect()]);
  });

  it('produces to and consumes from the real Kafka broker, key and headers intact', async () => {
    const topic = uniqueName('smoke');
    await createTopics(admin, [topic], 3);
    await producer.send({
      topic,
      messages: [
        { key: 'tenant-a', value: 'first', headers: { origin: 'smoke' } },
        { key: 'tenant-a', value: 'second' },
      ],
    });

    const messages = await consumeMessages(kafka, topic, 2);

    expect(messages.map((m) => [m.key?.toString(), m.value?.toString()])).toEqual([
      ['tenant-a', 'first'],
      ['tenant-a', 'second'],
    ]);
    expect(messages[0]?.headers?.origin?.toString()).toBe('smoke');
  });

  it('registers the shipped Avro schema in the real registry and round-trips a CDR through Kafka', async () => {
    const registry = new SchemaRegistry({ host: testStack().schemaRegistry.url });
    const schema = readFileSync(join(projectRoot, 'schemas', 'usage-cdr.v1.avsc'), 'utf8');
    const subject = uniqueName('usage.cdr.v1-value');
    const { id } = await registry.register({ type: SchemaType.AVRO, schema }, { subject });
    expect(await registry.getLatestSchemaId(subject)).toBe(id);

    const encoded = await registry.encode(id, sampleCdr);
    expect(encoded[0]).toBe(0); // Confluent wire format: magic byte, then the 4-byte schema id
    expect(encoded.readInt32BE(1)).toBe(id);

    const topic = uniqueName('smoke-avro');
    await createTopics(admin, [topic]);
    await producer.send({ topic, messages: [{ key: sampleCdr.tenantId, value: encoded }] });
    const [message] = await consumeMessages(kafka, topic, 1);

    // A fresh client has no cached schema: decoding fetches it from the registry by id.
    const decoder = new SchemaRegistry({ host: testStack().schemaRegistry.url });
    expect(await decoder.decode(message!.value!)).toEqual(sampleCdr);
  });

  it('runs a Lua script atomically on the real Redis', async () => {
    const { redis, prefix } = testRedis();
    try {
      redis.defineCommand('debitOnce', {
        numberOfKeys: 2,
        lua: `
          if redis.call('SET', KEYS[2], '1', 'NX') then
            return redis.call('DECRBY', KEYS[1], ARGV[1])
          end
          return tonumber(redis.call('GET', KEYS[1]))`,
      });
      const debitOnce = (usage: string) =>
        (redis as Redis & { debitOnce(k1: string, k2: string, a: number): Promise<number> }).debitOnce(
          'balance',
          `applied:${usage}`,
          250,
        );
      await redis.set('balance', 1000);

      expect(await debitOnce('u1')).toBe(750);
      expect(await debitOnce('u1')).toBe(750);
      expect(await debitOnce('u2')).toBe(500);
      expect(await redis.get('balance')).toBe('500');
      expect(((await redis.call('KEYS', `${prefix}*`)) as string[]).sort()).toEqual(
        ['applied:u1', 'applied:u2', 'balance'].map((key) => prefix + key),
      );
      expect(await redis.config('GET', 'appendonly')).toEqual(['appendonly', 'yes']);
      // Every acknowledged write is on disk (README, "Durability").
      expect(await redis.config('GET', 'appendfsync')).toEqual(['appendfsync', 'always']);
    } finally {
      redis.disconnect();
    }
  });
});
