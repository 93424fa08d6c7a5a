import pino, { DestinationStream, Logger } from 'pino';
import type { PipelineInstrumentation } from '../shared/instrumentation';
import { redactUrl } from '../shared/redact';

/**
 * Where a secret could appear in a log line: credentials in request headers, and API keys
 * or tokens in any object logged (a body, a response, an error's request). Their values are
 * replaced by `[redacted]`.
 */
export const REDACTED_PATHS = [
  'req.headers.authorization',
  'req.headers.cookie',
  'req.headers["x-api-key"]',
  'headers.authorization',
  '*.headers.authorization',
  'authorization',
  '*.authorization',
  'apiKey',
  '*.apiKey',
  '*.*.apiKey',
  'token',
  '*.token',
  '*.*.token',
];

/** What the request serializer reads of a fastify request (or a raw one). */
interface RequestLike {
  method?: string;
  url?: string;
  host?: string;
  ip?: string;
  headers?: Record<string, unknown>;
  socket?: { remotePort?: number };
}

/**
 * The service's logger: JSON lines on stdout (or `destination`), pino's numeric levels, the
 * time in epoch milliseconds. HTTP requests are logged with their headers, credentials
 * redacted, and their URL with credential-like query parameters' values redacted.
 */
export function createLogger(level: string, destination?: DestinationStream): Logger {
  return pino(
    {
      level,
      redact: { paths: REDACTED_PATHS, censor: '[redacted]' },
      serializers: {
        req: (req: RequestLike) => ({
          method: req.method,
          url: redactUrl(req.url),
          host: req.host,
          remoteAddress: req.ip,
          remotePort: req.socket?.remotePort,
          headers: req.headers,
        }),
      },
    },
    destination,
  );
}

/**
 * The pipeline's log lines, subscribed to its events as the metrics are. Anomalies (a record
 * dead-lettered, a transient failure) at warn, each naming the tenant and usage; every usage
 * applied and every batch at debug, which is too much for info under load.
 */
export function logPipelineEvents(instrumentation: PipelineInstrumentation, logger: Logger): void {
  instrumentation.on('deadLetter', ({ reason, message, stage, charged, tenantId, usageId, origin }) =>
    logger.warn(
      { tenantId, usageId, reason, stage, charged, detail: message, origin },
      'usage record dead-lettered',
    ),
  );
  // Each usage at debug only: the consumer tells records one by one only to those who listen.
  if (logger.isLevelEnabled('debug'))
    instrumentation.on('record', (record) => {
      if (record.result === 'dead_letter') return;
      const { result, tenantId, usageId, source, charge, currency, poolSeconds } = record;
      logger.debug(
        { tenantId, usageId, source, charge, currency, poolSeconds },
        result === 'rated' ? 'usage applied' : 'usage already applied: stored outcome repeated',
      );
    });
  instrumentation.on('batch', ({ seconds, ...batch }) =>
    logger.debug({ ...batch, ms: Math.round(seconds * 1000) }, 'batch processed'),
  );
  instrumentation.on('deadLetterLogFailed', ({ error, deadLetters }) =>
    logger.warn({ deadLetters, err: error }, 'dead letters sent but not counted in the dead-letter log'),
  );
  instrumentation.on('retry', ({ stage, error, tenantId }) =>
    logger.warn({ stage, tenantId, err: error }, 'transient failure, retrying'),
  );
  instrumentation.on('settlementFailed', ({ error, tenantId, usageIds }) =>
    logger.error(
      { tenantId, usageIds: usageIds.slice(0, 20), usages: usageIds.length, err: error },
      'settling failed with an error that is not transient: not retried; the usages are settled one by one, and those that still fail are dead-lettered (internal_error)',
    ),
  );
}

/**
 * Redis's connection errors, logged naming REDIS_URL (its host and port, never a password):
 * the first of a kind at once, and while it repeats (a wrong port refuses every reconnect)
 * once every 30 s with how many there were.
 */
export function redisErrorLog(logger: Logger, url: string): (error: Error) => void {
  const target = (() => {
    try {
      const parsed = new URL(url);
      return `${parsed.protocol}//${parsed.host}`;
    } catch {
      return 'REDIS_URL';
    }
  })();
  let last: { key: string; at: number; repeats: number } | undefined;
  return (error: Error) => {
    const key = `${(error as NodeJS.ErrnoException).code ?? ''} ${error.message}`;
    const now = Date.now();
    if (last?.key === key && now - last.at < 30_000) {
      last.repeats++;
      return;
    }
    const repeats = last?.key === key ? last.repeats : 0;
    last = { key, at: now, repeats: 0 };
    logger.warn(
      { err: error, redis: target, ...(repeats > 0 ? { repeatedSinceLastLog: repeats } : {}) },
      `redis connection error (REDIS_URL ${target})`,
    );
  };
}
