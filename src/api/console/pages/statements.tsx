import type { AccountView, UsageTotal } from '../../../credits/wallet';
import { formatAmount } from '../format';
import type { PageFrame } from './layout';
import { Layout, tenantPath } from './layout';

export interface StatementsProps {
  frame: PageFrame;
  account: AccountView;
  period: string;
  periods: string[];
  totals: Record<string, UsageTotal>;
}

const SOURCE_LABEL: Record<string, string> = {
  bundle: 'From minute pools (licences)',
  credits: 'Paid from credits',
  postpaid: 'Billed after use',
  free: 'Free (emergency, inbound)',
};

/** A period's statement: usage by where its money came from and, for postpaid, the amount owed. */
export function StatementsPage({ frame, account, period, periods, totals }: StatementsProps) {
  const c = account.settings.currency;
  const postpaid = account.settings.mode === 'postpaid';
  const sources = Object.keys(totals).sort();
  let charge = 0n;
  let count = 0;
  for (const source of sources) {
    charge += totals[source]!.charge;
    count += totals[source]!.count;
  }
  return (
    <Layout frame={frame}>
      <h1>{`${account.tenantId}: statement for ${period}`}</h1>
      <form
        class="filters"
        method="get"
        action={tenantPath(account.tenantId, '/statements')}
        aria-label="Period"
      >
        <label>
          Period
          <select name="period">
            {periods.map((p) => (
              <option key={p} value={p} selected={p === period}>
                {p}
              </option>
            ))}
          </select>
        </label>
        <button type="submit">Show</button>
      </form>
      {postpaid && (
        <p>
          Amount owed for {period}:{' '}
          <strong data-testid="owed">{formatAmount(account.owed[period] ?? 0n, c)}</strong>
        </p>
      )}
      <div class="table-wrap" tabIndex={0} role="region" aria-label={`Usage in ${period}`}>
        <table data-testid="statement" aria-label={`Usage in ${period}`}>
          <thead>
            <tr>
              <th scope="col">Paid from</th>
              <th scope="col" class="num">
                Calls
              </th>
              <th scope="col" class="num">
                Pool seconds
              </th>
              <th scope="col" class="num">
                Charge
              </th>
            </tr>
          </thead>
          <tbody>
            {sources.length === 0 && (
              <tr>
                <td colSpan={4}>No usage in this period.</td>
              </tr>
            )}
            {sources.map((source) => (
              <tr key={source}>
                <td>{SOURCE_LABEL[source] ?? source}</td>
                <td class="num">{String(totals[source]!.count)}</td>
                <td class="num">{String(totals[source]!.poolSeconds)}</td>
                <td class="num">{formatAmount(totals[source]!.charge, c)}</td>
              </tr>
            ))}
          </tbody>
          <tfoot>
            <tr>
              <th scope="row">Total</th>
              <td class="num">{String(count)}</td>
              <td />
              <td class="num" data-testid="statement-total">
                {formatAmount(charge, c)}
              </td>
            </tr>
          </tfoot>
        </table>
      </div>
    </Layout>
  );
}
