import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
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
        ssl: false,
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
      sessions: { grantSeconds: 300, graceSeconds: 30, retentionHours: 24, sweepIntervalSeconds: 10 },
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

  describe('managed Kafka, Redis and registry', () => {
    const dir = mkdtempSync(join(tmpdir(), 'rater-config-'));
    const file = (name: string, text: string) => {
      const path = join(dir, name);
      writeFileSync(path, text);
      return path;
    };
    const pem = (label: string) => `-----BEGIN ${label}-----\nMIIB\n-----END ${label}-----\n`;
    const ca = file('ca.pem', pem('CERTIFICATE'));
    const cert = file('client.pem', pem('CERTIFICATE'));
    const key = file('client.key', pem('PRIVATE KEY'));
    const problem = (env: Record<string, string>) => {
      try {
        loadConfig({ ...valid, ...env });
        return 'accepted';
      } catch (error) {
        return (error as ConfigError).message;
      }
    };

    it('reads Kafka TLS files and SASL credentials', () => {
      const config = loadConfig({
        ...valid,
        KAFKA_SSL: 'true',
        KAFKA_SSL_CA_FILE: ca,
        KAFKA_SSL_CERT_FILE: cert,
        KAFKA_SSL_KEY_FILE: key,
        KAFKA_SASL_MECHANISM: 'scram-sha-512',
        KAFKA_SASL_USERNAME: 'rater',
        KAFKA_SASL_PASSWORD: 's3cret',
      });
      expect(config.kafka).toMatchObject({
        ssl: true,
        sslCa: pem('CERTIFICATE'),
        sslCert: pem('CERTIFICATE'),
        sslKey: pem('PRIVATE KEY'),
        saslMechanism: 'scram-sha-512',
        saslUsername: 'rater',
        saslPassword: 's3cret',
      });
    });

    it('refuses half-given Kafka security, naming the variable', () => {
      expect(problem({ KAFKA_SSL_CA_FILE: ca })).toContain('KAFKA_SSL_CA_FILE: needs KAFKA_SSL=true');
      expect(problem({ KAFKA_SSL: 'yes please' })).toContain('KAFKA_SSL: must be true or false');
      expect(problem({ KAFKA_SSL: 'true', KAFKA_SSL_CERT_FILE: cert })).toContain(
        'KAFKA_SSL_KEY_FILE: a client certificate needs both',
      );
      expect(problem({ KAFKA_SASL_MECHANISM: 'gssapi' })).toContain(
        'KAFKA_SASL_MECHANISM: must be one of plain, scram-sha-256, scram-sha-512',
      );
      const missing = problem({ KAFKA_SASL_MECHANISM: 'plain' });
      expect(missing).toContain('KAFKA_SASL_USERNAME: is required with KAFKA_SASL_MECHANISM');
      expect(missing).toContain('KAFKA_SASL_PASSWORD: is required with KAFKA_SASL_MECHANISM');
      expect(problem({ KAFKA_SASL_USERNAME: 'u', KAFKA_SASL_PASSWORD: 'p' })).toContain(
        'KAFKA_SASL_MECHANISM: is required with KAFKA_SASL_USERNAME',
      );
      expect(problem({ KAFKA_SSL: 'true', KAFKA_SSL_CA_FILE: join(dir, 'nope.pem') })).toContain(
        `KAFKA_SSL_CA_FILE: cannot read ${join(dir, 'nope.pem')} (ENOENT)`,
      );
      expect(
        problem({ KAFKA_SSL: 'true', KAFKA_SSL_CA_FILE: file('junk.pem', 'not a certificate') }),
      ).toContain('KAFKA_SSL_CA_FILE: ');
    });

    it('reads Redis TLS and an ACL user, and keeps the rules of a rediss:// URL', () => {
      const config = loadConfig({
        ...valid,
        REDIS_URL: 'rediss://redis.example:6380',
        REDIS_CLUSTER: 'true',
        REDIS_TLS_CA_FILE: ca,
        REDIS_USERNAME: 'rater',
        REDIS_PASSWORD: 'pw',
      });
      expect(config.redis).toMatchObject({
        cluster: true,
        tlsCa: pem('CERTIFICATE'),
        username: 'rater',
        password: 'pw',
      });
      expect(problem({ REDIS_TLS_CA_FILE: ca })).toContain('REDIS_TLS_CA_FILE: needs a rediss:// REDIS_URL');
      expect(problem({ REDIS_USERNAME: 'rater' })).toContain(
        'REDIS_PASSWORD: is required with REDIS_USERNAME',
      );
      expect(problem({ REDIS_URL: 'redis://:pw@127.0.0.1:6379', REDIS_PASSWORD: 'pw' })).toContain(
        'REDIS_PASSWORD: REDIS_URL holds credentials already',
      );
    });

    it('takes registry basic authentication as a pair, with a URL', () => {
      const config = loadConfig({
        ...valid,
        SCHEMA_REGISTRY_URL: 'https://registry.example',
        SCHEMA_REGISTRY_USERNAME: 'key',
        SCHEMA_REGISTRY_PASSWORD: 'secret',
      });
      expect(config.schemaRegistry).toEqual({
        url: 'https://registry.example',
        username: 'key',
        password: 'secret',
      });
      expect(
        problem({ SCHEMA_REGISTRY_URL: 'https://r.example', SCHEMA_REGISTRY_USERNAME: 'key' }),
      ).toContain('SCHEMA_REGISTRY_PASSWORD: basic authentication needs both');
      expect(problem({ SCHEMA_REGISTRY_USERNAME: 'key', SCHEMA_REGISTRY_PASSWORD: 's' })).toContain(
        'SCHEMA_REGISTRY_URL: is required with SCHEMA_REGISTRY_USERNAME',
      );
    });

    it('reads every secret from <NAME>_FILE instead, one trailing newline off', () => {
      const config = loadConfig({
        ...valid,
        KAFKA_SASL_MECHANISM: 'plain',
        KAFKA_SASL_USERNAME_FILE: file('kafka-user', 'rater\n'),
        KAFKA_SASL_PASSWORD_FILE: file('kafka-password', 'pass word \n'),
        REDIS_USERNAME_FILE: file('redis-user', 'ledger'),
        REDIS_PASSWORD_FILE: file('redis-password', 'r3d1s\r\n'),
        SCHEMA_REGISTRY_URL: 'https://registry.example',
        SCHEMA_REGISTRY_USERNAME_FILE: file('registry-user', 'key\n'),
        SCHEMA_REGISTRY_PASSWORD_FILE: file('registry-password', 'secret\n'),
      });
      expect(config.kafka).toMatchObject({ saslUsername: 'rater', saslPassword: 'pass word ' });
      expect(config.redis).toMatchObject({ username: 'ledger', password: 'r3d1s' });
      expect(config.schemaRegistry).toMatchObject({ username: 'key', password: 'secret' });
    });

    it('stops on a secret given twice, a missing file or an empty one, naming the variable', () => {
      const missing = join(dir, 'missing');
      const message = problem({
        KAFKA_SASL_MECHANISM: 'plain',
        KAFKA_SASL_USERNAME: 'rater',
        KAFKA_SASL_USERNAME_FILE: file('user-again', 'rater'),
        KAFKA_SASL_PASSWORD_FILE: missing,
        REDIS_PASSWORD_FILE: file('empty', '\n'),
      });
      expect(message).toContain(
        'KAFKA_SASL_USERNAME: set either KAFKA_SASL_USERNAME or KAFKA_SASL_USERNAME_FILE, not both',
      );
      expect(message).toContain(`KAFKA_SASL_PASSWORD_FILE: cannot read ${missing} (ENOENT)`);
      expect(message).toContain(`REDIS_PASSWORD_FILE: ${join(dir, 'empty')} is empty`);
      expect(message).not.toContain('pass');
    });
  });
});
