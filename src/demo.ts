import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { SchemaRegistry, SchemaType } from '@kafkajs/confluent-schema-registry';
import Redis from 'ioredis';
import { Kafka, logLevel, Partitioners } from 'kafkajs';
import { loadConfig } from './config';
import { down, stackEnv, up } from './stack/stack';
import { projectRoot } from './stack/toolchain';

/**
 * The main job on the local stack: starts Kafka, Redis and the schema registry, sends sample
 * CDRs through the usage topic (JSON and Avro), reads them back, and runs a ledger-style Lua
 * script on Redis. `--keep` leaves the stack running afterwards.
 */
async function main(): Promise<void> {
  const keep = process.argv.includes('--keep');
  const dir = join(projectRoot, '.stack', 'demo');
  const started = Date.now();
  const stack = await up(dir);
  console.log(`stack up in ${Date.now() - started} ms: ${JSON.stringify(stackEnv(stack))}`);
  try {
    await roundTrip(loadConfig({ ...process.env, ...stackEnv(stack) }));
  } finally {
    if (keep) console.log(`stack left running in ${dir}; stop it with: npm run stack -- down --dir ${dir}`);
    else await down(dir);
  }
}

async function roundTrip(config: ReturnType<typeof loadConfig>): Promise<void> {
  const kafka = new Kafka({
    clientId: config.kafka.clientId,
    brokers: config.kafka.brokers,
    logLevel: logLevel.WARN,
  });
  const topic = config.kafka.topics.usageIn;
  const admin = kafka.admin();
  await admin.connect();
  await admin.createTopics({ topics: [{ topic, numPartitions: 3 }], waitForLeaders: true });
  await admin.disconnect();

  const registry = new SchemaRegistry({ host: config.schemaRegistry.url! });
  const schema = readFileSync(join(projectRoot, 'schemas', 'usage-cdr.v1.avsc'), 'utf8');
  const { id: schemaId } = await registry.register(
    { type: SchemaType.AVRO, schema },
    { subject: `${topic}-value` },
  );
  const cdr = {
    id: 'demo-usage-1',
    tenantId: 'tenant-acme',
    callType: 'user_out',
    startDateTime: '2026-11-24T09:00:00Z',
    duration: 125,
    calleeNumber: '+442071234567',
    callerNumber: '+14155550100',
    licenseCapability: 'MCOPSTN1',
    usageCountryCode: 'US',
  };
  const avroCdr = { ...cdr, id: 'demo-usage-2' };

  const producer = kafka.producer({ createPartitioner: Partitioners.DefaultPartitioner });
  await producer.connect();
  await producer.send({
    topic,
    messages: [
      { key: cdr.tenantId, value: JSON.stringify(cdr) },
      { key: avroCdr.tenantId, value: await registry.encode(schemaId, avroCdr) },
    ],
  });
  await producer.disconnect();
  console.log(`sent 2 CDRs to ${topic} (one JSON, one Avro with schema id ${schemaId})`);

  const consumer = kafka.consumer({ groupId: 'demo' });
  await consumer.connect();
  await consumer.subscribe({ topic, fromBeginning: true });
  await new Promise<void>((resolve) => {
    let seen = 0;
    void consumer.run({
      eachMessage: async ({ partition, message }) => {
        const value = message.value!;
        const record = value[0] === 0 ? await registry.decode(value) : JSON.parse(value.toString());
        const format = value[0] === 0 ? 'avro' : 'json';
        console.log(
          `received ${format} CDR ${record.id} from partition ${partition}: ${record.duration} s to ${record.calleeNumber}`,
        );
        if (++seen === 2) resolve();
      },
    });
  });
  await consumer.disconnect();

  const redis = new Redis(config.redis.url);
  const script = `if redis.call('SET', KEYS[2], '1', 'NX') then return redis.call('DECRBY', KEYS[1], ARGV[1]) end
    return tonumber(redis.call('GET', KEYS[1]))`;
  await redis.set('{t:tenant-acme}:demo-balance', 1000);
  for (const usage of ['demo-usage-1', 'demo-usage-1']) {
    const left = await redis.eval(
      script,
      2,
      '{t:tenant-acme}:demo-balance',
      `{t:tenant-acme}:demo-applied:${usage}`,
      250,
    );
    console.log(`Lua debit of 250 for ${usage}: balance ${String(left)} (a repeat changes nothing)`);
  }
  redis.disconnect();
}

main().catch((error: unknown) => {
  console.error(error instanceof Error ? error.message : error);
  process.exit(1);
});
