import { minorToDecimal } from '../../../credits/money';
import type { AccountView } from '../../../credits/wallet';
import { formatAmount, formatTime } from '../format';
import type { PageFrame } from './layout';
import { Csrf, Layout, Notice, tenantPath } from './layout';

export interface AutoRechargeProps {
  frame: PageFrame;
  account: AccountView;
  lastFailure?: { at: Date; reason: string } | null;
  result?: { kind: 'ok' | 'error'; message: string };
  /** What was posted, shown again when it was refused. */
  posted?: Record<string, string>;
}

/** Auto-recharge (trigger, amount, monthly cap), the payment method, failures and contacts. */
export function AutoRechargePage({ frame, account, lastFailure, result, posted }: AutoRechargeProps) {
  const s = account.settings;
  const c = s.currency;
  const ar = s.autoRecharge;
  const decimal = (minor: bigint) => minorToDecimal(minor.toString(), c);
  const value = (name: string, stored: string) => posted?.[name] ?? stored;
  const postpaid = s.mode === 'postpaid';
  return (
    <Layout frame={frame}>
      <h1>{`${account.tenantId}: auto-recharge and payment`}</h1>
      {result && <Notice kind={result.kind}>{result.message}</Notice>}
      <dl class="facts" data-testid="recharge-state">
        <dt>Auto-recharge</dt>
        <dd data-testid="ar-enabled">{ar.enabled ? 'On' : 'Off'}</dd>
        <dt>Payment method</dt>
        <dd data-testid="payment-method">{s.paymentMethodRef || 'none on file'}</dd>
        <dt>Consecutive failures</dt>
        <dd data-testid="failures">
          {`${account.autoRecharge.consecutiveFailures} (paused at ${ar.maxConsecutiveFailures})`}
        </dd>
        <dt>Last failure</dt>
        <dd data-testid="last-failure">
          {lastFailure ? `${formatTime(lastFailure.at)}: ${lastFailure.reason}` : 'none'}
        </dd>
        <dt>Recharges this month</dt>
        <dd>{`${account.autoRecharge.rechargesThisMonth}${ar.monthlyCap > 0 ? ` of at most ${ar.monthlyCap}` : ''}`}</dd>
        <dt>Pending recharge</dt>
        <dd>{account.autoRecharge.pendingRequestId || 'none'}</dd>
        <dt>Notices go to</dt>
        <dd data-testid="contacts">
          {s.adminContacts.length ? s.adminContacts.join(', ') : 'nobody yet: ask the operator'}
        </dd>
      </dl>
      {postpaid ? (
        <p>Auto-recharge is for prepaid tenants; this tenant is billed after use.</p>
      ) : (
        <>
          <h2 id="ar-h">Change auto-recharge</h2>
          <form
            class="stack"
            method="post"
            action={tenantPath(account.tenantId, '/auto-recharge')}
            aria-labelledby="ar-h"
          >
            <Csrf token={frame.csrf} />
            <input type="hidden" name="version" value={String(account.settingsVersion)} />
            <label class="check">
              <input
                type="checkbox"
                name="enabled"
                value="on"
                checked={posted ? posted.enabled === 'on' : ar.enabled}
              />
              Recharge automatically
            </label>
            <label>
              {`When the balance falls below (${c})`}
              <input
                name="triggerAmount"
                inputMode="decimal"
                required
                value={value('triggerAmount', decimal(ar.trigger))}
              />
            </label>
            <label>
              {`Add (${c})`}
              <input
                name="rechargeAmount"
                inputMode="decimal"
                required
                value={value('rechargeAmount', decimal(ar.amount))}
              />
            </label>
            <label>
              At most this many recharges a month
              <input
                name="monthlyCap"
                inputMode="numeric"
                required
                value={value('monthlyCap', String(ar.monthlyCap))}
              />
              <span class="hint">0 for no limit.</span>
            </label>
            <button type="submit">Save auto-recharge</button>
          </form>
          <h2 id="pm-h">Payment method</h2>
          <form
            class="stack"
            method="post"
            action={tenantPath(account.tenantId, '/payment-method')}
            aria-labelledby="pm-h"
          >
            <Csrf token={frame.csrf} />
            <label>
              Payment method reference
              <input name="paymentMethodRef" required value={value('paymentMethodRef', s.paymentMethodRef)} />
              <span class="hint">
                The payment gateway's reference for the card or account (for Stripe, pm_…).
              </span>
            </label>
            <button type="submit">Save payment method</button>
          </form>
          <p class="hint">{`Current trigger ${formatAmount(ar.trigger, c)}, amount ${formatAmount(ar.amount, c)}.`}</p>
        </>
      )}
    </Layout>
  );
}
