import type { UsageOutcome, UsageSource } from '../credits/wallet';

/** An applied usage's outcome as the scripts store it (JSON in the applied hash). */
interface RawOutcome {
  src: UsageSource;
  charge: string;
  pool: string;
  poolSec: string;
  period: string;
  lots: [string, string][] | Record<string, never>;
  balance: string;
  at: string;
  rv: string;
  r?: string;
}

export function parseOutcome(json: string): UsageOutcome {
  const raw = JSON.parse(json) as RawOutcome;
  // Lua's cjson encodes an empty list as {}.
  const lots = Array.isArray(raw.lots) ? raw.lots : [];
  return {
    source: raw.src,
    charge: BigInt(raw.charge),
    pool: raw.pool,
    poolSeconds: Number(raw.poolSec),
    period: raw.period,
    lots: lots.map(([lotId, amount]) => ({ lotId, amount: BigInt(amount) })),
    balanceAfter: BigInt(raw.balance),
    appliedAt: new Date(Number(raw.at)),
    revision: raw.rv,
    rated: raw.r ?? '',
  };
}
