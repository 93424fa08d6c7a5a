import { ChildProcess, spawn } from 'node:child_process';
import { createWriteStream, mkdirSync } from 'node:fs';
import { join } from 'node:path';
import { Admin, Kafka, logLevel } from 'kafkajs';
import { readStack, StackInfo, stackEnv } from '../../src/stack/stack';
import { projectRoot } from '../../src/stack/toolchain';
import { uniqueName } from './stack';

export function faultStack(): StackInfo {
  const info = readStack(process.env.RATER_FAULT_STACK_DIR!);
  if (!info) throw new Error('no fault stack: run through jest so its global setup starts one');
  return info;
}

export function faultKafka(): Kafka {
  return new Kafka({
    clientId: uniqueName('fault'),
    brokers: faultStack().kafka.brokers,
    logLevel: logLevel.NOTHING,
  });
}

/** The environment of one rater deployment: its own topics, group and Redis namespace. */
export function deploymentEnv(): Record<string, string> {
  return {
    ...stackEnv(faultStack()),
    HTTP_PORT: '0',
    RATER_ROLES: 'consumer,relay,api',
    KAFKA_GROUP_ID: uniqueName('rater'),
    KAFKA_SESSION_TIMEOUT_MS: '6000',
    KAFKA_TOPIC_PARTITIONS: '4',
    TOPIC_USAGE_IN: uniqueName('cdr'),
    TOPIC_RATED_OUT: uniqueName('rated'),
    TOPIC_EVENTS_OUT: uniqueName('events'),
    TOPIC_DEAD_LETTER: uniqueName('dlq'),
    REDIS_KEY_PREFIX: `${uniqueName('f')}:`,
    OUTBOX_SWEEP_INTERVAL_MS: '200',
  };
}

export interface RaterProcess {
  child: ChildProcess;
  ready: Promise<void>;
  exited: Promise<number | null>;
}

/** Starts the service (test/support/rater-process.ts) as a process of its own. */
export function startRater(env: Record<string, string>, name: string): RaterProcess {
  const logs = join(projectRoot, '.cache', 'fault-logs');
  mkdirSync(logs, { recursive: true });
  const child = spawn(
    process.execPath,
    ['--require', 'tsx/cjs', join(projectRoot, 'test', 'support', 'rater-process.ts')],
    {
      cwd: projectRoot,
      env: { ...process.env, ...env },
      stdio: ['ignore', 'pipe', 'pipe'],
    },
  );
  const log = createWriteStream(join(logs, `${name}.log`), { flags: 'a' });
  child.stderr!.pipe(log);
  const exited = new Promise<number | null>((resolve) => child.once('exit', (code) => resolve(code)));
  const ready = new Promise<void>((resolve, reject) => {
    child.stdout!.on('data', (chunk: Buffer) => {
      log.write(chunk);
      if (chunk.toString().includes('ready ')) resolve();
    });
    void exited.then((code) => reject(new Error(`rater ${name} exited with ${code} before it was ready`)));
  });
  return { child, ready, exited };
}

export async function kill(rater: RaterProcess, signal: NodeJS.Signals = 'SIGKILL'): Promise<void> {
  if (rater.child.exitCode === null && rater.child.signalCode === null) rater.child.kill(signal);
  await rater.exited;
}

/** True once the group has committed every message of the topic. */
export async function caughtUp(admin: Admin, groupId: string, topic: string): Promise<boolean> {
  const [ends, committed] = await Promise.all([
    admin.fetchTopicOffsets(topic),
    admin.fetchOffsets({ groupId, topics: [topic] }),
  ]);
  const done = new Map(committed[0]!.partitions.map((p) => [p.partition, BigInt(p.offset)]));
  return ends.every((end) => BigInt(end.high) === 0n || done.get(end.partition) === BigInt(end.high));
}

/** Every message of a topic, read by a fresh group. */
export async function readAll(kafka: Kafka, topic: string) {
  const admin = kafka.admin();
  await admin.connect();
  const ends = await admin.fetchTopicOffsets(topic);
  await admin.disconnect();
  const total = ends.reduce((sum, p) => sum + Number(p.high) - Number(p.low), 0);
  const consumer = kafka.consumer({ groupId: uniqueName('reader') });
  const messages: { partition: number; key: string; value: Buffer; headers: Record<string, string> }[] = [];
  if (total === 0) return messages;
  await consumer.connect();
  await consumer.subscribe({ topic, fromBeginning: true });
  await new Promise<void>((resolve) => {
    void consumer.run({
      eachMessage: async ({ partition, message }) => {
        const headers = Object.fromEntries(
          Object.entries(message.headers ?? {}).map(([k, v]) => [k, String(v)]),
        );
        messages.push({ partition, key: message.key?.toString() ?? '', value: message.value!, headers });
        if (messages.length >= total) resolve();
      },
    });
  });
  await consumer.disconnect();
  return messages;
}
