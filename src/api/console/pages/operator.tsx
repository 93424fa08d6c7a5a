import { formatAmount, formatTime } from '../format';
import type { PageFrame } from './layout';
import { Layout, tenantPath } from './layout';

export interface TenantLine {
  tenantId: string;
  mode: string;
  balance: bigint;
  currency: string;
  blocked: boolean;
  belowThreshold: boolean;
}

export interface OperatorProps {
  frame: PageFrame;
  query: string;
  tenants: TenantLine[];
  cursor: string;
  nextCursor: string | null;
  blocked: string[];
  low: string[];
  failures: { tenantId: string; at: Date; reason: string; consecutive: number }[];
  deadLetters: {
    byReason: Record<string, number>;
    recent: { at: Date; reason: string; message: string; origin: string; tenantId?: string }[];
  };
}

const TenantLink = ({ tenantId }: { tenantId: string }) => <a href={tenantPath(tenantId)}>{tenantId}</a>;

function IdList({ ids, empty, testid }: { ids: string[]; empty: string; testid: string }) {
  return ids.length === 0 ? (
    <p data-testid={testid}>{empty}</p>
  ) : (
    <ul data-testid={testid}>
      {ids.map((id) => (
        <li key={id}>
          <TenantLink tenantId={id} />
        </li>
      ))}
    </ul>
  );
}

/** The tenants, searched by id and paged. */
function TenantsSection({
  query,
  tenants,
  cursor,
  nextCursor,
}: Pick<OperatorProps, 'query' | 'tenants' | 'cursor' | 'nextCursor'>) {
  const next = new URLSearchParams();
  if (query) next.set('q', query);
  if (nextCursor) next.set('cursor', nextCursor);
  return (
    <>
      <h1>Tenants</h1>
      <form class="filters" method="get" action="/console/operator" aria-label="Search tenants">
        <label>
          Tenant id contains
          <input name="q" value={query} />
        </label>
        <button type="submit">Search</button>
      </form>
      <div class="table-wrap" tabIndex={0} role="region" aria-label="Tenants">
        <table data-testid="tenants" aria-label="Tenants">
          <thead>
            <tr>
              <th scope="col">Tenant</th>
              <th scope="col">Billing</th>
              <th scope="col" class="num">
                Balance
              </th>
              <th scope="col">State</th>
            </tr>
          </thead>
          <tbody>
            {tenants.length === 0 && (
              <tr>
                <td colSpan={4}>No tenant on this page.</td>
              </tr>
            )}
            {tenants.map((t) => (
              <tr key={t.tenantId}>
                <td>
                  <TenantLink tenantId={t.tenantId} />
                </td>
                <td>{t.mode}</td>
                <td class="num">{formatAmount(t.balance, t.currency)}</td>
                <td>
                  {t.blocked ? (
                    <span class="status-bad">blocked</span>
                  ) : t.belowThreshold ? (
                    <span class="status-warn">below threshold</span>
                  ) : (
                    'ok'
                  )}
                </td>
              </tr>
            ))}
          </tbody>
        </table>
      </div>
      <nav class="pager" aria-label="Pages">
        {cursor !== '0' && (
          <a href={`/console/operator${query ? `?q=${encodeURIComponent(query)}` : ''}`}>First page</a>
        )}
        {nextCursor && (
          <a href={`/console/operator?${next.toString()}`} rel="next">
            Next page
          </a>
        )}
      </nav>
    </>
  );
}

/** The latest auto-recharge failures, one line a tenant. */
function FailuresSection({ failures }: Pick<OperatorProps, 'failures'>) {
  return (
    <>
      <h2 id="failures-h">Recent auto-recharge failures</h2>
      <div class="table-wrap" tabIndex={0} role="region" aria-labelledby="failures-h">
        <table data-testid="failures" aria-labelledby="failures-h">
          <thead>
            <tr>
              <th scope="col">When</th>
              <th scope="col">Tenant</th>
              <th scope="col">Reason</th>
              <th scope="col" class="num">
                In a row
              </th>
            </tr>
          </thead>
          <tbody>
            {failures.length === 0 && (
              <tr>
                <td colSpan={4}>None.</td>
              </tr>
            )}
            {failures.map((f) => (
              <tr key={f.tenantId}>
                <td>{formatTime(f.at)}</td>
                <td>
                  <TenantLink tenantId={f.tenantId} />
                </td>
                <td>{f.reason}</td>
                <td class="num">{String(f.consecutive)}</td>
              </tr>
            ))}
          </tbody>
        </table>
      </div>
    </>
  );
}

/** The dead letters counted by reason, and the latest ones. */
function DeadLettersSection({ deadLetters }: Pick<OperatorProps, 'deadLetters'>) {
  const reasons = Object.entries(deadLetters.byReason).sort((a, b) => b[1] - a[1]);
  return (
    <>
      <h2 id="dlq-h">Dead letters by reason</h2>
      <div class="table-wrap" tabIndex={0} role="region" aria-labelledby="dlq-h">
        <table data-testid="dead-letters" aria-labelledby="dlq-h">
          <thead>
            <tr>
              <th scope="col">Reason</th>
              <th scope="col" class="num">
                Records
              </th>
            </tr>
          </thead>
          <tbody>
            {reasons.length === 0 && (
              <tr>
                <td colSpan={2}>None.</td>
              </tr>
            )}
            {reasons.map(([reason, count]) => (
              <tr key={reason}>
                <td>{reason}</td>
                <td class="num">{String(count)}</td>
              </tr>
            ))}
          </tbody>
        </table>
      </div>
      {deadLetters.recent.length > 0 && (
        <details>
          <summary>The latest dead letters</summary>
          <div class="table-wrap" tabIndex={0} role="region" aria-label="Latest dead letters">
            <table aria-label="Latest dead letters">
              <thead>
                <tr>
                  <th scope="col">When</th>
                  <th scope="col">Reason</th>
                  <th scope="col">Tenant</th>
                  <th scope="col">From</th>
                  <th scope="col">Message</th>
                </tr>
              </thead>
              <tbody>
                {deadLetters.recent.map((d, i) => (
                  <tr key={i}>
                    <td>{formatTime(d.at)}</td>
                    <td>{d.reason}</td>
                    <td>{d.tenantId ?? ''}</td>
                    <td>{d.origin}</td>
                    <td>{d.message}</td>
                  </tr>
                ))}
              </tbody>
            </table>
          </div>
        </details>
      )}
    </>
  );
}

/** The operator's view: tenants (search, pages), who needs attention, failures, dead letters. */
export function OperatorPage(props: OperatorProps) {
  const { frame, query, tenants, nextCursor, deadLetters } = props;
  return (
    <Layout frame={frame}>
      <TenantsSection query={query} tenants={tenants} cursor={props.cursor} nextCursor={nextCursor} />
      <h2>Blocked (credit-paid calls refused)</h2>
      <IdList ids={props.blocked} empty="No tenant is blocked." testid="blocked" />
      <h2>Below their low-balance threshold</h2>
      <IdList ids={props.low} empty="No tenant is below its threshold." testid="low" />
      <FailuresSection failures={props.failures} />
      <DeadLettersSection deadLetters={deadLetters} />
    </Layout>
  );
}
