/** The configuration's fields as zod reads them from the environment, and the checks across fields. */
import { readFileSync } from 'node:fs';
import { z } from 'zod';

const brokerList = z
  .string({ error: 'is required (comma-separated host:port list)' })
  .transform((value) => value.split(',').map((broker) => broker.trim()))
  .pipe(z.array(z.string().regex(/^[^:\s]+:\d{1,5}$/, 'must be host:port')).min(1));

const ROLES = ['consumer', 'relay', 'recharge', 'notifier', 'sweeper', 'api', 'reconciler'] as const;

/**
 * What is wrong with a Stripe API key, if anything: the service charges cards, so it needs a
 * secret key (`sk_live_...`, `sk_test_...`) or a restricted one (`rk_...`). A publishable key
 * (`pk_...`) is what a web page holds: Stripe refuses it for every charge, so it is refused at
 * start instead of at the first purchase.
 */
export function stripeKeyProblem(key: string): string | undefined {
  if (/^pk_(live|test)_/.test(key))
    return 'is a publishable key (pk_...): the service needs a secret key (sk_live_... or sk_test_...) or a restricted key (rk_...)';
  if (!/^(sk|rk)_(live|test)_[A-Za-z0-9]+$/.test(key))
    return 'is not a Stripe secret key (sk_live_... or sk_test_...) or restricted key (rk_...)';
  return undefined;
}

export type Role = (typeof ROLES)[number];

/** The roles that charge cards or ask the gateway: left out of `all` when PAYMENT_GATEWAY=none. */
export const PAYMENT_ROLES: readonly Role[] = ['recharge', 'reconciler'];

const roleList = z
  .string()
  .default('all')
  .transform((value) => (value === 'all' ? [...ROLES] : value.split(',').map((role) => role.trim())))
  .pipe(z.array(z.enum(ROLES, { error: `must be all or a list of ${ROLES.join(', ')}` })).min(1));

const flag = z.stringbool({ error: 'must be true or false' });

/** A PEM file (a CA bundle, a certificate, a private key): the setting is its path, the config its text. */
const pemFile = z
  .string()
  .min(1)
  .transform((path, ctx) => {
    let text: string;
    try {
      text = readFileSync(path, 'utf8');
    } catch (error) {
      ctx.addIssue({
        code: 'custom',
        message: `cannot read ${path} (${(error as NodeJS.ErrnoException).code ?? (error as Error).message})`,
      });
      return z.NEVER;
    }
    if (!/-----BEGIN [A-Z0-9 ]+-----/.test(text)) {
      ctx.addIssue({ code: 'custom', message: `${path} holds no PEM block (-----BEGIN ...-----)` });
      return z.NEVER;
    }
    return text;
  });
const secret = z.string().min(1);
export const SASL_MECHANISMS = ['plain', 'scram-sha-256', 'scram-sha-512'] as const;
const seconds = z.coerce.number().int().positive();

