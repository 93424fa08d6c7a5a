import Redis, { Cluster } from 'ioredis';
import { Ledger, openLedger } from '../../src/ledger/open-ledger';
import {
  accountSettings,
  AccountSettings,
  LedgerUsage,
  MinorUnits,
  UsageKey,
} from '../../src/credits/wallet';
import { testStack, uniqueName } from './stack';

/** A ledger in a fresh key namespace, with a clock the test moves. */
export interface LedgerFixture {
  ledger: Ledger;
  redis: Redis | Cluster;
  prefix: string;
  clock: { now: Date; set(iso: string): void; advance(ms: number): void };
  close(): void;
}

export function ledgerFixture(
  options: { redis?: Redis | Cluster; retentionMs?: number; start?: string } = {},
): LedgerFixture {
  const redis = options.redis ?? new Redis(testStack().redis.url);
  const prefix = `${uniqueName('t')}:`;
  const clock = {
    now: new Date(options.start ?? '2026-11-01T00:00:00.000Z'),
    set(iso: string) {
      clock.now = new Date(iso);
    },
    advance(ms: number) {
      clock.now = new Date(clock.now.getTime() + ms);
    },
  };
  const ledger = openLedger(redis, {
    prefix,
    clock: () => clock.now,
    ...(options.retentionMs ? { idempotencyRetentionMs: options.retentionMs } : {}),
  });
  return { ledger, redis, prefix, clock, close: () => (options.redis ? undefined : redis.disconnect()) };
}

export const prepaid = (overrides: Partial<AccountSettings> = {}): AccountSettings =>
  accountSettings('prepaid', 'USD', {
    paymentMethodRef: 'pm_card_visa',
    adminContacts: ['admin@acme.example'],
    ...overrides,
  });

/** When a test's call in `period` started: noon (UTC) on the period's first day. */
export const startIn = (period: string) => new Date(`${period}-01T12:00:00.000Z`);

/** Usage ids with their calls' start, as the ledger looks them up: calls of `period`. */
export const keysIn = (period: string, ...ids: string[]): UsageKey[] =>
  ids.map((id) => ({ id, start: startIn(period) }));

/** A credit-paid usage with no pool. */
export const paid = (id: string, charge: MinorUnits, period = '2026-11'): LedgerUsage => ({
  id,
  start: startIn(period),
  source: 'credits',
  charge,
  pool: '',
  poolSeconds: 0,
  period,
});

/** Applies usages that draw on no pool (so no pool use is declared). */
export async function applyPaid(
  fixture: LedgerFixture,
  tenant: string,
  usages: LedgerUsage[],
  currency = 'USD',
) {
  const result = await fixture.ledger.writes.applyUsage(tenant, { currency, usages, poolUse: {} });
  if ('refused' in result || 'conflict' in result)
    throw new Error(`apply refused: ${JSON.stringify(result)}`);
  return result;
}

/** The tenant's events as (type, id) pairs, the shape most assertions need. */
export async function eventTypes(fixture: LedgerFixture, tenant: string): Promise<[string, string][]> {
  return (await fixture.ledger.outbox.readOutbox(tenant)).map((event) => [event.type, event.id]);
}
