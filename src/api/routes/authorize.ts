import type { FastifyBaseLogger } from 'fastify';
import { hasLoneSurrogate } from '../../credits/user-limits';
import { authorizeCall } from '../../settlement/authorize-call';
import type { AdminApp, ResourceOptions } from '../admin-app';
import { bodyTenantHooks } from '../guard';
import { presentMoney } from '../money';
import { badRequest } from '../refusals';
import { authorizeBody, authorizeResponses } from './authorize.schemas';

/** The check a switch asks before it connects a call: allowed or not, why, and for how long. */
export function authorizeRoutes<L extends FastifyBaseLogger>(
  app: AdminApp<L>,
  { ledger, pricer, guards }: ResourceOptions,
): void {
  const guard = guards.forTenantInBody;
  app.post(
    '/v1/authorize',
    {
      logLevel: 'warn',
      // The tenant comes from the body: it is named in the request's log lines once parsed.
      ...bodyTenantHooks(guard),
      schema: {
        operationId: 'authorizeCall',
        tags: ['authorization'],
        body: authorizeBody,
        response: authorizeResponses,
      },
    },
    async (request, reply) => {
      const body = request.body;
      // A user key that is not well-formed Unicode would be kept as another (U+FFFD) user's.
      for (const field of ['userId', 'userPrincipalName'] as const)
        if (body[field] !== undefined && hasLoneSurrogate(body[field]))
          return badRequest(reply, `body/${field}: is not well-formed Unicode (a lone UTF-16 surrogate)`);
      const decision = await authorizeCall(ledger.writes, pricer, {
        ...body,
        startDateTime: body.startDateTime ?? new Date().toISOString(),
      });
      return reply.send({
        allowed: decision.allowed,
        reason: decision.reason,
        maxSeconds: decision.maxSeconds,
        ...(decision.balance
          ? { balance: presentMoney(decision.balance.amountMinor, decision.balance.currency) }
          : {}),
        ...(decision.userLimitLeft !== undefined && decision.balance
          ? { userLimitLeft: presentMoney(decision.userLimitLeft, decision.balance.currency) }
          : {}),
      });
    },
  );
}
