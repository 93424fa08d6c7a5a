import type { Cluster, Redis } from 'ioredis';
import type { Admin, Kafka, Producer } from 'kafkajs';
import type { Logger } from 'pino';
import type { Config } from './config';
import type { PipelineInstrumentation } from './shared/instrumentation';
import type { Ledger } from './ledger/open-ledger';

/** The connections and shared parts every role is built from. */
export interface Wiring {
  config: Config;
  logger: Logger;
  instrumentation: PipelineInstrumentation;
  redis: Redis | Cluster;
  ledger: Ledger;
  kafka: Kafka;
  admin: Admin;
  producer: Producer;
  /** Run in order on stop: a role that must finish first is put in front (unshift). */
  stops: (() => Promise<void>)[];
}
