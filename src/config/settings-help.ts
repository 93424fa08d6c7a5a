import { ENV_NAMES, loadConfig } from './index';
import { SECRET_NAMES } from './secrets';

/** Settings whose default depends on others, said in words rather than computed. */
const DEFAULT_WORDS: Record<string, string> = {
  KAFKA_BROKERS: '(required)',
  REDIS_URL: '(required)',
  PAYMENT_GATEWAY: '(required for the api, recharge and reconciler roles)',
  RATER_ROLES: 'all',
  OUTBOX_SWEEP_INTERVAL_MS: '5000 (30000 on a Redis Cluster)',
  CDR_MAX_RECORD_BYTES: 'KAFKA_MAX_MESSAGE_BYTES',
  CONSOLE_SECRET: '(random per process)',
};

/**
 * Every setting `rater serve` reads, with its default, for `rater serve --help`: the defaults
 * are the configuration's own (loaded from an environment with only what is required), so
 * the list cannot drift from what the service does. Secrets also come from `<NAME>_FILE`.
 */
export function settingsHelp(): string {
  const config = loadConfig({
    KAFKA_BROKERS: 'kafka:9092',
    REDIS_URL: 'redis://redis:6379',
    RATER_ROLES: 'consumer',
  }) as unknown as Record<string, unknown>;
  const valueAt = (path: string): unknown =>
    path
      .split('.')
      .reduce<unknown>((node, key) => (node as Record<string, unknown> | undefined)?.[key], config);
  const show = (value: unknown): string =>
    value === undefined || value === ''
      ? '(none)'
      : Array.isArray(value)
        ? value.join(',')
        : typeof value === 'object' && value !== null
          ? '(set)'
          : String(value);
  const rows = Object.entries(ENV_NAMES).map(([path, name]) => [
    name,
    DEFAULT_WORDS[name] ?? show(valueAt(path)),
  ]);
  const width = Math.max(...rows.map(([name]) => name!.length));
  return [
    'Settings (environment variables; docs/operating.md explains each):',
    ...rows.map(([name, value]) => `  ${name!.padEnd(width)}  ${value}`),
    '',
    `Secrets can come from a file instead, <NAME>_FILE: ${[...new Set([...SECRET_NAMES, 'STRIPE_API_KEY', 'CONSOLE_SECRET'])].join(', ')}.`,
  ].join('\n');
}
