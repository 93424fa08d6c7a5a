import type { FastifyBaseLogger, FastifyInstance, RawServerDefault } from 'fastify';
import type { IncomingMessage, ServerResponse } from 'node:http';

/**
 * A dependency the service needs; ready when every check passes. A check answers true, or
 * false or a sentence saying what is wrong.
 */
export interface ReadinessCheck {
  name: string;
  check(): Promise<boolean | string>;
}

async function run(checks: ReadinessCheck[]) {
  const results = await Promise.all(
    checks.map(async ({ name, check }) => {
      try {
        const result = await check();
        return [name, result === true ? 'ok' : result === false ? 'not ready' : result] as const;
      } catch (error) {
        return [name, error instanceof Error ? error.message : 'failed'] as const;
      }
    }),
  );
  return { ok: results.every(([, state]) => state === 'ok'), checks: Object.fromEntries(results) };
}

/**
 * `/healthz`: the process is alive (and, with `liveness` checks, still able to do its job:
 * restart it otherwise). `/readyz`: connected to everything it needs and making progress.
 */
export function healthRoutes<L extends FastifyBaseLogger>(
  app: FastifyInstance<RawServerDefault, IncomingMessage, ServerResponse, L>,
  checks: ReadinessCheck[],
  liveness: ReadinessCheck[] = [],
  /** Facts /readyz states beside the checks (which payment gateway charges). */
  facts: { paymentGateway?: string; payments?: string } = {},
): void {
  // Probes arrive every few seconds: their request logs would drown everything else.
  // They are not part of the admin API: its document (/v1/openapi.json) leaves them out.
  const quiet = { logLevel: 'warn', schema: { hide: true } } as const;
  app.get('/healthz', quiet, async (_request, reply) => {
    if (liveness.length === 0) return { status: 'ok' };
    const { ok, checks: results } = await run(liveness);
    return reply.code(ok ? 200 : 503).send({ status: ok ? 'ok' : 'failed', checks: results });
  });

  app.get('/readyz', quiet, async (_request, reply) => {
    const { ok, checks: results } = await run(checks);
    return reply.code(ok ? 200 : 503).send({ status: ok ? 'ready' : 'not ready', checks: results, ...facts });
  });
}
