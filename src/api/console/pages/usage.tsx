import { CALL_TYPES as RATING_CALL_TYPES } from '../../../rating';
import { formatAmount, formatTime } from '../format';
import type { ReportFilter, ReportRow } from '../usage-report';
import { totalsByUser, totalsOf, userLabel } from '../usage-report';
import { callTypeWords } from '../words';
import type { PageFrame } from './layout';
import { Layout, Notice, tenantPath } from './layout';

/** The call types a report filters by: the contract's. */
export const CALL_TYPES: readonly string[] = RATING_CALL_TYPES;
export const SOURCES = ['credits', 'bundle', 'postpaid', 'free'];

export interface UsageQuery extends ReportFilter {
  from: string;
  to: string;
  offset: number;
}

export interface UsageProps {
  frame: PageFrame;
  tenantId: string;
  currency: string;
  query: UsageQuery;
  /** Every row the filter keeps (for the totals), and the page shown. */
  rows: ReportRow[];
  pageSize: number;
  error?: string;
}

const queryString = (q: UsageQuery, offset: number) => {
  const params = new URLSearchParams();
  params.set('from', q.from);
  params.set('to', q.to);
  for (const name of ['user', 'callType', 'destination', 'source'] as const)
    if (q[name]) params.set(name, q[name]!);
  if (offset > 0) params.set('offset', String(offset));
  return params.toString();
};

function Select({
  name,
  label,
  options,
  value,
  words = (option) => option,
}: {
  name: string;
  label: string;
  options: readonly string[];
  value?: string;
  /** What an option says (its value is the code). */
  words?: (option: string) => string;
}) {
  return (
    <label>
      {label}
      <select name={name}>
        <option value="" selected={!value}>
          any
        </option>
        {options.map((option) => (
          <option key={option} value={option} selected={value === option}>
            {words(option)}
          </option>
        ))}
      </select>
    </label>
  );
}

/** The filtered calls' totals by user, in natural order. */
function ByUser({ rows, currency }: { rows: ReportRow[]; currency: string }) {
  const users = totalsByUser(rows);
  if (users.length === 0) return null;
  return (
    <>
      <h2 id="by-user-h">By user</h2>
      <div class="table-wrap" tabIndex={0} role="region" aria-labelledby="by-user-h">
        <table aria-labelledby="by-user-h" data-testid="usage-by-user">
          <thead>
            <tr>
              <th scope="col">User</th>
              <th scope="col" class="num">
                Calls
              </th>
              <th scope="col" class="num">
                Seconds
              </th>
              <th scope="col" class="num">
                Charge
              </th>
            </tr>
          </thead>
          <tbody>
            {users.map((u) => (
              <tr key={u.user}>
                <th scope="row" class="wrap">
                  {u.user}
                </th>
                <td class="num">{String(u.calls)}</td>
                <td class="num">{String(u.seconds)}</td>
                <td class="num">{formatAmount(u.charge, currency)}</td>
              </tr>
            ))}
          </tbody>
        </table>
      </div>
    </>
  );
}

/** The period and filters, and the CSV of what they select. */
function UsageFilters({ tenantId, query }: Pick<UsageProps, 'tenantId' | 'query'>) {
  const base = tenantPath(tenantId, '/usage');
  return (
    <>
      <form class="filters" method="get" action={base} aria-label="Filters">
        <label>
          From (UTC)
          <input type="date" name="from" value={query.from} required />
        </label>
        <label>
          To (UTC, inclusive)
          <input type="date" name="to" value={query.to} required />
        </label>
        <label>
          User
          <input name="user" value={query.user} placeholder="name or id" />
        </label>
        <Select
          name="callType"
          label="Call type"
          options={CALL_TYPES}
          value={query.callType}
          words={(code) => callTypeWords(code)}
        />
        <label>
          Destination
          <input name="destination" value={query.destination} placeholder="country or number" />
        </label>
        <Select name="source" label="Paid from" options={SOURCES} value={query.source} />
        <button type="submit">Show</button>
        <a class="button" href={`${tenantPath(tenantId, '/usage.csv')}?${queryString(query, 0)}`} download>
          Export CSV
        </a>
      </form>
    </>
  );
}

