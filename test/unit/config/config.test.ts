import { ConfigError, loadConfig } from '../../../src/config';

const valid = {
  KAFKA_BROKERS: '127.0.0.1:9092, 127.0.0.1:9093',
  REDIS_URL: 'redis://127.0.0.1:6379',
};

describe('loadConfig', () => {
  it('reads and types the environment, with the contract topic names by default', () => {
    expect(loadConfig(valid)).toEqual({
      kafka: {
        brokers: ['127.0.0.1:9092', '127.0.0.1:9093'],
        clientId: 'rater',
        topics: {
          usageIn: 'usage.cdr.v1',
          ratedOut: 'usage.rated.v1',
          eventsOut: 'credits.events.v1',
          deadLetter: 'usage.cdr.dlq.v1',
        },
      },
      redis: { url: 'redis://127.0.0.1:6379' },
      schemaRegistry: { url: undefined },
      http: { host: '127.0.0.1', port: 8080 },
      logLevel: 'info',
    });
  });

  it('takes overrides of every topic name', () => {
    const config = loadConfig({ ...valid, TOPIC_USAGE_IN: 'cdr.in', TOPIC_DEAD_LETTER: 'cdr.dlq' });
    expect(config.kafka.topics.usageIn).toBe('cdr.in');
    expect(config.kafka.topics.deadLetter).toBe('cdr.dlq');
  });

  it('names every missing or bad variable at once', () => {
    const attempt = () =>
      loadConfig({
        KAFKA_BROKERS: 'localhost',
        SCHEMA_REGISTRY_URL: 'not a url',
        LOG_LEVEL: 'loud',
        HTTP_PORT: '70000',
      });
    expect(attempt).toThrow(ConfigError);
    expect(attempt).toThrow(/KAFKA_BROKERS\[0\]: must be host:port/);
    expect(attempt).toThrow(/REDIS_URL: is required/);
    expect(attempt).toThrow(/SCHEMA_REGISTRY_URL: /);
    expect(attempt).toThrow(/LOG_LEVEL: /);
    expect(attempt).toThrow(/HTTP_PORT: /);
  });

  it('refuses a Redis URL of another scheme', () => {
    expect(() => loadConfig({ ...valid, REDIS_URL: 'http://127.0.0.1:6379' })).toThrow(
      /REDIS_URL: must be a redis:\/\/ or rediss:\/\/ URL/,
    );
  });
});
