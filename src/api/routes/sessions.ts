import type { FastifyBaseLogger, FastifyReply } from 'fastify';
import { minorToDecimal } from '../../credits/money';
import {
  CallSessions,
  DEFAULT_SESSION_SETTINGS,
  fingerprintOf,
  type SessionAnswer,
  type SessionProblem,
} from '../../settlement/call-sessions';
import type { AdminApp, ResourceOptions } from '../admin-app';
import { bodyTenantHooks } from '../guard';
import { liveCall } from '../../settlement/live-calls';
import { noAccount } from '../refusals';
import {
  endResponses,
  grantResponses,
  sessionListQuery,
  sessionListResponses,
  sessionParams,
  sessionReportBody,
  startSessionBody,
  tenantParams,
} from './sessions.schemas';

/** What conflicts are called, and which field of the request they name. */
const CONFLICTS: Record<string, string> = {
  usage_id_reused: 'body/usageId: another start was made under this usage id',
  session_ended: 'usageId: the session has ended',
  session_expired: 'usageId: the session expired (an end is still taken)',
  session_settled: 'usageId: the call was settled by its CDR',
  used_seconds_decreased: 'body/usedSeconds: less than reported before',
};

const decimal = (minor: bigint, currency: string | null) =>
  currency ? minorToDecimal(minor.toString(), currency) : minor.toString();

const present = (answer: SessionAnswer) => ({
  usageId: answer.usageId,
  allowed: answer.allowed,
  reason: answer.reason,
  grantedSeconds: answer.grantedSeconds,
  // An emergency call holds nothing, whatever the currency: "0" (CONTRACTS.md section 7).
  reserved: answer.reason === 'emergency' ? '0' : decimal(answer.reserved, answer.currency),
  currency: answer.currency,
  validUntil: answer.validUntil?.toISOString() ?? null,
});

function problem(reply: FastifyReply, tenantId: string, usageId: string, p: SessionProblem) {
  if (p.problem === 'unknown_tenant') return noAccount(reply, tenantId);
  if (p.problem === 'unknown')
    return reply.code(404).send({ error: 'session_unknown', message: `usageId: no session ${usageId}` });
  return reply
    .code(409)
    .send({ error: p.conflict, message: CONFLICTS[p.conflict] ?? `usageId: ${p.conflict}` });
}

/**
 * Call sessions (CONTRACTS.md section 7): a switch starts one before it connects a call,
 * renews it while the call runs and ends it; each answer grants seconds the tenant's credit
 * reserves. Guarded like the authorization: the tenant key of the body's tenant, or the operator.
 */
export function sessionRoutes<L extends FastifyBaseLogger>(
  app: AdminApp<L>,
  { ledger, pricer, guards, sessions: settings, onSessionAnswer }: ResourceOptions,
): void {
  const sessions = new CallSessions({
    ledger: ledger.sessions,
    pricer,
    settings: settings ?? DEFAULT_SESSION_SETTINGS,
    ...(onSessionAnswer ? { onAnswer: onSessionAnswer } : {}),
  });
  const inBody = { logLevel: 'warn' as const, ...bodyTenantHooks(guards.forTenantInBody) };

  app.post(
    '/v1/sessions',
    {
      ...inBody,
      schema: {
        operationId: 'startSession',
        tags: ['sessions'],
        body: startSessionBody,
        response: grantResponses,
      },
    },
    async (request, reply) => {
      const body = request.body;
      const call = {
        usageId: body.usageId,
        tenantId: body.tenantId,
        callType: body.callType,
        startDateTime: body.startDateTime ?? new Date().toISOString(),
        ...pick(body, [
          'calleeNumber',
          'callerNumber',
          'numberType',
          'licenseCapability',
          'usageCountryCode',
          'tenantCountryCode',
          'destinationContext',
          'userId',
          'userPrincipalName',
        ]),
      };
      const answer = await sessions.start(call, fingerprintOf(body as Record<string, unknown>));
      if ('problem' in answer) return problem(reply, body.tenantId, body.usageId, answer);
      return reply.send(present(answer));
    },
  );

  app.post(
    '/v1/sessions/:usageId/update',
    {
      ...inBody,
      schema: {
        operationId: 'updateSession',
        tags: ['sessions'],
        params: sessionParams,
        body: sessionReportBody,
        response: grantResponses,
      },
    },
    async (request, reply) => {
      const { tenantId, usedSeconds } = request.body;
      const { usageId } = request.params;
      const answer = await sessions.update(tenantId, usageId, usedSeconds);
      if ('problem' in answer) return problem(reply, tenantId, usageId, answer);
      return reply.send(present(answer));
    },
  );

  app.post(
    '/v1/sessions/:usageId/end',
    {
      ...inBody,
      schema: {
        operationId: 'endSession',
        tags: ['sessions'],
        params: sessionParams,
        body: sessionReportBody,
        response: endResponses,
      },
    },
    async (request, reply) => {
      const { tenantId, usedSeconds } = request.body;
      const { usageId } = request.params;
      const ended = await sessions.end(tenantId, usageId, usedSeconds);
      if ('problem' in ended) return problem(reply, tenantId, usageId, ended);
      return reply.send({
        usageId,
        released: decimal(ended.released, ended.currency),
        held: decimal(ended.held, ended.currency),
        currency: ended.currency,
      });
    },
  );
  listSessionsRoute(app, { ledger, guards });
}

/** GET .../sessions: the tenant's calls in progress, a page at a time. */
function listSessionsRoute<L extends FastifyBaseLogger>(
  app: AdminApp<L>,
  { ledger, guards }: Pick<ResourceOptions, 'ledger' | 'guards'>,
): void {
  app.get(
    '/v1/tenants/:tenantId/sessions',
    {
      ...guards.forTenant,
      schema: {
        operationId: 'listSessions',
        tags: ['sessions'],
        params: tenantParams,
        querystring: sessionListQuery,
        response: sessionListResponses,
      },
    },
    async (request, reply) => {
      const tenant = request.params.tenantId;
      const account = await ledger.reads.readAccount(tenant);
      if (!account) return noAccount(reply, tenant);
      const currency = account.settings.currency;
      const page = await ledger.sessions.listSessions(tenant, {
        cursor: request.query.cursor ?? '0',
        count: Number(request.query.limit ?? '100'),
      });
      return reply.send({
        tenantId: tenant,
        cursor: page.cursor,
        sessions: page.sessions.map(liveCall).map((s) => ({
          usageId: s.usageId,
          reserved: minorToDecimal(s.held.toString(), currency),
          currency,
          usedSeconds: s.usedSeconds,
          grantedSeconds: s.grantedSeconds,
          startDateTime: s.startedAt.toISOString(),
          validUntil: s.validUntil.toISOString(),
          ...(s.user ? { user: s.user } : {}),
          ...(s.callee ? { calleeNumber: s.callee } : {}),
        })),
      });
    },
  );
}

function pick<T extends object, K extends keyof T>(object: T, keys: K[]): Partial<Pick<T, K>> {
  const picked: Partial<Pick<T, K>> = {};
  for (const key of keys) if (object[key] !== undefined) picked[key] = object[key];
  return picked;
}
