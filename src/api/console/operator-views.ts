import type { FastifyInstance, FastifyReply, FastifyRequest } from 'fastify';
import type { AdminLedger, OperatorLedger } from '../../settlement/admin-ports';
import { ErrorPage } from './pages/error';
import { OperatorPage, TenantLine } from './pages/operator';
import type { Visit } from './render';
import { html } from './render';

/** What the operator's page reads: each costs work per tenant shown, never per tenant kept. */
export interface OperatorViews {
  search(options: {
    query?: string;
    cursor?: string;
    count: number;
  }): Promise<{ tenants: string[]; nextCursor: string | null }>;
  attention(options: { limit: number }): Promise<{ blocked: string[]; low: string[] }>;
  recentRechargeFailures(options: { limit: number }): Promise<{ tenantId: string; at: Date }[]>;
  deadLetters(options: { recent: number }): Promise<{
    byReason: Record<string, number>;
    recent: { at: Date; reason: string; message: string; origin: string; tenantId?: string }[];
  }>;
}

const PAGE = 25;
const LIST = 20;

export function operatorRoutes(
  app: FastifyInstance,
  {
    ledger,
    operator,
    visit,
  }: {
    ledger: AdminLedger;
    operator: OperatorViews;
    visit: (request: FastifyRequest, reply: FastifyReply) => Visit | undefined;
  },
) {
  app.get('/operator', async (request, reply) => {
    const v = visit(request, reply);
    if (!v) return reply;
    if (v.session.kind !== 'operator')
      return html(
        reply,
        ErrorPage({ frame: v.frame('Not allowed'), status: 403, message: 'This page is for the operator.' }),
        403,
      );
    const raw = request.query as { q?: string; cursor?: string };
    const query = (raw.q ?? '').trim().slice(0, 64);
    const cursor = /^\d{1,20}$/.test(raw.cursor ?? '') ? raw.cursor! : '0';
    const [page, attention, failures, deadLetters] = await Promise.all([
      operator.search({ query, cursor, count: PAGE }),
      operator.attention({ limit: LIST }),
      operator.recentRechargeFailures({ limit: LIST }),
      operator.deadLetters({ recent: LIST }),
    ]);
    const accounts = new Map(
      await Promise.all(
        [...new Set([...page.tenants, ...failures.map((f) => f.tenantId)])].map(
          async (id) => [id, await ledger.reads.readAccount(id)] as const,
        ),
      ),
    );
    const tenants: TenantLine[] = page.tenants.flatMap((tenantId) => {
      const account = accounts.get(tenantId);
      if (!account) return [];
      const s = account.settings;
      return [
        {
          tenantId,
          mode: s.mode,
          balance: account.balance,
          currency: s.currency,
          blocked: account.blocked,
          belowThreshold: s.mode === 'prepaid' && account.balance < s.lowBalanceThreshold,
        },
      ];
    });
    return html(
      reply,
      OperatorPage({
        frame: { ...v.frame('Tenants'), operatorTab: 'tenants' },
        query,
        tenants,
        cursor,
        nextCursor: page.nextCursor,
        blocked: attention.blocked,
        low: attention.low,
        failures: failures.map((f) => {
          const account = accounts.get(f.tenantId);
          return {
            tenantId: f.tenantId,
            at: f.at,
            reason: account?.autoRecharge.lastFailure?.reason ?? 'unknown',
            consecutive: account?.autoRecharge.consecutiveFailures ?? 0,
          };
        }),
        deadLetters,
      }),
    );
  });
}

/** The operator's reads from the ledger: the registry, the index shards, the dead-letter log. */
export const operatorViewsOf = (ledger: OperatorLedger): OperatorViews => ({
  search: (options) => ledger.tenants.search(options),
  attention: (options) => ledger.indexes.attention(options),
  recentRechargeFailures: (options) => ledger.indexes.recentRechargeFailures(options),
  deadLetters: async (options) => {
    const summary = await ledger.deadLetters.summary(options);
    return {
      byReason: summary.byReason,
      recent: summary.recent.map((entry) => ({
        at: entry.at,
        reason: entry.reason,
        message: entry.message,
        origin: `${entry.topic}/${entry.partition}/${entry.offset}`,
        ...(entry.tenantId === undefined ? {} : { tenantId: entry.tenantId }),
      })),
    };
  },
});
