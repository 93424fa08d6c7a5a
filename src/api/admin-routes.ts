import type { FastifyDynamicSwaggerOptions } from '@fastify/swagger';
import type { JsonSchemaToTsProvider } from '@fastify/type-provider-json-schema-to-ts';
import type { FastifyBaseLogger, FastifyInstance, RawServerDefault } from 'fastify';
import type { IncomingMessage, ServerResponse } from 'node:http';
import { TENANT_ID_PATTERN } from '../credits/tenant';
import type { AdminApiOptions } from './admin-app';
import { guards } from './guard';
import { authorizeRoutes } from './routes/authorize';
import { forecastRoutes } from './routes/forecast';
import { fundsRoutes } from './routes/funds';
import { keyRoutes } from './routes/keys';
import { rerateRoutes } from './routes/rerates';
import { sessionRoutes } from './routes/sessions';
import { tenantRoutes } from './routes/tenants';
import { usageRoutes } from './routes/usage';
import { userLimitsRoutes } from './routes/user-limits';
import { SHARED_SCHEMAS } from './schemas';

export type { AdminApiOptions } from './admin-app';

/**
 * How @fastify/swagger writes the document: its header and tags (the paths come from the
 * routes' own schemas, each with its operationId and its resource's tag), and the shared
 * schemas (Money, Error) as components named by their ids.
 */
export const OPENAPI_OPTIONS: FastifyDynamicSwaggerOptions = {
  openapi: {
    openapi: '3.1.0',
    info: {
      title: 'Prepaid usage rater: admin API',
      version: '1.0.0',
      description:
        'Tenant accounts, funds, balances and call authorization. Amounts are decimal strings in the ' +
        "tenant's currency. Every request needs a bearer token: the operator's (all tenants) or a tenant API key.",
    },
    tags: [
      { name: 'tenants', description: "a tenant's account and the payment settings its admin changes" },
      { name: 'keys', description: "a tenant's API keys, issued by the operator" },
      {
        name: 'funds',
        description: 'purchases, adjustments, the balance with its lots, and its runway forecast',
      },
      {
        name: 'usage',
        description: "a tenant's rated usage and a period's statement; the operator's re-rating of a period",
      },
      { name: 'authorization', description: 'may a call start, and for how long' },
      {
        name: 'sessions',
        description:
          "calls in progress: each grant of seconds reserves the tenant's credit until the call ends",
      },
    ],
    components: { securitySchemes: { bearer: { type: 'http', scheme: 'bearer' } } },
    security: [{ bearer: [] }],
  },
  refResolver: {
    buildLocalReference: (json, _baseUri, _fragment, i) =>
      typeof json.$id === 'string' ? json.$id : `def-${i}`,
  },
};

const TENANT_PATH = /^\/v1\/tenants\/([^/?#]+)/;

/**
 * The admin API under /v1 (CONTRACTS.md section 5), one registration per resource
 * (src/api/routes/). Requests are validated against JSON schemas (a 400 names the field),
 * and the handlers' requests are typed from the same schemas; every route needs a bearer
 * token: the operator's (all tenants) or a tenant API key (that tenant only, 403 for another).
 */
export function adminRoutes<L extends FastifyBaseLogger>(
  server: FastifyInstance<RawServerDefault, IncomingMessage, ServerResponse, L>,
  options: AdminApiOptions,
): void {
  const app = server.withTypeProvider<JsonSchemaToTsProvider>();
  for (const schema of SHARED_SCHEMAS) app.addSchema(schema);

  // Every log line of a request names the tenant it is for: from the path from the start,
  // from the body (authorization) once it is parsed; and, once authenticated, who asked.
  app.setChildLoggerFactory((logger, bindings, childOptions, raw) => {
    const tenant = TENANT_PATH.exec(raw.url ?? '')?.[1];
    const known = tenant !== undefined && TENANT_ID_PATTERN.test(tenant);
    return logger.child(known ? { ...bindings, tenantId: tenant } : bindings, childOptions) as L;
  });

  const resource = { ...options, guards: guards(options.ledger.apiKeys, options.operatorTokenSha256) };
  tenantRoutes(app, resource);
  keyRoutes(app, resource);
  fundsRoutes(app, resource);
  forecastRoutes(app, resource);
  usageRoutes(app, resource);
  userLimitsRoutes(app, resource);
  authorizeRoutes(app, resource);
  sessionRoutes(app, resource);
  rerateRoutes(app, resource);
}
