import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { Kafka, logLevel } from 'kafkajs';
import { RaterProcess, startRater as startRaterProcess, stopRater } from '../../tools/chaos/rater-process';
import { caughtUp, scanTopic, TopicMessage } from '../../tools/chaos/topics';
import { readStack, StackInfo, stackEnv } from '../../tools/stack/stack';
import { projectRoot } from '../../tools/stack/toolchain';
import { uniqueName } from './stack';
import { eventually } from './wait';

const logDir = join(projectRoot, '.cache', 'fault-logs');

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
export function deploymentEnv(stack: StackInfo = faultStack()): Record<string, string> {
  return {
    ...stackEnv(stack),
    HTTP_PORT: '0',
    RATER_ROLES: 'consumer,relay,api',
    PAYMENT_GATEWAY: 'none',
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

export type { RaterProcess };

/** Starts the service (test/support/rater-process.ts) as a process of its own. */
export function startRater(env: Record<string, string>, name: string): RaterProcess {
  return startRaterProcess({
    env,
    name,
    logDir,
    script: ['--require', 'tsx/cjs', join(projectRoot, 'test', 'support', 'rater-process.ts')],
    readyMarker: 'ready ',
  });
}

/** The base URL a started rater printed on its ready line (its log is written a moment later). */
export async function raterUrl(rater: RaterProcess): Promise<string> {
  await rater.ready;
  return eventually(() => {
    const lines = readFileSync(join(logDir, `${rater.name}.log`), 'utf8');
    const url = [...lines.matchAll(/^ready (http:\/\/\S+)$/gm)].pop()?.[1];
    if (!url) throw new Error(`rater ${rater.name} has not printed its URL`);
    return url;
  }, 10_000);
}

/** The rater's log so far (kafkajs's lines and the service's). */
export const raterLog = (rater: RaterProcess) => readFileSync(join(logDir, `${rater.name}.log`), 'utf8');

export const kill = (rater: RaterProcess, signal: NodeJS.Signals = 'SIGKILL') => stopRater(rater, signal);

export { caughtUp };

/** Every message of a topic, read by a fresh group. */
export async function readAll(kafka: Kafka, topic: string): Promise<TopicMessage[]> {
  const messages: TopicMessage[] = [];
  await scanTopic(kafka, topic, (message) => messages.push(message));
  return messages;
}
