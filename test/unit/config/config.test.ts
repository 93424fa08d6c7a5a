import { ConfigError, loadConfig } from '../../../src/config';

const valid = {
  KAFKA_BROKERS: '127.0.0.1:9092, 127.0.0.1:9093',
  REDIS_URL: 'redis://127.0.0.1:6379',
  PAYMENT_GATEWAY: 'stripe',
  STRIPE_API_KEY: 'sk_test_123',
};

describe('loadConfig', () => {
  it('reads and types the environment, with the contract topic names and safe defaults', () => {
    expect(loadConfig(valid)).toEqual({
      kafka: {
        brokers: ['127.0.0.1:9092', '127.0.0.1:9093'],
        clientId: 'rater',
        groupId: 'rater',
        sessionTimeoutMs: 30000,
        stuckPartitionSeconds: 60,
        createTopics: true,
        topicPartitions: 6,
        maxMessageBytes: 1048576,
        topics: {
          usageIn: 'usage.cdr.v1',
          ratedOut: 'usage.rated.v1',
          eventsOut: 'credits.events.v1',
          deadLetter: 'usage.cdr.dlq.v1',
        },
      },
      redis: { url: 'redis://127.0.0.1:6379', cluster: false, keyPrefix: '' },
      schemaRegistry: { url: undefined },
      http: { host: '127.0.0.1', port: 8080 },
      rates: { dir: 'rates' },
      ledger: { idempotencyRetentionDays: 35 },
      cdr: { maxRecordBytes: undefined, maxDepth: 32, futureSkewSeconds: 300, lateMarginHours: 24 },
      roles: ['consumer', 'relay', 'recharge', 'notifier', 'sweeper', 'api'],
      outbox: { eventsSource: '/rater/credits' },
      expiry: { sweepIntervalSeconds: 300 },
      mail: {
        smtpUrl: undefined,
        from: 'Communications credits <credits@rater.invalid>',
        notifyLowBalance: false,
      },
      api: { operatorTokenSha256: undefined },
      console: {
        enabled: true,
        sessionTtlMinutes: 480,
        secret: undefined,
        secretFile: undefined,
        secureCookies: 'auto',
      },
      payments: {
        gateway: 'stripe',
        stripeApiKey: 'sk_test_123',
        stripeApiKeyFile: undefined,
        stripeApiBase: undefined,
      },
      logLevel: 'info',
    });
  });

  it('takes overrides: topic names, roles, flags', () => {
    const config = loadConfig({
      ...valid,
      TOPIC_USAGE_IN: 'cdr.in',
      TOPIC_DEAD_LETTER: 'cdr.dlq',
      RATER_ROLES: 'consumer, relay',
      REDIS_CLUSTER: 'true',
      NOTIFY_LOW_BALANCE: 'yes',
    });
    expect(config.kafka.topics.usageIn).toBe('cdr.in');
    expect(config.kafka.topics.deadLetter).toBe('cdr.dlq');
    expect(config.roles).toEqual(['consumer', 'relay']);
    expect(config.redis.cluster).toBe(true);
    expect(config.mail.notifyLowBalance).toBe(true);
  });

  it('takes the limits on records, and refuses a late margin that leaves no window', () => {
    const config = loadConfig({
      ...valid,
      KAFKA_MAX_MESSAGE_BYTES: '2097152',
      CDR_MAX_RECORD_BYTES: '65536',
      CDR_MAX_DEPTH: '8',
      CDR_FUTURE_SKEW_SECONDS: '60',
      CDR_LATE_MARGIN_HOURS: '48',
    });
    expect(config.kafka.maxMessageBytes).toBe(2097152);
    expect(config.cdr).toEqual({
      maxRecordBytes: 65536,
      maxDepth: 8,
      futureSkewSeconds: 60,
      lateMarginHours: 48,
    });
    expect(() =>
      loadConfig({ ...valid, IDEMPOTENCY_RETENTION_DAYS: '2', CDR_LATE_MARGIN_HOURS: '48' }),
    ).toThrow(/CDR_LATE_MARGIN_HOURS: must be less than IDEMPOTENCY_RETENTION_DAYS in hours/);
    expect(() => loadConfig({ ...valid, CDR_MAX_DEPTH: '1' })).toThrow(/CDR_MAX_DEPTH: /);
  });

  it('names every missing or bad variable at once', () => {
    const attempt = () =>
      loadConfig({
        KAFKA_BROKERS: 'localhost',
        SCHEMA_REGISTRY_URL: 'not a url',
        LOG_LEVEL: 'loud',
        HTTP_PORT: '70000',
        RATER_ROLES: 'consumer,billing',
        REDIS_CLUSTER: 'perhaps',
      });
    expect(attempt).toThrow(ConfigError);
    expect(attempt).toThrow(/KAFKA_BROKERS\[0\]: must be host:port/);
    expect(attempt).toThrow(/REDIS_URL: is required/);
    expect(attempt).toThrow(/SCHEMA_REGISTRY_URL: /);
    expect(attempt).toThrow(/LOG_LEVEL: /);
    expect(attempt).toThrow(/HTTP_PORT: /);
    expect(attempt).toThrow(/RATER_ROLES\[1\]: must be all or a list of consumer, relay/);
    expect(attempt).toThrow(/REDIS_CLUSTER: must be true or false/);
  });

  it('refuses a Redis URL of another scheme', () => {
    expect(() => loadConfig({ ...valid, REDIS_URL: 'http://127.0.0.1:6379' })).toThrow(
      /REDIS_URL: must be a redis:\/\/ or rediss:\/\/ URL/,
    );
  });

  describe('payments', () => {
    const base = { KAFKA_BROKERS: '127.0.0.1:9092', REDIS_URL: 'redis://127.0.0.1:6379' };
    const problem = (env: Record<string, string>) => {
      try {
        loadConfig({ ...base, ...env });
        return 'accepted';
      } catch (error) {
        return (error as ConfigError).message;
      }
    };

    it('refuses the recharge and api roles without PAYMENT_GATEWAY, naming it', () => {
      expect(problem({})).toBe(
        'invalid configuration:\n  PAYMENT_GATEWAY: is required for the recharge and api roles: stripe (with STRIPE_API_KEY or STRIPE_API_KEY_FILE), simulated (tests and demos only), or none (api without purchases)',
      );
      expect(problem({ RATER_ROLES: 'api' })).toMatch(
        /^invalid configuration:\n {2}PAYMENT_GATEWAY: is required for the api role/,
      );
      expect(problem({ RATER_ROLES: 'consumer,relay,sweeper,notifier' })).toBe('accepted');
    });

    it('runs the api role without purchases only when told (none), never the recharge role', () => {
      expect(problem({ RATER_ROLES: 'api', PAYMENT_GATEWAY: 'none' })).toBe('accepted');
      expect(problem({ PAYMENT_GATEWAY: 'none' })).toContain(
        'PAYMENT_GATEWAY: none cannot serve the recharge role',
      );
      expect(problem({ PAYMENT_GATEWAY: 'simulated' })).toBe('accepted');
      expect(problem({ PAYMENT_GATEWAY: 'paypal' })).toMatch(
        /^invalid configuration:\n {2}PAYMENT_GATEWAY: /,
      );
    });

    it('needs exactly one Stripe key source, and a URL for the API base', () => {
      expect(problem({ PAYMENT_GATEWAY: 'stripe' })).toContain(
        'STRIPE_API_KEY: PAYMENT_GATEWAY=stripe needs exactly one of STRIPE_API_KEY or STRIPE_API_KEY_FILE',
      );
      expect(
        problem({
          PAYMENT_GATEWAY: 'stripe',
          STRIPE_API_KEY: 'sk_live_x',
          STRIPE_API_KEY_FILE: '/run/secrets/stripe',
        }),
      ).toContain('needs exactly one of');
      expect(problem({ PAYMENT_GATEWAY: 'stripe', STRIPE_API_KEY_FILE: '/run/secrets/stripe' })).toBe(
        'accepted',
      );
      expect(
        problem({ PAYMENT_GATEWAY: 'stripe', STRIPE_API_KEY: 'k', STRIPE_API_BASE: 'localhost:12111' }),
      ).toContain('STRIPE_API_BASE: must be an http:// or https:// URL');
    });
  });
});