/** One page of the calls, one line each. */
function UsageRows({ page, currency }: { page: UsageProps['rows']; currency: string }) {
  return (
    <>
      <h2 id="rows-h">Calls</h2>
      <div class="table-wrap" tabIndex={0} role="region" aria-labelledby="rows-h">
        <table aria-labelledby="rows-h" data-testid="usage-rows">
          <thead>
            <tr>
              <th scope="col">Start</th>
              <th scope="col">User</th>
              <th scope="col">Call type</th>
              <th scope="col">From</th>
              <th scope="col">To</th>
              <th scope="col">Destination</th>
              <th scope="col" class="num">
                Seconds
              </th>
              <th scope="col" class="num">
                Charge
              </th>
              <th scope="col">Paid from</th>
              <th scope="col">Usage id</th>
            </tr>
          </thead>
          <tbody>
            {page.length === 0 && (
              <tr>
                <td colSpan={10}>No usage matches.</td>
              </tr>
            )}
            {page.map((row) => (
              <tr key={row.usageId} data-usage={row.usageId}>
                <td class="wrap">{formatTime(row.startedAt)}</td>
                <td class="wrap">{userLabel(row)}</td>
                <td class="wrap">{callTypeWords(row.callType, row.numberType)}</td>
                <td>{row.callerNumber}</td>
                <td>{row.calleeNumber}</td>
                <td class="wrap">{row.destinationName}</td>
                <td class="num">{row.duration === undefined ? '' : String(row.duration)}</td>
                <td class="num">{formatAmount(row.charge, currency)}</td>
                <td>{row.source}</td>
                <td class="wrap">{row.usageId}</td>
              </tr>
            ))}
          </tbody>
        </table>
      </div>
    </>
  );
}

/** The usage report: applied usage in a period, filtered, with totals, a page at a time, and CSV. */
export function UsagePage({ frame, tenantId, currency, query, rows, pageSize, error }: UsageProps) {
  const totals = totalsOf(rows);
  const page = rows.slice(query.offset, query.offset + pageSize);
  const base = tenantPath(tenantId, '/usage');
  return (
    <Layout frame={frame}>
      <h1>{`${tenantId}: usage report`}</h1>
      {error && <Notice kind="error">{error}</Notice>}
      <UsageFilters tenantId={tenantId} query={query} />
      <h2 id="totals-h">Totals</h2>
      <dl class="facts" data-testid="usage-totals" aria-labelledby="totals-h">
        <dt>Calls</dt>
        <dd data-testid="total-calls">{String(totals.calls)}</dd>
        <dt>Connected seconds</dt>
        <dd>{String(totals.seconds)}</dd>
        <dt>Seconds from minute pools</dt>
        <dd>{String(totals.poolSeconds)}</dd>
        <dt>Charges (connection fees included)</dt>
        <dd data-testid="total-charge">{formatAmount(totals.charge, currency)}</dd>
        <dt>of which connection fees</dt>
        <dd>{formatAmount(totals.connection, currency)}</dd>
      </dl>
      <ByUser rows={rows} currency={currency} />
      <UsageRows page={page} currency={currency} />
      <nav class="pager" aria-label="Pages">
        {query.offset > 0 && (
          <a href={`${base}?${queryString(query, Math.max(0, query.offset - pageSize))}`} rel="prev">
            Previous page
          </a>
        )}
        <span>
          {rows.length === 0
            ? 'no calls'
            : `calls ${query.offset + 1}–${Math.min(rows.length, query.offset + pageSize)} of ${rows.length}`}
        </span>
        {query.offset + pageSize < rows.length && (
          <a href={`${base}?${queryString(query, query.offset + pageSize)}`} rel="next">
            Next page
          </a>
        )}
      </nav>
    </Layout>
  );
}
