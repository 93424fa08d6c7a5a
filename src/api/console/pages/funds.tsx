import type { AccountView } from '../../../credits/wallet';
import { formatAmount, formatTime } from '../format';
import type { PageFrame } from './layout';
import { Csrf, Layout, Notice } from './layout';

export interface FundsProps {
  frame: PageFrame;
  account: AccountView;
  /** The idempotency key of the next purchase: posting the same form twice buys once. */
  purchaseId: string;
  canBuy: boolean;
  result?: { kind: 'ok' | 'error'; message: string };
  amount?: string;
}

const SOURCES: Record<string, string> = {
  purchase: 'Purchase',
  recharge: 'Auto-recharge',
  manual: 'Adjustment',
  refund: 'Re-rating refund',
};

/** The lots (purchases with what is left of each and when it expires), and buying credits. */
export function FundsPage({ frame, account, purchaseId, canBuy, result, amount }: FundsProps) {
  const c = account.settings.currency;
  const postpaid = account.settings.mode === 'postpaid';
  return (
    <Layout frame={frame}>
      <h1>{`${account.tenantId}: funds`}</h1>
      {result && <Notice kind={result.kind}>{result.message}</Notice>}
      {!postpaid && (
        <p>
          Balance <strong data-testid="balance">{formatAmount(account.balance, c)}</strong>. Funds expire 12
          months after their purchase; spending draws on the lot that expires first.
        </p>
      )}
      <h2 id="lots-h">Purchases and other funds</h2>
      <div class="table-wrap" tabIndex={0} role="region" aria-labelledby="lots-h">
        <table aria-labelledby="lots-h" data-testid="lots">
          <thead>
            <tr>
              <th scope="col">Lot</th>
              <th scope="col">Source</th>
              <th scope="col" class="num">
                Amount
              </th>
              <th scope="col" class="num">
                Remaining
              </th>
              <th scope="col" class="num">
                Forfeited
              </th>
              <th scope="col">Purchased</th>
              <th scope="col">Expires</th>
              <th scope="col">Status</th>
            </tr>
          </thead>
          <tbody>
            {account.lots.length === 0 && (
              <tr>
                <td colSpan={8}>No funds yet.</td>
              </tr>
            )}
            {[...account.lots]
              .sort((a, b) => b.purchasedAt.getTime() - a.purchasedAt.getTime())
              .map((lot) => (
                <tr key={lot.lotId} data-lot={lot.lotId}>
                  <td>{lot.lotId}</td>
                  <td>{SOURCES[lot.source] ?? lot.source}</td>
                  <td class="num">{formatAmount(lot.amount, c)}</td>
                  <td class="num">{formatAmount(lot.remaining, c)}</td>
                  <td class="num">{formatAmount(lot.expired, c)}</td>
                  <td>{formatTime(lot.purchasedAt)}</td>
                  <td>{formatTime(lot.expiresAt)}</td>
                  <td>{lot.status}</td>
                </tr>
              ))}
          </tbody>
        </table>
      </div>
      {postpaid ? (
        <p>
          This tenant is billed after use (new commerce): it does not buy credits. Its amounts owed are on the
          Statements page.
        </p>
      ) : (
        <section aria-labelledby="buy-h">
          <h2 id="buy-h">Buy credits</h2>
          {canBuy ? (
            <form
              class="stack"
              method="post"
              action={`${frame.tenant ? `/console/t/${encodeURIComponent(account.tenantId)}` : ''}/funds/purchase`}
            >
              <Csrf token={frame.csrf} />
              <input type="hidden" name="purchaseId" value={purchaseId} />
              <label>
                {`Amount (${c})`}
                <input
                  name="amount"
                  inputMode="decimal"
                  required
                  pattern="[0-9]+(\.[0-9]+)?"
                  value={amount}
                />
                <span class="hint">
                  Charged to the payment method on file first; the credits are added only when the payment
                  succeeds.
                </span>
              </label>
              <button type="submit">Buy credits</button>
            </form>
          ) : (
            <p>Purchases are not available: this service has no payment gateway.</p>
          )}
        </section>
      )}
    </Layout>
  );
}
