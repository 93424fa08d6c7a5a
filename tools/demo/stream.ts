/** The day's CDRs streamed to the rater (JSON and Avro), and the wait until it has settled them. */
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { SchemaRegistry, SchemaType } from '@kafkajs/confluent-schema-registry';
import { Kafka, logLevel, Partitioners } from 'kafkajs';
import type { Config } from '../../src/config';
import type { Ledger } from '../../src/ledger/open-ledger';
import { projectRoot } from '../stack/toolchain';
import type { DemoDay } from './day';
import { burstCalls, limitedUserCalls } from './scenes';

/**
 * Registers the Avro schema, encodes the day's records, adds this month's calls of the limited
 * user and this hour's of the burst user, and produces them all; `sentAt`: when the send began.
 */
export async function streamDay(config: Config, day: DemoDay) {
  const kafka = new Kafka({ clientId: 'demo', brokers: config.kafka.brokers, logLevel: logLevel.NOTHING });
  const registry = new SchemaRegistry({ host: config.schemaRegistry.url! });
  const schema = readFileSync(join(projectRoot, 'schemas', 'usage-cdr.v1.avsc'), 'utf8');
  const { id: schemaId } = await registry.register(
    { type: SchemaType.AVRO, schema },
    { subject: `${config.kafka.topics.usageIn}-value` },
  );
  const producer = kafka.producer({ createPartitioner: Partitioners.DefaultPartitioner });
  await producer.connect();
  const messages = await Promise.all(
    day.records.map(async (r) => ({
      key: r.key,
      value: r.avro ? await registry.encode(schemaId, r.avro) : r.json!,
    })),
  );
  const eve = limitedUserCalls(new Date());
  const mallory = burstCalls(new Date());
  messages.push(...[...eve, ...mallory].map((r) => ({ key: r.key, value: r.json })));
  const sentAt = Date.now();
  await producer.send({ topic: config.kafka.topics.usageIn, messages });
  await producer.disconnect();
  return { kafka, sentAt, sent: { total: messages.length, eve: eve.length, mallory: mallory.length } };
}

/** Until every CDR is committed, the outbox is empty and no new mail came for 3 s (at most 2 min). */
export async function waitUntilSettled(
  kafka: Kafka,
  groupId: string,
  topic: string,
  ledger: Ledger,
  mails: () => number,
) {
  const admin = kafka.admin();
  await admin.connect();
  const deadline = Date.now() + 120_000;
  let quiet = 0;
  let lastMails = -1;
  while (Date.now() < deadline) {
    const [ends, committed] = await Promise.all([
      admin.fetchTopicOffsets(topic),
      admin.fetchOffsets({ groupId, topics: [topic] }),
    ]);
    const done = new Map(committed[0]!.partitions.map((p) => [p.partition, p.offset]));
    const consumed = ends.every((e) => done.get(e.partition) === e.high);
    const { backlog: outboxBacklog } = await ledger.indexes.gauges();
    quiet = consumed && outboxBacklog === 0 && mails() === lastMails ? quiet + 1 : 0;
    lastMails = mails();
    if (quiet >= 6) break;
    await new Promise((resolve) => setTimeout(resolve, 500));
  }
  await admin.disconnect();
}
