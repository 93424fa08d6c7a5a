import type { FastifyInstance, FastifyReply, FastifyRequest, preHandlerHookHandler } from 'fastify';
import { utcMonth } from '../../credits/calendar';
import { isBurstGuardOn, MAX_CONCURRENT_CALLS, userKeyProblem } from '../../credits/user-limits';
import type { AccountView } from '../../credits/wallet';
import type { AdminLedger } from '../../settlement/admin-ports';
import { formatAmount } from './format';
import {
  burstGuardForm,
  callCapsForm,
  clearBlockForm,
  defaultLimitForm,
  formProblem,
  posted,
  userLimitForm,
} from './forms';
import type { PageFrame, TenantTab } from './pages/layout';
import { UserLimitsPage } from './pages/user-limits';
import type { Visit, OpenTenant } from './render';
import { html } from './render';
import {
  UserLimitsChange,
  userLimitRows,
  UserLimitsFields,
  UserLimitsRequest,
  userLimitsChange,
} from '../user-limits';
import { sortNatural } from './words';

/** Users a page lists; more are paged (`?offset=`). */
export const USER_LIMITS_PAGE_SIZE = 50;

/** A form's fields, as a refusal names them: the default's amount, the user, the user's amount. */
const FIELDS: UserLimitsFields = {
  default: 'default',
  users: 'user',
  user: () => 'limit',
  burstGuard: 'burstGuard',
};

/** Turning the guard off blocks no one more, and clears no block. */
const STILL_BLOCKED = ': no user is blocked from now on; users already blocked stay so until cleared.';

interface UserLimitsViewOptions {
  ledger: AdminLedger;
  openTenant: OpenTenant;
  tabFrame: (v: Visit, account: AccountView, title: string, tab: TenantTab) => PageFrame;
  protect: { preHandler: preHandlerHookHandler };
}

/** A form's change as the API's request, and what the page says once it is saved; or its problem. */
type AskResult =
  { request: UserLimitsRequest; done: (change: UserLimitsChange) => string } | { problem: string };

/** The default limit set or removed. */
function askDefault(body: unknown): AskResult {
  const form = defaultLimitForm.safeParse(body);
  if (!form.success) return { problem: formProblem(form.error) };
  return form.data.action === 'remove'
    ? {
        request: { default: null },
        done: () => 'Default limit removed: users without a limit of their own have none.',
      }
    : {
        request: { default: form.data.default },
        done: (c) => `Default limit saved: ${formatAmount(c.default ?? 0n, c.currency)}.`,
      };
}

/** A user's own limit: an amount, none whatever the default, or removed. */
function askUserLimit(body: unknown): AskResult {
  const form = userLimitForm.safeParse(body);
  if (!form.success) return { problem: formProblem(form.error) };
  const { user } = form.data;
  if (form.data.kind === 'limit')
    return {
      request: { users: { [user]: form.data.limit } },
      done: (c) => `Limit of ${user} saved: ${formatAmount(BigInt(c.users[user] ?? 0n), c.currency)}.`,
    };
  return form.data.kind === 'none'
    ? {
        request: { users: { [user]: 'none' } },
        done: () => `${user} has no limit now, whatever the default.`,
      }
    : {
        request: { users: { [user]: null } },
        done: () => `${user}'s own limit removed: the default applies.`,
      };
}

/** The burst guard on (its window and thresholds) or off. */
function askBurstGuard(body: unknown): AskResult {
  const form = burstGuardForm.safeParse(body);
  if (!form.success) return { problem: formProblem(form.error) };
  if (form.data.action === 'off')
    return { request: { burstGuard: null }, done: () => `Burst guard turned off${STILL_BLOCKED}` };
  const windowMinutes = form.data['burstGuard/windowMinutes'];
  return {
    request: {
      burstGuard: {
        windowMinutes,
        maxInternationalCalls: form.data['burstGuard/maxInternationalCalls'],
        maxSpend: form.data['burstGuard/maxSpend'],
      },
    },
    done: (c) => {
      const guard = c.burstGuard;
      if (!isBurstGuardOn(guard)) return `Burst guard off, neither threshold was given${STILL_BLOCKED}`;
      const over = [
        ...(guard.maxInternationalCalls !== undefined
          ? [`more than ${guard.maxInternationalCalls} international calls`]
          : []),
        ...(guard.maxSpend !== undefined ? [`more than ${formatAmount(guard.maxSpend, c.currency)}`] : []),
      ];
      return `Burst guard saved: a user with ${over.join(' or ')} in ${windowMinutes} minutes is blocked.`;
    },
  };
}

/** The calls-at-once caps, for the tenant and each user; empty for no cap. */
function askCallCaps(body: unknown): AskResult {
  const form = callCapsForm.safeParse(body);
  if (!form.success) return { problem: formProblem(form.error) };
  const perTenant = form.data['concurrentCalls/perTenant'];
  const perUser = form.data['concurrentCalls/perUser'];
  for (const [name, cap] of [
    ['concurrentCalls/perTenant', perTenant],
    ['concurrentCalls/perUser', perUser],
  ] as const)
    if (cap !== null && (cap < 1 || cap > MAX_CONCURRENT_CALLS))
      return { problem: `${name}: from 1 to ${MAX_CONCURRENT_CALLS}, or empty for no cap` };
  return {
    request: { concurrentCalls: perTenant === null && perUser === null ? null : { perTenant, perUser } },
    done: () =>
      `Calls at once saved: ${perTenant ?? 'no cap'} for the tenant, ${perUser ?? 'no cap'} for each user.`,
  };
}

