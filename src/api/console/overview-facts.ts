import type { AccountView } from '../../credits/wallet';
import { formatTime } from './format';

/** One minute pool's use in a month, in whole minutes. */
export interface PoolUse {
  /** `<capability>:<country>`. */
  pool: string;
  /** Seconds drawn this month, and the month's capacity (0: none now). */
  usedSeconds: number;
  capacitySeconds: number;
  /** "171 of 240 min used": used rounded up, capacity rounded down (never more used than shown). */
  used: string;
  /** "69 min left" (rounded down), or what is over. */
  left: string;
}

const minutesUp = (seconds: number) => Math.ceil(seconds / 60);
const minutesDown = (seconds: number) => Math.floor(seconds / 60);

/**
 * The minute pools in `month` (`yyyy-mm`): every pool the tenant has a capacity for, and any
 * other drawn on that month (a licence removed since), by pool id.
 */
export function poolUse(account: Pick<AccountView, 'settings' | 'poolUsed'>, month: string): PoolUse[] {
  const suffix = `:${month}`;
  const pools = new Set(Object.keys(account.settings.poolCapacities));
  for (const key of Object.keys(account.poolUsed))
    if (key.endsWith(suffix)) pools.add(key.slice(0, -suffix.length));
  return [...pools].sort().map((pool) => {
    const usedSeconds = account.poolUsed[`${pool}${suffix}`] ?? 0;
    const capacitySeconds = account.settings.poolCapacities[pool] ?? 0;
    const leftSeconds = capacitySeconds - usedSeconds;
    return {
      pool,
      usedSeconds,
      capacitySeconds,
      used: `${minutesUp(usedSeconds)} of ${minutesDown(capacitySeconds)} min used`,
      left: leftSeconds >= 0 ? `${minutesDown(leftSeconds)} min left` : `${minutesUp(-leftSeconds)} min over`,
    };
  });
}

/** A pool id in words: `MCOPSTN5:US` is "MCOPSTN5, US". */
export const poolName = (pool: string) => pool.replace(':', ', ');

/**
 * A prepaid balance at or below zero, in words, with the moment it got there when the ledger
 * kept it (`blockedSince`); null while it is above zero (the forecast says when it reaches it).
 */
export function belowZero(account: Pick<AccountView, 'balance' | 'blockedSince'>): string | null {
  if (account.balance > 0n) return null;
  const where = account.balance < 0n ? 'Below zero' : 'At zero';
  return account.blockedSince ? `${where} since ${formatTime(account.blockedSince)}` : `${where} now`;
}

/** The last failed auto-recharge in words, or null when the last one did not fail. */
export function rechargeFailure(account: Pick<AccountView, 'autoRecharge'>): string | null {
  const { lastFailure, consecutiveFailures } = account.autoRecharge;
  if (!lastFailure) return null;
  const reason = lastFailure.reason ? lastFailure.reason.replace(/_/g, ' ') : 'no reason given';
  const inARow =
    consecutiveFailures > 0
      ? ` (${consecutiveFailures} failure${consecutiveFailures === 1 ? '' : 's'} in a row)`
      : '';
  return `The last recharge failed ${formatTime(lastFailure.at)}: ${reason}${inARow}`;
}

/** Why the forecast's zero comes while auto-recharge is on: the month's cap is used up. */
export function capReason(depletedByCap: string | null, monthlyCap: number): string | null {
  if (depletedByCap === null) return null;
  return `Auto-recharge's monthly cap (${monthlyCap} recharge${monthlyCap === 1 ? '' : 's'}) is used up for ${depletedByCap}: no recharge before the month ends.`;
}
