import { createHash, randomUUID } from 'node:crypto';
import { join } from 'node:path';
import pino, { Logger } from 'pino';
import { App, startApp } from '../../src/app';
import { loadConfig } from '../../src/config';
import { RatingPricer } from '../../src/settlement/rating-pricer';
import { loadRateBook, RateBook } from '../../src/rating';
import { stackEnv } from '../../tools/stack/stack';
import { testStack } from './stack';

/** The rate decks and plans shipped in rates/. */
export const shippedBook = loadRateBook(join(__dirname, '..', '..', 'rates'));

/**
 * The service with the api role only on the test stack: the shipped decks (or `book`), an
 * operator token (configured as its SHA-256), a Redis namespace of its own, a silent logger
 * unless one is given, and no payment gateway (PAYMENT_GATEWAY=none: purchases answer 503)
 * unless `env` chooses one (stripeEnv of tools/stack/stack.ts).
 */
export function startApiApp(options: {
  operatorToken: string;
  keyPrefix: string;
  logger?: Logger;
  book?: RateBook;
  env?: Record<string, string>;
}): Promise<App> {
  const env = {
    ...stackEnv(testStack()),
    HTTP_PORT: '0',
    RATER_ROLES: 'api',
    PAYMENT_GATEWAY: 'none',
    REDIS_KEY_PREFIX: options.keyPrefix,
    OPERATOR_TOKEN_SHA256: createHash('sha256').update(options.operatorToken).digest('hex'),
    ...options.env,
  };
  const book = options.book ?? shippedBook;
  return startApp(loadConfig(env), {
    pricer: new RatingPricer(book),
    book,
    logger: options.logger ?? pino({ level: 'silent' }),
  });
}

/**
 * A JSON call to the admin API at `url()` with a bearer token (`defaultToken` unless given):
 * the status and the parsed body ({} for none, as a 204 has).
 */
export function apiCaller(url: () => string, defaultToken: string) {
  return async (method: string, path: string, body?: unknown, token = defaultToken) => {
    const response = await fetch(`${url()}${path}`, {
      method,
      headers: {
        authorization: `Bearer ${token}`,
        ...(body !== undefined ? { 'content-type': 'application/json' } : {}),
      },
      body: body !== undefined ? JSON.stringify(body) : undefined,
    });
    const text = await response.text();
    return { status: response.status, body: (text ? JSON.parse(text) : {}) as Record<string, unknown> };
  };
}

/**
 * A prepaid USD tenant made through the API with `call` (the operator's), its API key, and
 * 100.00 of credits added in the ledger.
 */
export async function fundedTenant(
  app: App,
  call: ReturnType<typeof apiCaller>,
  prefix = 'acme',
): Promise<{ tenant: string; key: string }> {
  const tenant = `${prefix}-${randomUUID().slice(0, 8)}`;
  const created = await call('PUT', `/v1/tenants/${tenant}`, { billingMode: 'prepaid', currency: 'USD' });
  if (created.status !== 201)
    throw new Error(`tenant ${tenant}: ${created.status} ${JSON.stringify(created.body)}`);
  const key = String((await call('POST', `/v1/tenants/${tenant}/api-keys`)).body.apiKey);
  await app.ledger.writes.addFunds(tenant, { paymentRef: 'p1', amount: 10_000n, currency: 'USD' });
  return { tenant, key };
}