const fieldsSchema = z.object({
  kafka: z.object({
    brokers: brokerList,
    clientId: z.string().min(1).default('rater'),
    groupId: z.string().min(1).default('rater'),
    /** A member silent this long leaves the group and its partitions move (broker minimum 6000). */
    sessionTimeoutMs: z.coerce.number().int().min(6000).max(300_000).default(30_000),
    /** A partition with records waiting and no batch committed this long is stuck: not ready. */
    stuckPartitionSeconds: z.coerce.number().int().min(1).max(86_400).default(60),
    /** Create the topics at start when they are missing, with this many partitions. */
    createTopics: flag.default(true),
    topicPartitions: z.coerce.number().int().min(1).max(1000).default(6),
    /** The broker's message.max.bytes: no rated record or dead letter is sent larger. */
    maxMessageBytes: z.coerce
      .number()
      .int()
      .min(65_536)
      .max(100 * 1024 * 1024)
      .default(1024 * 1024),
    /** TLS to the brokers (the SSL and SASL_SSL protocols); the files are PEM. */
    ssl: flag.default(false),
    sslCa: pemFile.optional(),
    sslCert: pemFile.optional(),
    sslKey: pemFile.optional(),
    /** SASL authentication (SASL_SSL with `ssl`, SASL_PLAINTEXT without). */
    saslMechanism: z
      .enum(SASL_MECHANISMS, { error: `must be one of ${SASL_MECHANISMS.join(', ')}` })
      .optional(),
    saslUsername: secret.optional(),
    saslPassword: secret.optional(),
    /** Topic names of ../shared/CONTRACTS.md; each one configurable. */
    topics: z.object({
      usageIn: z.string().min(1).default('usage.cdr.v1'),
      ratedOut: z.string().min(1).default('usage.rated.v1'),
      eventsOut: z.string().min(1).default('credits.events.v1'),
      deadLetter: z.string().min(1).default('usage.cdr.dlq.v1'),
    }),
  }),
  redis: z.object({
    url: z.url({
      protocol: /^rediss?$/,
      error: (issue) => (issue.input === undefined ? 'is required' : 'must be a redis:// or rediss:// URL'),
    }),
    /** REDIS_URL is one node of a Redis Cluster. */
    cluster: flag.default(false),
    keyPrefix: z
      .string()
      .regex(/^[A-Za-z0-9:._-]*$/, 'letters, digits and : . _ - only')
      .default(''),
    /** With a rediss:// URL: the CA that signed the server's certificate, a client certificate and key. */
    tlsCa: pemFile.optional(),
    tlsCert: pemFile.optional(),
    tlsKey: pemFile.optional(),
    /** An ACL user (Redis 6+), on every node of a Cluster too. */
    username: secret.optional(),
    password: secret.optional(),
    /**
     * Replicas that must acknowledge a batch's (or a purchase's) writes before its offsets are
     * committed (or it is answered): `WAIT n` on the masters that took them. 0: never wait.
     */
    waitReplicas: z.coerce.number().int().min(0).max(16).default(0),
    /**
     * How long one WAIT waits. The connection it is sent on serves nothing else meanwhile,
     * so it stays below the ledger's 5 s command timeout.
     */
    waitTimeoutMs: z.coerce
      .number()
      .int()
      .min(1)
      .max(4_000, 'must be at most 4000 (below the 5 s Redis command timeout)')
      .default(1_000),
  }),
  schemaRegistry: z.object({
    url: z.url().optional(),
    /** HTTP basic authentication (a managed registry's API key and secret). */
    username: secret.optional(),
    password: secret.optional(),
  }),
  http: z.object({
    host: z.string().min(1).default('127.0.0.1'),
    port: z.coerce.number().int().min(0).max(65535).default(8080),
    /**
     * The address the service is reached at from browsers (`https://rater.example.com`): where
     * the payment provider's hosted card page sends the admin back. Default: the request's own.
     */
    publicUrl: z.url({ protocol: /^https?$/, error: 'must be an http:// or https:// URL' }).optional(),
  }),
  rates: z.object({ dir: z.string().min(1).default('rates') }),
  ledger: z.object({ idempotencyRetentionDays: z.coerce.number().int().min(1).max(3650).default(35) }),
  /** Limits on usage records in (docs/pipeline.md, "Records set aside"). */
  cdr: z.object({
    /** Largest record accepted (`record_too_large`); default KAFKA_MAX_MESSAGE_BYTES. */
    maxRecordBytes: z.coerce.number().int().min(1024).optional(),
    /** Deepest nesting of a record, the record itself being 1 (`too_deep`). */
    maxDepth: z.coerce.number().int().min(2).max(1000).default(32),
    /** How far after now a call may end (`future_start`). */
    futureSkewSeconds: z.coerce.number().int().min(0).max(86_400).default(300),
    /** Records older than the idempotency retention less this are `too_late`. */
    lateMarginHours: z.coerce.number().int().min(0).default(24),
  }),
  roles: roleList,
  outbox: z.object({
    /** Unset: 5 s on standalone Redis, 30 s on a Cluster (a sweep there costs 16,384 commands). */
    sweepIntervalMs: z.coerce.number().int().min(10).optional(),
    eventsSource: z.string().min(1).default('/rater/credits'),
  }),
  expiry: z.object({ sweepIntervalSeconds: seconds.default(300) }),
  /** Call sessions (docs/sessions.md). */
  sessions: z.object({
    /** Seconds one grant gives: the switch renews before they run out (at least 60: one increment). */
    grantSeconds: z.coerce.number().int().min(60).max(86_400).default(300),
    /** A session not renewed this long after its grant ended is expired. */
    graceSeconds: z.coerce.number().int().min(0).max(3600).default(30),
    /** How long an ended or expired session holds its used seconds' cost waiting for its CDR. */
    retentionHours: z.coerce
      .number()
      .int()
      .min(1)
      .max(24 * 35)
      .default(24),
    /** How often the sweeper expires sessions that are due (sweeper role). */
    sweepIntervalSeconds: seconds.max(3600).default(10),
  }),
  mail: z.object({
    /** SMTP server for notices (smtp://user:pass@host:port); without it no mail is sent. */
    smtpUrl: z.url({ protocol: /^smtps?$/, error: 'must be an smtp:// or smtps:// URL' }).optional(),
    from: z.string().min(3).default('Communications credits <credits@rater.invalid>'),
    notifyLowBalance: flag.default(false),
  }),
  api: z.object({
    /** SHA-256 (hex) of the operator's bearer token: the token itself is never configured. */
    operatorTokenSha256: z
      .string()
      .regex(/^[0-9a-f]{64}$/, 'must be the hex SHA-256 of the token (sha256sum)')
      .optional(),
  }),
  /** The admin console (/console), served with the api role (docs/console.md). */
  console: z.object({
    enabled: flag.default(true),
    /** How long a sign-in lasts; nothing extends it. */
    sessionTtlMinutes: z.coerce.number().int().min(5).max(10_080).default(480),
    /** Signs the CSRF cookie and keys its tokens; random per process when unset (one instance only). */
    secret: z.string().min(32, 'must be at least 32 characters').optional(),
    secretFile: z.string().min(1).optional(),
    /** `auto`: Secure cookies on requests that came over TLS. */
    secureCookies: z.enum(['auto', 'true', 'false']).default('auto'),
  }),
  payments: z.object({
    /**
     * Who charges purchases and auto-recharges: `stripe`; `simulated` (approves by the payment
     * method reference: demos and tests only, and said so in /readyz and the log); `none` (no
     * payments: the api role answers purchases 503, and the recharge role cannot run).
     * Required for the api and recharge roles: never a silent default.
     */
    gateway: z.enum(['stripe', 'simulated', 'none']).optional(),
    stripeApiKey: z
      .string()
      .min(1)
      .refine((key) => stripeKeyProblem(key) === undefined, {
        error: (issue) => stripeKeyProblem(String(issue.input)),
      })
      .optional(),
    stripeApiKeyFile: z.string().min(1).optional(),
    /** Another API base URL than Stripe's (stripe-mock). */
    stripeApiBase: z.url({ protocol: /^https?$/, error: 'must be an http:// or https:// URL' }).optional(),
    /** The reconciler settles payments pending longer than this (docs/payments.md, "Reconciliation"). */
    reconcileGraceSeconds: z.coerce.number().int().min(1).max(3600).default(60),
    /** How often the reconciler role looks at the pending payments. */
    reconcileIntervalSeconds: seconds.default(30),
    /**
     * The signing secret of the Stripe webhook endpoint (`whsec_...`) that POST /webhooks/stripe
     * verifies events with; without it the endpoint is not served.
     */
    stripeWebhookSecret: z.string().min(1).optional(),
  }),
  logLevel: z.enum(['fatal', 'error', 'warn', 'info', 'debug', 'trace', 'silent']).default('info'),
});

