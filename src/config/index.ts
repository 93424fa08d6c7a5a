import { z } from 'zod';

/** Topic names of ../shared/CONTRACTS.md; each one configurable. */
const topics = z.object({
  usageIn: z.string().min(1).default('usage.cdr.v1'),
  ratedOut: z.string().min(1).default('usage.rated.v1'),
  eventsOut: z.string().min(1).default('credits.events.v1'),
  deadLetter: z.string().min(1).default('usage.cdr.dlq.v1'),
});

const brokerList = z
  .string({ error: 'is required (comma-separated host:port list)' })
  .transform((value) => value.split(',').map((broker) => broker.trim()))
  .pipe(z.array(z.string().regex(/^[^:\s]+:\d{1,5}$/, 'must be host:port')).min(1));

const configSchema = z.object({
  kafka: z.object({
    brokers: brokerList,
    clientId: z.string().min(1).default('rater'),
    topics,
  }),
  redis: z.object({
    url: z.url({
      protocol: /^rediss?$/,
      error: (issue) => (issue.input === undefined ? 'is required' : 'must be a redis:// or rediss:// URL'),
    }),
  }),
  schemaRegistry: z.object({ url: z.url().optional() }),
  http: z.object({
    host: z.string().min(1).default('127.0.0.1'),
    port: z.coerce.number().int().min(0).max(65535).default(8080),
  }),
  logLevel: z.enum(['fatal', 'error', 'warn', 'info', 'debug', 'trace', 'silent']).default('info'),
});

export type Config = z.infer<typeof configSchema>;

/** The environment variable each setting is read from, for error messages and the README. */
const ENV_NAMES: Record<string, string> = {
  'kafka.brokers': 'KAFKA_BROKERS',
  'kafka.clientId': 'KAFKA_CLIENT_ID',
  'kafka.topics.usageIn': 'TOPIC_USAGE_IN',
  'kafka.topics.ratedOut': 'TOPIC_RATED_OUT',
  'kafka.topics.eventsOut': 'TOPIC_EVENTS_OUT',
  'kafka.topics.deadLetter': 'TOPIC_DEAD_LETTER',
  'redis.url': 'REDIS_URL',
  'schemaRegistry.url': 'SCHEMA_REGISTRY_URL',
  'http.host': 'HTTP_HOST',
  'http.port': 'HTTP_PORT',
  logLevel: 'LOG_LEVEL',
};

export class ConfigError extends Error {
  override readonly name = 'ConfigError';
}

/** Reads the configuration once, at start-up; a missing or bad value stops the start with its name. */
export function loadConfig(env: NodeJS.ProcessEnv = process.env): Config {
  const read = (path: string) => {
    const value = env[ENV_NAMES[path]!];
    return value === '' ? undefined : value;
  };
  const result = configSchema.safeParse({
    kafka: {
      brokers: read('kafka.brokers'),
      clientId: read('kafka.clientId'),
      topics: {
        usageIn: read('kafka.topics.usageIn'),
        ratedOut: read('kafka.topics.ratedOut'),
        eventsOut: read('kafka.topics.eventsOut'),
        deadLetter: read('kafka.topics.deadLetter'),
      },
    },
    redis: { url: read('redis.url') },
    schemaRegistry: { url: read('schemaRegistry.url') },
    http: { host: read('http.host'), port: read('http.port') },
    logLevel: read('logLevel'),
  });
  if (!result.success) {
    const problems = result.error.issues.map((issue) => {
      const path = issue.path.filter((key) => typeof key === 'string').join('.');
      const index = issue.path.filter((key) => typeof key === 'number').map((i) => `[${i}]`);
      return `${ENV_NAMES[path] ?? path}${index.join('')}: ${issue.message}`;
    });
    throw new ConfigError(`invalid configuration:\n  ${problems.join('\n  ')}`);
  }
  return result.data;
}
