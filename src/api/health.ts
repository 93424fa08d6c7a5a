import type { FastifyBaseLogger, FastifyInstance, RawServerDefault } from 'fastify';
import type { IncomingMessage, ServerResponse } from 'node:http';

/** A dependency the service needs; ready when every check passes. */
export interface ReadinessCheck {
  name: string;
  check(): Promise<boolean>;
}

/** `/healthz`: the process is alive. `/readyz`: connected to everything it needs. */
export function healthRoutes<L extends FastifyBaseLogger>(
  app: FastifyInstance<RawServerDefault, IncomingMessage, ServerResponse, L>,
  checks: ReadinessCheck[],
  /** Facts /readyz states beside the checks (which payment gateway charges). */
  facts: { paymentGateway?: string } = {},
): void {
  // Probes arrive every few seconds: their request logs would drown everything else.
  // They are not part of the admin API: its document (/v1/openapi.json) leaves them out.
  const quiet = { logLevel: 'warn', schema: { hide: true } } as const;
  app.get('/healthz', quiet, async () => ({ status: 'ok' }));

  app.get('/readyz', quiet, async (_request, reply) => {
    const results = await Promise.all(
      checks.map(async ({ name, check }) => {
        try {
          return [name, (await check()) ? 'ok' : 'not ready'] as const;
        } catch (error) {
          return [name, error instanceof Error ? error.message : 'failed'] as const;
        }
      }),
    );
    const ready = results.every(([, state]) => state === 'ok');
    return reply
      .code(ready ? 200 : 503)
      .send({ status: ready ? 'ready' : 'not ready', checks: Object.fromEntries(results), ...facts });
  });
}