type Fields = z.infer<typeof fieldsSchema>;

/** The TLS and credential settings go together: a half-given one is an error, not a silent default. */
function checkConnections(config: Fields, ctx: z.RefinementCtx): void {
  const problem = (path: string[], message: string) => ctx.addIssue({ code: 'custom', path, message });
  const { kafka, redis, schemaRegistry } = config;
  if (!kafka.ssl)
    for (const key of ['sslCa', 'sslCert', 'sslKey'] as const)
      if (kafka[key] !== undefined) problem(['kafka', key], 'needs KAFKA_SSL=true');
  if ((kafka.sslCert === undefined) !== (kafka.sslKey === undefined))
    problem(
      ['kafka', kafka.sslCert ? 'sslKey' : 'sslCert'],
      'a client certificate needs both KAFKA_SSL_CERT_FILE and KAFKA_SSL_KEY_FILE',
    );
  if (kafka.saslMechanism) {
    if (!kafka.saslUsername) problem(['kafka', 'saslUsername'], `is required with KAFKA_SASL_MECHANISM`);
    if (!kafka.saslPassword) problem(['kafka', 'saslPassword'], `is required with KAFKA_SASL_MECHANISM`);
  } else if (kafka.saslUsername || kafka.saslPassword)
    problem(
      ['kafka', 'saslMechanism'],
      `is required with KAFKA_SASL_USERNAME and KAFKA_SASL_PASSWORD: ${SASL_MECHANISMS.join(', ')}`,
    );

  const url = URL.canParse(redis.url) ? new URL(redis.url) : undefined;
  if (url?.protocol === 'redis:')
    for (const key of ['tlsCa', 'tlsCert', 'tlsKey'] as const)
      if (redis[key] !== undefined) problem(['redis', key], 'needs a rediss:// REDIS_URL');
  if ((redis.tlsCert === undefined) !== (redis.tlsKey === undefined))
    problem(
      ['redis', redis.tlsCert ? 'tlsKey' : 'tlsCert'],
      'a client certificate needs both REDIS_TLS_CERT_FILE and REDIS_TLS_KEY_FILE',
    );
  if (redis.username && !redis.password) problem(['redis', 'password'], 'is required with REDIS_USERNAME');
  if ((url?.username || url?.password) && (redis.username || redis.password))
    problem(['redis', 'password'], 'REDIS_URL holds credentials already: give them in one place');

  if ((schemaRegistry.username === undefined) !== (schemaRegistry.password === undefined))
    problem(
      ['schemaRegistry', schemaRegistry.username ? 'password' : 'username'],
      'basic authentication needs both SCHEMA_REGISTRY_USERNAME and SCHEMA_REGISTRY_PASSWORD',
    );
  if (schemaRegistry.username && !schemaRegistry.url)
    problem(['schemaRegistry', 'url'], 'is required with SCHEMA_REGISTRY_USERNAME');
}

export const configSchema = fieldsSchema.superRefine(checkConnections).superRefine((config, ctx) => {
  if (config.cdr.lateMarginHours >= config.ledger.idempotencyRetentionDays * 24) {
    ctx.addIssue({
      code: 'custom',
      path: ['cdr', 'lateMarginHours'],
      message: 'must be less than IDEMPOTENCY_RETENTION_DAYS in hours',
    });
  }
});

export type Config = z.infer<typeof configSchema>;
