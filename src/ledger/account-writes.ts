import { utcMonth } from '../credits/calendar';
import type { AccountSettings, BillingMode, MinorUnits, SettingsChange } from '../credits/wallet';
import {
  isBurstGuardOn,
  packBurstGuard,
  packConcurrentCalls,
  unpackConcurrentCalls,
  type BlockReason,
  type ConcurrentCalls,
  type BurstGuard,
  type UserLimit,
} from '../credits/user-limits';
import { settingsChangeFields } from './account-fields';
import { burstKeys, tenantRegistryKey } from './keys';
import { guarded, LedgerError, Refusal, ResultCode } from './result-codes';
import { LedgerBase } from './ledger-base';

/** The account's settings, spend limits and the authorization snapshot: one script each. */
export class AccountWrites extends LedgerBase {
  /**
   * Creates the account or replaces every setting (money and state stay): for callers that
   * own the whole account (the demo, the load generator, tests). The API's updates name
   * their fields (updateSettings).
   */
  async upsertAccount(tenantId: string, settings: AccountSettings): Promise<'created' | 'updated' | Refusal> {
    const result = await this.updateSettings(tenantId, settings, { create: true });
    return 'refused' in result ? result : result.status;
  }

  /**
   * Changes the settings `change` names, and only those, in one script against the stored
   * state (updateSettings-10.lua): a concurrent change of other fields is never undone.
   * `create` lets it open the account (then mode and currency must be named); `ifCurrency`
   * refuses (currency_mismatch) when the amounts named were converted in another currency
   * than the stored one; `ifVersion` refuses (version_mismatch) when the settings changed
   * since that version was read.
   */
  async updateSettings(
    tenantId: string,
    change: SettingsChange,
    options: { create?: boolean; ifCurrency?: string; ifVersion?: number } = {},
  ): Promise<{ status: 'created' | 'updated'; version: number } | Refusal> {
    const k = this.keys(tenantId);
    // Registered first: a tenant the sweeper and the relay cannot find would keep its events.
    if (options.create) {
      const registry = tenantRegistryKey(this.prefix);
      await guarded('updateSettings', () => this.redis.sadd(registry, tenantId));
    }
    const fields = settingsChangeFields(change);
    const result = await this.run(
      'updateSettings',
      [k.account, k.pools, k.lotExpiry, k.outbox, ...this.indexKeys(tenantId)],
      [
        tenantId,
        ...this.clockArgs(),
        options.create ? 'create' : 'update',
        JSON.stringify(fields),
        JSON.stringify({
          ...(options.ifCurrency !== undefined ? { currency: options.ifCurrency } : {}),
          ...(options.ifVersion !== undefined ? { version: String(options.ifVersion) } : {}),
        }),
      ],
    );
    if ('refused' in result) return result;
    return { status: result.reply[1] as 'created' | 'updated', version: Number(result.reply[2]) };
  }

  /**
   * Recomputes the tenant's index entries and its part of the gauges from its state
   * (reindex-10.lua): idempotent, safe while traffic flows. Returns what changed in the gauges.
   */
  async reindex(tenantId: string): Promise<{ tenants: number; depleted: number; backlog: number } | Refusal> {
    const k = this.keys(tenantId);
    const result = await this.run(
      'reindex',
      [k.account, k.lotExpiry, k.outbox, ...this.indexKeys(tenantId), this.pendingKey(tenantId)],
      [tenantId],
    );
    if ('refused' in result) return result;
    const [, tenants, depleted, backlog] = result.reply.map(Number);
    return { tenants: tenants!, depleted: depleted!, backlog: backlog! };
  }

  /**
   * Read-only: the balance as of now, what a pool has left this month, and the user's spend
   * limit with what the user spent of it this month (`user` '' for none).
   */
  async authorizationSnapshot(
    tenantId: string,
    pool: string,
    at = this.clock(),
    user = '',
  ): Promise<
    | {
        mode: BillingMode;
        currency: string;
        balance: MinorUnits;
        blocked: boolean;
        poolSecondsLeft: number;
        userLimit?: { limit: MinorUnits; spent: MinorUnits };
        /** The burst guard blocked the user: why. */
        userBlocked?: BlockReason;
      }
    | Refusal
  > {
    const k = this.keys(tenantId);
    const result = await this.run(
      'authorize',
      [k.account, k.lots, k.lotExpiry, k.pools, k.userLimits, k.userSpend],
      [at.getTime(), pool, utcMonth(at), user],
    );
    if ('refused' in result) return result;
    const [, mode, currency, balance, blocked, cap, used, limit, spent, userBlocked] = result.reply;
    return {
      mode: mode as BillingMode,
      currency: String(currency),
      balance: BigInt(String(balance)),
      blocked: Number(blocked) === 1,
      poolSecondsLeft: Math.max(0, Number(cap) - Number(used)),
      ...(limit ? { userLimit: { limit: BigInt(String(limit)), spent: BigInt(String(spent)) } } : {}),
      ...(userBlocked ? { userBlocked: String(userBlocked) as BlockReason } : {}),
    };
  }

  /**
   * Sets the per-user monthly spend limits the change names, and only those
   * (setUserLimits-2.lua): `default` null removes the default; a user's `none` means no limit
   * for that user, null removes the user's own limit (the default applies). The amounts are
   * minor units of `currency`, which must still be the account's (currency_mismatch).
   * `burstGuard` sets the burst guard (null or one without thresholds: off).
   */
  async setUserLimits(
    tenantId: string,
    change: {
      currency: string;
      default?: MinorUnits | null;
      users?: Record<string, UserLimit | null>;
      burstGuard?: BurstGuard | null;
      /** The caps on live credit-paid call sessions; null or none set: no caps. */
      concurrentCalls?: ConcurrentCalls | null;
    },
  ): Promise<{ status: 'updated' } | Refusal> {
    const k = this.keys(tenantId);
    const limitArg = (value: UserLimit | null | undefined, removed: string) =>
      value === undefined ? '' : value === null ? removed : value.toString();
    const users = Object.fromEntries(
      Object.entries(change.users ?? {}).map(([user, value]) => [user, limitArg(value, '')]),
    );
    const result = await this.run(
      'setUserLimits',
      [k.account, k.userLimits],
      [
        change.currency,
        limitArg(change.default, 'none'),
        JSON.stringify(users),
        change.burstGuard === undefined
          ? ''
          : isBurstGuardOn(change.burstGuard)
            ? packBurstGuard(change.burstGuard)
            : 'none',
        change.concurrentCalls === undefined
          ? ''
          : change.concurrentCalls === null ||
              !unpackConcurrentCalls(packConcurrentCalls(change.concurrentCalls))
            ? 'none'
            : packConcurrentCalls(change.concurrentCalls),
      ],
    );
    if ('refused' in result) return result;
    return { status: 'updated' };
  }

  /**
   * Clears the burst guard's block of a user, with the user's window (clearUserBlock-3.lua):
   * `not_blocked` when the user was not blocked.
   */
  async clearUserBlock(tenantId: string, user: string): Promise<{ status: 'cleared' | 'not_blocked' }> {
    const k = this.keys(tenantId);
    const { window, sums } = burstKeys(k, user);
    const result = await this.run('clearUserBlock', [k.userLimits, window, sums], [user]);
    if ('refused' in result) throw new LedgerError('clearUserBlock', ResultCode.BAD_ARGUMENT, result.detail);
    return { status: String(result.reply[1]) === '1' ? 'cleared' : 'not_blocked' };
  }
}
