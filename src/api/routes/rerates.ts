import type { FastifyBaseLogger } from 'fastify';
import type { AdminApp, ResourceOptions } from '../admin-app';
import { presentMoney } from '../money';
import { badRequest } from '../refusals';
import { rerateBody, rerateResponses } from './rerates.schemas';

/**
 * The operator's re-rating of a period (docs/rerating.md): a dry run reports what the
 * decks now in force change, a real run applies it, once per revision. The request waits for
 * the run; a run cut short (the connection lost, the process stopped) is resumed by the same
 * request again.
 */
export function rerateRoutes<L extends FastifyBaseLogger>(
  app: AdminApp<L>,
  { rerate, guards }: ResourceOptions,
): void {
  app.post(
    '/v1/rerates',
    {
      ...guards.forOperator,
      schema: {
        operationId: 'rerate',
        tags: ['usage'],
        body: rerateBody,
        response: rerateResponses,
      },
    },
    async (request, reply) => {
      if (!rerate)
        return reply
          .code(503)
          .send({ error: 'rerate_unavailable', message: 'this instance has no rate decks to re-rate with' });
      const { body } = request;
      const from = new Date(body.from);
      const to = new Date(body.to);
      if (!(from.getTime() < to.getTime())) return badRequest(reply, 'body/to must be after body/from');
      const report = await rerate.run({
        from,
        to,
        ...(body.tenantId ? { tenantId: body.tenantId } : {}),
        dryRun: body.dryRun ?? false,
      });
      request.log.info(
        { revision: report.revision, dryRun: report.dryRun, tenants: report.tenants.length },
        'period re-rated',
      );
      return reply.send({
        revision: report.revision,
        from: report.from.toISOString(),
        to: report.to.toISOString(),
        dryRun: report.dryRun,
        complete: report.complete,
        tenants: report.tenants.map((t) => ({
          tenantId: t.tenantId,
          examined: t.examined,
          calls: t.calls,
          oldTotal: presentMoney(t.before, t.currency),
          newTotal: presentMoney(t.after, t.currency),
          difference: presentMoney(t.after - t.before, t.currency),
          unpriced: t.unpriced,
          refused: t.refused,
        })),
      });
    },
  );
}
