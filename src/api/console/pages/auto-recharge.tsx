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
  /** A payment gateway is there to add a card with. */
  canAddCard?: boolean;
}

/** The card on file: what the gateway said it is, or its payment method id. */
export function cardOnFile(account: AccountView): string {
  const ref = account.settings.paymentMethodRef;
  if (!ref) return 'none on file';
  return account.paymentMethodLabel || ref.slice(ref.lastIndexOf('/') + 1);
}

/** Auto-recharge as it stands: on or off, the card, failures, this month's recharges, contacts. */
function RechargeState({ account, lastFailure }: Pick<AutoRechargeProps, 'account' | 'lastFailure'>) {
  const s = account.settings;
  const ar = s.autoRecharge;
  return (
    <>
      <dl class="facts" data-testid="recharge-state">
        <dt>Auto-recharge</dt>
        <dd data-testid="ar-enabled">{ar.enabled ? 'On' : 'Off'}</dd>
        <dt>Card</dt>
        <dd data-testid="payment-method">{cardOnFile(account)}</dd>
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
    </>
  );
}

/** The form that changes auto-recharge, on the settings version it was made from. */
function RechargeForm({ frame, account, posted }: Pick<AutoRechargeProps, 'frame' | 'account' | 'posted'>) {
  const c = account.settings.currency;
  const ar = account.settings.autoRecharge;
  const decimal = (minor: bigint) => minorToDecimal(minor.toString(), c);
  const value = (name: string, stored: string) => posted?.[name] ?? stored;
  return (
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
    </>
  );
}

/** Auto-recharge (trigger, amount, monthly cap), the payment method, failures and contacts. */
export function AutoRechargePage({
  frame,
  account,
  lastFailure,
  result,
  posted,
  canAddCard,
}: AutoRechargeProps) {
  const s = account.settings;
  const c = s.currency;
  const ar = s.autoRecharge;
  const postpaid = s.mode === 'postpaid';
  return (
    <Layout frame={frame}>
      <h1>{`${account.tenantId}: auto-recharge and payment`}</h1>
      {result && <Notice kind={result.kind}>{result.message}</Notice>}
      <RechargeState account={account} lastFailure={lastFailure} />
      {postpaid ? (
        <p>Auto-recharge is for prepaid tenants; this tenant is billed after use.</p>
      ) : (
        <>
          <RechargeForm frame={frame} account={account} posted={posted} />
          <h2 id="pm-h">Card</h2>
          {canAddCard ? (
            <form
              class="stack"
              method="post"
              action={tenantPath(account.tenantId, '/payment-method/setup')}
              aria-labelledby="pm-h"
            >
              <Csrf token={frame.csrf} />
              <p class="hint">
                You add the card on the payment provider's secure page (this console never sees the card
                number); it brings you back here once the card is saved.
              </p>
              <button type="submit">Add or replace card</button>
            </form>
          ) : (
            <p>Cards cannot be added: this service has no payment gateway.</p>
          )}
          <p class="hint">{`Current trigger ${formatAmount(ar.trigger, c)}, amount ${formatAmount(ar.amount, c)}.`}</p>
        </>
      )}
    </Layout>
  );
}