/** The page, as the ledger has the limits now, with a result and the posted fields when there are. */
function userLimitsPage(ledger: AdminLedger, tabFrame: UserLimitsViewOptions['tabFrame']) {
  return async (
    reply: FastifyReply,
    v: Visit,
    account: AccountView,
    extra: {
      offset?: number;
      result?: { kind: 'ok' | 'error'; message: string };
      posted?: Record<string, string>;
    } = {},
    status = 200,
  ) => {
    const currency = account.settings.currency;
    const month = utcMonth(new Date());
    const limits = await ledger.reads.userLimits(account.tenantId, month, currency);
    // In the natural order of the user keys (user2 before user10), as a person looks for them.
    const rows = sortNatural(userLimitRows(limits), (row) => row.user);
    const offset = Math.min(extra.offset ?? 0, Math.max(0, rows.length - 1));
    return html(
      reply,
      UserLimitsPage({
        frame: tabFrame(v, account, 'Spend limits', 'user-limits'),
        tenantId: account.tenantId,
        currency,
        month,
        ...(limits.default !== undefined ? { defaultLimit: limits.default } : {}),
        rows,
        ...(limits.burstGuard ? { burstGuard: limits.burstGuard } : {}),
        ...(limits.concurrentCalls ? { concurrentCalls: limits.concurrentCalls } : {}),
        blocked: sortNatural([...limits.blocked.entries()], ([user]) => user).map(([user, block]) => ({
          user,
          ...block,
        })),
        offset: offset - (offset % USER_LIMITS_PAGE_SIZE),
        pageSize: USER_LIMITS_PAGE_SIZE,
        postpaid: account.settings.mode === 'postpaid',
        ...(extra.result ? { result: extra.result } : {}),
        ...(extra.posted ? { posted: extra.posted } : {}),
      }),
      status,
    );
  };
}

/**
 * The spend limits page: the default and each user's limit and spend this month, and the
 * burst guard, changed by the same conversion and checks as `PUT /v1/tenants/{id}/user-limits`,
 * in its one script; and the users the guard blocked, cleared as
 * `DELETE /v1/tenants/{id}/user-blocks/{user}` clears them.
 */
export function userLimitsViews(
  app: FastifyInstance,
  { ledger, openTenant, tabFrame, protect }: UserLimitsViewOptions,
) {
  const page = userLimitsPage(ledger, tabFrame);

  app.get('/t/:tenantId/user-limits', async (request, reply) => {
    const opened = await openTenant(request, reply);
    if (!opened) return reply;
    const { v, account } = opened;
    const query = request.query as { offset?: string; user?: string };
    const offset = /^\d{1,9}$/.test(query.offset ?? '') ? Number(query.offset) : 0;
    const user = query.user?.slice(0, 1024);
    return page(reply, v, account, { offset, ...(user ? { posted: { user } } : {}) });
  });

  /** One change, as the API's PUT makes it: checked and converted by userLimitsChange, then one script. */
  const change = async (request: FastifyRequest, reply: FastifyReply, ask: (body: unknown) => AskResult) => {
    const opened = await openTenant(request, reply);
    if (!opened) return reply;
    const { tenantId, v, account } = opened;
    const refuse = (message: string, status: number) =>
      page(reply, v, account, { result: { kind: 'error', message }, posted: posted(request.body) }, status);
    const asked = ask(request.body);
    if ('problem' in asked) return refuse(asked.problem, 400);
    const converted = userLimitsChange(account.settings.currency, asked.request, FIELDS);
    if ('problem' in converted) return refuse(converted.problem, 400);
    const result = await ledger.writes.setUserLimits(tenantId, converted.change);
    if ('refused' in result) return refuse(`Not saved: ${result.detail}`, 409);
    return page(reply, v, account, { result: { kind: 'ok', message: asked.done(converted.change) } });
  };

  app.post('/t/:tenantId/user-limits/default', protect, async (request, reply) =>
    change(request, reply, askDefault),
  );

  app.post('/t/:tenantId/user-limits/user', protect, async (request, reply) =>
    change(request, reply, askUserLimit),
  );

  app.post('/t/:tenantId/user-limits/burst-guard', protect, async (request, reply) =>
    change(request, reply, askBurstGuard),
  );

  app.post('/t/:tenantId/user-limits/call-caps', protect, async (request, reply) =>
    change(request, reply, askCallCaps),
  );

  /** Clears a block as the API's DELETE does: one script, and a user not blocked is 404. */
  app.post('/t/:tenantId/user-limits/clear-block', protect, async (request, reply) => {
    const opened = await openTenant(request, reply);
    if (!opened) return reply;
    const { tenantId, v, account } = opened;
    const result = (kind: 'ok' | 'error', message: string, status = 200) =>
      page(reply, v, account, { result: { kind, message } }, status);
    const form = clearBlockForm.safeParse(request.body);
    if (!form.success) return result('error', formProblem(form.error), 400);
    const { user } = form.data;
    const problem = userKeyProblem(user);
    if (problem) return result('error', `user ${problem}`, 400);
    const cleared = await ledger.writes.clearUserBlock(tenantId, user);
    return cleared.status === 'cleared'
      ? result('ok', `Block of ${user} cleared: their credit-paid calls go through again, in a fresh window.`)
      : result('error', `${user} is not blocked (cleared meanwhile?): nothing changed.`, 404);
  });
}
