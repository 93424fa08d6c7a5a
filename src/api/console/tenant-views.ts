import type { FastifyInstance } from 'fastify';
import { balanceHistory, BurnBasis, forecastRunway, RunwayForecast } from '../../credits/forecast';
import type { AccountView, AppliedRecord } from '../../credits/wallet';
import type { AdminLedger } from '../../settlement/admin-ports';
import { liveCalls, type LiveCall } from '../../settlement/live-calls';
import type { Visit, OpenTenant } from './render';
import { html } from './render';
import type { TenantTab, PageFrame } from './pages/layout';
import { OverviewPage } from './pages/overview';
import { CALL_TYPES, SOURCES, UsagePage, UsageQuery } from './pages/usage';
import type { ReportRow } from './usage-report';
import { filterRows, reportCsv } from './usage-report';
import { formatAmount } from './format';
import { poolUse } from './overview-facts';

/** What the burn rate is, in words and money. */
export function describeBurn(basis: BurnBasis, currency: string): string {
  switch (basis.kind) {
    case 'mean_of_full_days':
      return `the average of the ${basis.days} full days ${basis.from} to ${basis.to} (${formatAmount(basis.total, currency)} in all)`;
    case 'today_so_far':
      return `today's spend so far (${formatAmount(basis.total, currency)}), higher than the average of the full days or with no full day yet`;
    case 'no_spend_history':
      return 'no spend yet';
  }
}

/** How the projection was made, in a sentence a tenant admin can follow. */
export function describeMethod(forecast: RunwayForecast): string {
  if (forecast.mode === 'postpaid')
    return 'Postpaid: the amount owed so far this month plus the burn rate for the days left in it.';
  const recharge =
    forecast.autoRecharge === 'able'
      ? ' Auto-recharge is counted on below its trigger, within its monthly cap, as if each payment succeeded at once.'
      : forecast.autoRecharge === 'stopped_by_failures'
        ? ' Auto-recharge has failed too many times in a row and is not counted on.'
        : '';
  const forfeits =
    forecast.projectedForfeits > 0n
      ? ` ${formatAmount(forecast.projectedForfeits, forecast.currency)} is projected to expire unused first.`
      : '';
  return `Projected at the burn rate, drawing on the funds that expire first; funds still unused at their expiry are forfeited and bring the date forward.${forfeits}${recharge}`;
}

/** The most rows one report reads; a longer period is cut there, and the page says so. */
export const REPORT_MAX_ROWS = 100_000;
/** The longest period one report covers. */
export const REPORT_MAX_DAYS = 92;
const PAGE_SIZE = 50;
const DAY_MS = 86_400_000;

/** An applied usage as a report row: the ledger's outcome, its rated details, the call's fields. */
export function reportRow(record: AppliedRecord, currency: string): ReportRow {
  const { outcome } = record;
  const { details, report: call } = outcome;
  return {
    usageId: record.usageId,
    callId: call.callId ?? '',
    conferenceId: call.conferenceId ?? '',
    userLocation: call.usageCountryCode ?? '',
    userId: call.userId ?? '',
    userPrincipalName: call.userPrincipalName ?? '',
    userDisplayName: call.userDisplayName ?? '',
    callerNumber: call.callerNumber ?? '',
    calleeNumber: call.calleeNumber ?? '',
    callType: call.callType ?? '',
    numberType: call.numberType ?? '',
    destinationContext: call.destinationContext ?? '',
    destinationName: details?.destinationName ?? '',
    startedAt: outcome.start,
    endedAt: call.endDateTime ?? '',
    duration: call.duration,
    billedSeconds: details?.billedSeconds,
    poolSeconds: outcome.poolSeconds,
    charge: outcome.charge,
    connectionCharge: details?.connectionCharge ?? 0n,
    currency: details?.currency ?? currency,
    capability: call.licenseCapability ?? '',
    source: outcome.source,
  };
}

const DATE = /^\d{4}-\d{2}-\d{2}$/;

/** The report's query, checked: dates as UTC days, `to` inclusive; a problem names its field. */
export function usageQuery(raw: Record<string, string | undefined>, now = new Date()): UsageQuery | string {
  const today = now.toISOString().slice(0, 10);
  const from = raw.from || `${today.slice(0, 7)}-01`;
  const to = raw.to || today;
  if (!DATE.test(from) || Number.isNaN(Date.parse(from))) return 'from must be a date (yyyy-mm-dd)';
  if (!DATE.test(to) || Number.isNaN(Date.parse(to))) return 'to must be a date (yyyy-mm-dd)';
  if (from > to) return 'from must not be after to';
  if ((Date.parse(to) - Date.parse(from)) / DAY_MS + 1 > REPORT_MAX_DAYS)
    return `to: a report covers ${REPORT_MAX_DAYS} days at most`;
  if (raw.callType && !CALL_TYPES.includes(raw.callType))
    return `callType ${raw.callType} is not a call type`;
  if (raw.source && !SOURCES.includes(raw.source))
    return `source ${raw.source} is not where money comes from`;
  const offset = raw.offset === undefined || raw.offset === '' ? 0 : Number(raw.offset);
  if (!Number.isSafeInteger(offset) || offset < 0) return 'offset must be a whole number';
  const text = (name: string) => {
    const value = raw[name]?.trim();
    return value ? value.slice(0, 128) : undefined;
  };
  return {
    from,
    to,
    offset,
    user: text('user'),
    callType: text('callType'),
    destination: text('destination'),
    source: text('source'),
  };
}

/** Calls the overview lists at most, and hash entries scanned to find them (bounds a page's work). */
export const LIVE_CALLS_SHOWN = 50;
const LIVE_SCAN_PAGES = 10;
const LIVE_SCAN_COUNT = 100;

