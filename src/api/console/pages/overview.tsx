import type { ComponentChildren } from 'preact';
import type { AccountView } from '../../../credits/wallet';
import type { LiveCall } from '../../../settlement/live-calls';
import { formatAmount, formatTime } from '../format';
import { belowZero, capReason, PoolUse, poolName, rechargeFailure } from '../overview-facts';
import { BarChart, DayPoint, LineChart } from './charts';
import type { PageFrame } from './layout';
import { Layout } from './layout';

/** The runway as the page shows it (from the forecast of src/credits/forecast.ts). */
export interface RunwayView {
  burnRatePerDay: bigint;
  basis: string;
  depletesAt: Date | null;
  rechargeExpectedAt: Date | null;
  runwayDays: number | null;
  beyondHorizon: boolean;
  method: string;
  projectedOwed?: bigint;
  /** The month whose used-up auto-recharge cap lets the balance reach zero (forecast). */
  depletedByCap: string | null;
}

export interface OverviewProps {
  frame: PageFrame;
  account: AccountView;
  period: string;
  monthSpend: bigint;
  balanceHistory: DayPoint[];
  dailySpend: DayPoint[];
  runway: RunwayView;
  /** This month's minute pools. */
  pools: PoolUse[];
  /** The tenant's call sessions in progress (the oldest first), and whether there are more. */
  liveCalls: LiveCall[];
  moreLiveCalls: boolean;
}

const Card = ({
  label,
  value,
  id,
  children,
}: {
  label: string;
  value: string;
  id: string;
  children?: ComponentChildren;
}) => (
  <div class="card">
    <div class="label" id={id}>
      {label}
    </div>
    <div class="value" aria-labelledby={id} data-testid={id}>
      {value}
    </div>
    {children}
  </div>
);

/** This month's minute pools: used and left, by pool. */
function Pools({ pools, period }: { pools: PoolUse[]; period: string }) {
  if (pools.length === 0) return null;
  return (
    <section aria-labelledby="pools-h">
      <h2 id="pools-h">{`Minute pools in ${period}`}</h2>
      <div class="table-wrap" tabIndex={0} role="region" aria-labelledby="pools-h">
        <table data-testid="pools">
          <thead>
            <tr>
              <th scope="col">Pool (licence, country)</th>
              <th scope="col">Used</th>
              <th scope="col">Left</th>
            </tr>
          </thead>
          <tbody>
            {pools.map((p) => (
              <tr key={p.pool} data-pool={p.pool}>
                <th scope="row">{poolName(p.pool)}</th>
                <td class={p.usedSeconds >= p.capacitySeconds ? 'status-bad' : ''}>{p.used}</td>
                <td>{p.left}</td>
              </tr>
            ))}
          </tbody>
        </table>
      </div>
    </section>
  );
}

/** Calls in progress: what each live call session was granted and holds. */
function LiveCalls({ calls, more, currency }: { calls: LiveCall[]; more: boolean; currency: string }) {
  return (
    <section aria-labelledby="live-calls-h">
      <h2 id="live-calls-h">Calls in progress</h2>
      {calls.length === 0 ? (
        <p class="hint" data-testid="no-live-calls">
          No call holds credit now.
        </p>
      ) : (
        <div class="table-wrap" tabIndex={0} role="region" aria-labelledby="live-calls-h">
          <table data-testid="live-calls">
            <thead>
              <tr>
                <th scope="col">Usage id</th>
                <th scope="col">User</th>
                <th scope="col">Callee</th>
                <th scope="col">Started</th>
                <th scope="col">Seconds granted</th>
                <th scope="col">Money held</th>
              </tr>
            </thead>
            <tbody>
              {calls.map((call) => (
                <tr key={call.usageId} data-usage-id={call.usageId}>
                  <th scope="row">{call.usageId}</th>
                  <td>{call.user || '—'}</td>
                  <td>{call.callee || '—'}</td>
                  <td>{formatTime(call.startedAt)}</td>
                  <td>{String(call.grantedSeconds)}</td>
                  <td>{formatAmount(call.held, currency)}</td>
                </tr>
              ))}
            </tbody>
          </table>
        </div>
      )}
      {more && <p class="hint">{`The ${calls.length} oldest calls shown; more are in progress.`}</p>}
    </section>
  );
}

