import { decimalToMinor } from '../credits/money';
import type { AutoRechargeSettings } from '../credits/wallet';
import { tooPrecise } from './money';

/**
 * Auto-recharge as the admin API and the console both change it: one conversion of a requested
 * change into the ledger's, with the checks the ledger's script leaves to its callers.
 */

/** A change as asked for: decimal strings of the tenant's currency; what is absent stays. */
export interface AutoRechargeRequest {
  enabled?: boolean;
  triggerAmount?: string;
  rechargeAmount?: string;
  monthlyCap?: number;
  maxConsecutiveFailures?: number;
}

/** How the asker names its fields in a refusal (`body/rechargeAmount`, or a form's `rechargeAmount`). */
export interface AutoRechargeFields {
  triggerAmount: string;
  rechargeAmount: string;
}

/**
 * The request as the ledger's settings change, or the first problem naming its field: an
 * amount finer than the currency, or auto-recharge turned on with nothing to add. The amounts'
 * form (digits, a point) is the caller's schema's to check.
 */
export function autoRechargeChange(
  currency: string,
  request: AutoRechargeRequest,
  fields: AutoRechargeFields,
): { change: Partial<AutoRechargeSettings> } | { problem: string } {
  const imprecise = tooPrecise(currency, {
    [fields.triggerAmount]: request.triggerAmount,
    [fields.rechargeAmount]: request.rechargeAmount,
  });
  if (imprecise) return { problem: imprecise };
  const minor = (value: string | undefined) =>
    value === undefined ? undefined : decimalToMinor(value, currency);
  const amount = minor(request.rechargeAmount);
  if (request.enabled && amount !== undefined && amount <= 0n)
    return { problem: `${fields.rechargeAmount} must be more than zero to enable auto-recharge` };
  const change: Partial<AutoRechargeSettings> = {};
  if (request.enabled !== undefined) change.enabled = request.enabled;
  const trigger = minor(request.triggerAmount);
  if (trigger !== undefined) change.trigger = trigger;
  if (amount !== undefined) change.amount = amount;
  if (request.monthlyCap !== undefined) change.monthlyCap = request.monthlyCap;
  if (request.maxConsecutiveFailures !== undefined)
    change.maxConsecutiveFailures = request.maxConsecutiveFailures;
  return { change };
}