/** The tenant's calls in progress, as the sessions route reads them (at most LIVE_CALLS_SHOWN). */
async function readLiveCalls(
  ledger: AdminLedger,
  tenantId: string,
): Promise<{ calls: LiveCall[]; more: boolean }> {
  const found: Parameters<typeof liveCalls>[0] = [];
  let cursor = '0';
  for (let page = 0; page < LIVE_SCAN_PAGES; page++) {
    const read = await ledger.sessions.listSessions(tenantId, { cursor, count: LIVE_SCAN_COUNT });
    found.push(...read.sessions);
    cursor = read.cursor;
    if (cursor === '0' || found.length > LIVE_CALLS_SHOWN) break;
  }
  const calls = liveCalls(found);
  return { calls: calls.slice(0, LIVE_CALLS_SHOWN), more: cursor !== '0' || calls.length > LIVE_CALLS_SHOWN };
}

interface TenantViewOptions {
  ledger: AdminLedger;
  openTenant: OpenTenant;
  tabFrame: (v: Visit, account: AccountView, title: string, tab: TenantTab) => PageFrame;
}

/** The overview, with its charts and runway, and the usage report with its CSV. */
export function tenantViews(app: FastifyInstance, options: TenantViewOptions) {
  overviewView(app, options);
  usageViews(app, options);
}

/** The overview: this month's spend, the balance's history, the runway, pools and live calls. */
function overviewView(app: FastifyInstance, { ledger, openTenant, tabFrame }: TenantViewOptions) {
  app.get('/t/:tenantId', async (request, reply) => {
    const opened = await openTenant(request, reply);
    if (!opened) return reply;
    const { tenantId, v, account } = opened;
    const now = new Date();
    const period = now.toISOString().slice(0, 7);
    // 31 days: the charts' 30, and every day of this month for its spend.
    const spend = await ledger.reads.dailySpend(tenantId, { days: 31, now });
    const daily = spend.slice(-30);
    const postpaid = account.settings.mode === 'postpaid';
    // Money debited (or accrued) on this month's days: what the balance saw go.
    const monthSpend = spend
      .filter((d) => d.day.startsWith(period))
      .reduce((sum, d) => sum + (postpaid ? d.postpaid : d.credits), 0n);
    const history = balanceHistory({
      now,
      balance: account.balance,
      lots: account.lots,
      dailySpend: daily,
      days: 30,
    });
    const forecast = forecastRunway({ now, account, dailySpend: spend });
    const live = await readLiveCalls(ledger, tenantId);
    return html(
      reply,
      OverviewPage({
        frame: tabFrame(v, account, 'Overview', 'overview'),
        account,
        period,
        monthSpend,
        balanceHistory: history.map((p) => ({ day: p.day, value: p.balance })),
        dailySpend: daily.map((d) => ({ day: d.day, value: postpaid ? d.postpaid : d.credits })),
        runway: {
          burnRatePerDay: forecast.burnRate,
          basis: describeBurn(forecast.basis, account.settings.currency),
          depletesAt: forecast.depletesAt,
          rechargeExpectedAt: forecast.rechargeExpectedAt,
          runwayDays: forecast.runwayDays,
          beyondHorizon: forecast.beyondHorizon,
          method: describeMethod(forecast),
          projectedOwed: forecast.owedAtMonthEnd ?? undefined,
          depletedByCap: forecast.depletedByCap,
        },
        pools: poolUse(account, period),
        liveCalls: live.calls,
        moreLiveCalls: live.more,
      }),
    );
  });
}

/** The usage report, as a page and as CSV. */
function usageViews(app: FastifyInstance, { ledger, openTenant, tabFrame }: TenantViewOptions) {
  const reportRows = async (tenantId: string, currency: string, query: UsageQuery) => {
    const records = await ledger.reads.listUsage(tenantId, {
      from: new Date(`${query.from}T00:00:00Z`),
      to: new Date(Date.parse(`${query.to}T00:00:00Z`) + DAY_MS),
      offset: 0,
      limit: REPORT_MAX_ROWS,
    });
    return filterRows(
      records.map((record) => reportRow(record, currency)),
      query,
    );
  };

  app.get('/t/:tenantId/usage', async (request, reply) => {
    const opened = await openTenant(request, reply);
    if (!opened) return reply;
    const { tenantId, v, account } = opened;
    const currency = account.settings.currency;
    const frame = tabFrame(v, account, 'Usage report', 'usage');
    const query = usageQuery(request.query as Record<string, string>);
    if (typeof query === 'string') {
      const fallback = usageQuery({}) as UsageQuery;
      return html(
        reply,
        UsagePage({
          frame,
          tenantId,
          currency,
          query: fallback,
          rows: [],
          pageSize: PAGE_SIZE,
          error: query,
        }),
        400,
      );
    }
    const rows = await reportRows(tenantId, currency, query);
    return html(reply, UsagePage({ frame, tenantId, currency, query, rows, pageSize: PAGE_SIZE }));
  });

  app.get('/t/:tenantId/usage.csv', async (request, reply) => {
    const opened = await openTenant(request, reply);
    if (!opened) return reply;
    const { tenantId, account } = opened;
    const query = usageQuery(request.query as Record<string, string>);
    if (typeof query === 'string') return reply.code(400).type('text/plain; charset=utf-8').send(query);
    const rows = await reportRows(tenantId, account.settings.currency, query);
    return reply
      .header('cache-control', 'no-store')
      .header('content-disposition', `attachment; filename="usage-${tenantId}-${query.from}-${query.to}.csv"`)
      .type('text/csv; charset=utf-8')
      .send(reportCsv(rows));
  });
}