function Runway({ runway, account }: { runway: RunwayView; account: AccountView }) {
  const c = account.settings.currency;
  const postpaid = account.settings.mode === 'postpaid';
  const zero = belowZero(account);
  const capped = capReason(runway.depletedByCap, account.settings.autoRecharge.monthlyCap);
  return (
    <section aria-labelledby="runway-h">
      <h2 id="runway-h">Runway forecast</h2>
      <dl class="facts" data-testid="forecast">
        <dt>Burn rate</dt>
        <dd data-testid="burn-rate">{`${formatAmount(runway.burnRatePerDay, c)} a day`}</dd>
        <dt>Based on</dt>
        <dd>{runway.basis}</dd>
        {postpaid ? (
          <>
            <dt>Projected owed at month end</dt>
            <dd>{formatAmount(runway.projectedOwed ?? 0n, c)}</dd>
          </>
        ) : zero ? (
          <>
            <dt>Balance</dt>
            <dd data-testid="depletes-at" class="status-bad">
              {zero}
            </dd>
          </>
        ) : (
          <>
            <dt>Balance reaches zero</dt>
            <dd data-testid="depletes-at">
              {runway.depletesAt
                ? `${formatTime(runway.depletesAt)}${runway.runwayDays !== null ? ` (in ${runway.runwayDays} days)` : ''}`
                : runway.beyondHorizon
                  ? 'not within the forecast horizon'
                  : account.settings.autoRecharge.enabled
                    ? 'not expected while auto-recharge succeeds'
                    : 'not expected at this rate'}
            </dd>
            {capped && runway.depletesAt && (
              <>
                <dt>Why</dt>
                <dd data-testid="depletes-why" class="status-warn">
                  {capped}
                </dd>
              </>
            )}
            {account.settings.autoRecharge.enabled && (
              <>
                <dt>Auto-recharge expected</dt>
                <dd data-testid="recharge-expected-at">
                  {runway.rechargeExpectedAt ? formatTime(runway.rechargeExpectedAt) : 'not expected soon'}
                </dd>
              </>
            )}
          </>
        )}
      </dl>
      <p class="hint">{runway.method}</p>
    </section>
  );
}

/** A tenant's overview: balance and state, this month's spend, 30 days of charts, the runway. */
export function OverviewPage(props: OverviewProps) {
  const { account, frame } = props;
  const s = account.settings;
  const c = s.currency;
  const postpaid = s.mode === 'postpaid';
  const failure = rechargeFailure(account);
  return (
    <Layout frame={frame}>
      <h1>{`${account.tenantId}: overview`}</h1>
      <div class="cards">
        {postpaid ? (
          <Card
            id="owed"
            label={`Owed for ${props.period}`}
            value={formatAmount(account.owed[props.period] ?? 0n, c)}
          />
        ) : (
          <>
            <Card id="balance" label="Balance" value={formatAmount(account.balance, c)} />
            <Card id="reserved" label="Reserved for calls" value={formatAmount(account.sessionsHold, c)} />
            <Card
              id="available"
              label="Available"
              value={formatAmount(account.balance - account.sessionsHold, c)}
            />
          </>
        )}
        <Card
          id="mode"
          label="Billing"
          value={postpaid ? 'Postpaid (billed after use)' : 'Prepaid credits'}
        />
        {!postpaid && (
          <div class="card">
            <div class="label" id="state">
              Credit-paid calls
            </div>
            <div class="value" data-testid="state">
              {account.blocked ? (
                <span class="status-bad">Blocked: add funds</span>
              ) : (
                <span class="status-good">Allowed</span>
              )}
            </div>
          </div>
        )}
        {!postpaid && (
          <Card id="threshold" label="Low-balance threshold" value={formatAmount(s.lowBalanceThreshold, c)} />
        )}
        {!postpaid && (
          <Card
            id="auto-recharge"
            label="Auto-recharge"
            value={
              s.autoRecharge.enabled
                ? `On: ${formatAmount(s.autoRecharge.amount, c)} below ${formatAmount(s.autoRecharge.trigger, c)}`
                : 'Off'
            }
          >
            {failure && (
              <p class="status-bad card-note" data-testid="recharge-failure">
                {failure}
              </p>
            )}
          </Card>
        )}
        <Card id="month-spend" label={`Spent in ${props.period}`} value={formatAmount(props.monthSpend, c)} />
      </div>
      <LiveCalls calls={props.liveCalls} more={props.moreLiveCalls} currency={c} />
      <Runway runway={props.runway} account={account} />
      <Pools pools={props.pools} period={props.period} />
      <h2>The last 30 days</h2>
      {!postpaid && (
        <LineChart points={props.balanceHistory} currency={c} caption="Balance at the end of each day" />
      )}
      <BarChart
        points={props.dailySpend}
        currency={c}
        caption={postpaid ? 'Amount accrued each day' : 'Credits spent each day'}
      />
    </Layout>
  );
}
