import swagger from '@fastify/swagger';
import Fastify from 'fastify';
import type { UsagePricer } from '../settlement/ports';
import type { AdminLedger } from '../settlement/admin-ports';
import { adminRoutes, OPENAPI_OPTIONS } from './admin-routes';

/**
 * The admin API's OpenAPI 3.1 document, generated from the routes' own schemas, so the
 * document in the repository (openapi/admin-api.yaml) cannot drift from what the service does.
 */
export async function adminApiDocument(): Promise<string> {
  const app = Fastify({ logger: false });
  await app.register(swagger, OPENAPI_OPTIONS);
  // The handlers never run here: only the route schemas are read.
  adminRoutes(app, { ledger: {} as AdminLedger, pricer: {} as UsagePricer });
  await app.ready();
  const yaml = app.swagger({ yaml: true });
  await app.close();
  return yaml;
}

if (require.main === module) {
  void adminApiDocument().then((yaml) => process.stdout.write(yaml));
}
