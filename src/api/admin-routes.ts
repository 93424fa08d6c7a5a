import type { IncomingMessage, ServerResponse } from 'node:http';
import type { FastifyDynamicSwaggerOptions } from '@fastify/swagger';
import type {
  FastifyBaseLogger,
  FastifyInstance,
  FastifyReply,
  FastifyRequest,
  RawServerDefault,
} from 'fastify';
import { decimalToMinor, minorToDecimal } from '../credits/money';
import type { PaymentGateway } from '../workers/payment-gateway';
import type { UsagePricer } from '../settlement/ports';
import { TENANT_ID_PATTERN } from '../credits/tenant';
import type { Ledger } from '../ledger/open-ledger';
import type { SettingsChange } from '../credits/wallet';
import type { Refusal } from '../ledger/result-codes';
import { currencyDigits, isCurrency, missingDeckKinds, poolCapacities, RateBook } from '../rating';
import { authorizeCall } from '../settlement/authorize-call';
import {
  apiKeyResponses,
  authorizeBody,
  authorizeResponses,
  autoRechargeBody,
  balanceResponses,
  adjustmentBody,
  adjustmentResponses,
  ifMatchHeaders,
  paymentMethodBody,
  purchaseBody,
  purchaseResponses,
  settingsResponses,
  SHARED_SCHEMAS,
  statementQuery,
  statementResponses,
  tenantBody,
  tenantParams,
  upsertTenantResponses,
  usageQuery,
  usageResponses,
} from './admin-schemas';
import { newApiKey, parseApiKey, Principal, sameDigest, sha256 } from './auth';
import { purchaseCredits } from './purchases';

/**
 * How @fastify/swagger writes the document: its header (the paths come from the routes' own
 * schemas), and the shared schemas (Money, Error) as components named by their ids.
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
    components: { securitySchemes: { bearer: { type: 'http', scheme: 'bearer' } } },
    security: [{ bearer: [] }],
  },
  refResolver: {
    buildLocalReference: (json, _baseUri, _fragment, i) =>
      typeof json.$id === 'string' ? json.$id : `def-${i}`,
  },
};

/** How far ahead of this server's clock a purchase time may be (the caller's clock may run fast). */
const PURCHASE_CLOCK_SKEW_MS = 5 * 60_000;

export interface AdminApiOptions {
  ledger: Ledger;
  pricer: UsagePricer;
  book?: RateBook;
  /** SHA-256 (hex) of the operator's bearer token; without it only tenant keys work. */
  operatorTokenSha256?: string;
  /** Charges purchases; without one (PAYMENT_GATEWAY=none) purchases are answered 503. */
  gateway?: PaymentGateway;
}

type Reply = FastifyReply;
type Request = FastifyRequest<{ Params: { tenantId: string }; Body: Record<string, unknown> }>;

const TENANT_PATH = /^\/v1\/tenants\/([^/?#]+)/;

/** Adds fields to every later log line of a request (pino's child loggers can). */
const bindToLog = (request: FastifyRequest, bindings: Record<string, string>) =>
  (request.log as { setBindings?: (bindings: Record<string, string>) => void }).setBindings?.(bindings);

/**
 * The admin API under /v1 (CONTRACTS.md section 5). Requests are validated against JSON
 * schemas (a 400 names the field); every route needs a bearer token: the operator's (all
 * tenants) or a tenant API key (that tenant only, 403 for another).
 */
export function adminRoutes<L extends FastifyBaseLogger>(
  app: FastifyInstance<RawServerDefault, IncomingMessage, ServerResponse, L>,
  options: AdminApiOptions,
): void {
  const { ledger } = options;
  for (const schema of SHARED_SCHEMAS) app.addSchema(schema);

  // Every log line of a request names the tenant it is for: from the path from the start,
  // from the body (authorization) once it is parsed; and, once authenticated, who asked.
  app.setChildLoggerFactory((logger, bindings, childOptions, raw) => {
    const tenant = TENANT_PATH.exec(raw.url ?? '')?.[1];
    const known = tenant !== undefined && TENANT_ID_PATTERN.test(tenant);
    return logger.child(known ? { ...bindings, tenantId: tenant } : bindings, childOptions) as L;
  });
  const principalFields = (principal: Principal | undefined): Record<string, string> =>
    !principal
      ? { principal: 'none' }
      : principal.kind === 'operator'
        ? { principal: 'operator' }
        : { principal: 'tenant_key', keyId: principal.keyId };

  const operatorDigest = options.operatorTokenSha256
    ? Buffer.from(options.operatorTokenSha256, 'hex')
    : undefined;

  const authenticate = async (request: FastifyRequest): Promise<Principal | undefined> => {
    // The scheme is case-insensitive (RFC 9110 section 11.1): Bearer, bearer, BEARER.
    const token = /^bearer +(\S+) *$/i.exec(request.headers.authorization ?? '')?.[1];
    if (!token) return undefined;
    const digest = sha256(token);
    if (operatorDigest && sameDigest(digest, operatorDigest)) return { kind: 'operator' };
    const claimed = parseApiKey(token);
    if (!claimed) return undefined;
    const stored = await ledger.apiKeys.apiKeyDigest(claimed.tenantId, claimed.keyId);
    return stored && sameDigest(digest, Buffer.from(stored, 'hex'))
      ? { kind: 'tenant', tenantId: claimed.tenantId, keyId: claimed.keyId }
      : undefined;
  };

  const unauthorized = (reply: Reply) =>
    reply
      .code(401)
      .header('www-authenticate', 'Bearer')
      .send({ error: 'unauthorized', message: 'a valid bearer token is required' });

  /** Who sent each request, from its onRequest hook to its preValidation hook. */
  const principals = new WeakMap<FastifyRequest, Principal>();

  /**
   * Credentials come before anything else of a request: 401 without valid ones (onRequest,
   * before the body is even parsed, so nothing about the request is answered to a stranger),
   * then 403 for another tenant's data or for an operator's action (preValidation: the tenant
   * of POST /v1/authorize is in its body).
   */
  const guard = (tenantOf: (request: FastifyRequest) => unknown, operatorOnly = false) => ({
    onRequest: async (request: FastifyRequest, reply: Reply) => {
      const principal = await authenticate(request);
      bindToLog(request, principalFields(principal));
      if (!principal) return unauthorized(reply);
      principals.set(request, principal);
    },
    preValidation: async (request: FastifyRequest, reply: Reply) => {
      const principal = principals.get(request);
      if (!principal) return unauthorized(reply); // fails closed, should the hooks ever be split
      if (principal.kind === 'operator') return;
      if (operatorOnly || principal.tenantId !== tenantOf(request))
        return reply.code(403).send({
          error: 'forbidden',
          message: operatorOnly
            ? 'operator credentials are required'
            : 'these credentials are for another tenant',
        });
    },
  });
  const tenantInPath = (request: FastifyRequest) => (request.params as { tenantId?: unknown }).tenantId;
  const tenantInBody = (request: FastifyRequest) => (request.body as { tenantId?: unknown } | null)?.tenantId;
  const forTenant = guard(tenantInPath);
  const forOperator = guard(tenantInPath, true);
  const authorizeGuard = guard(tenantInBody);

  const badRequest = (reply: Reply, message: string) =>
    reply.code(400).send({ error: 'bad_request', message });

  /**
   * The first amount with more decimals than the currency has (or a currency ISO 4217 does not
   * know), as a message naming its field. The schema has checked the form already, so
   * decimalToMinor cannot throw after this.
   */
  const tooPrecise = (currency: string, amounts: Record<string, string | undefined>) => {
    if (!isCurrency(currency)) return `body/currency ${currency} is not an ISO 4217 currency`;
    const digits = currencyDigits(currency);
    const field = Object.keys(amounts).find((name) => (amounts[name]?.split('.')[1] ?? '').length > digits);
    return field && `${field} ${amounts[field]}: ${currency} has ${digits} decimals at most`;
  };

  const refused = (reply: Reply, refusal: { refused: string; detail: string }) =>
    reply
      .code(refusal.refused === 'no_account' ? 404 : 409)
      .send({ error: refusal.refused, message: refusal.detail });

  /** The settings version a request's If-Match names (the schema checked its form), if any. */
  const ifMatch = (request: FastifyRequest): number | undefined => {
    const header = request.headers['if-match'];
    return typeof header === 'string' ? Number(header.slice(1, -1)) : undefined;
  };
  const etag = (version: number) => `"${version}"`;

  /**
   * A settings update refused by the ledger: 404 without an account, 412 when the If-Match
   * version is stale, 409 for a rule the stored settings break (named by the body's field).
   */
  const settingsRefused = (reply: Reply, refusal: Refusal, fields: Record<string, string>) => {
    if (refusal.refused === 'version_mismatch')
      return reply.code(412).send({
        error: 'version_mismatch',
        message: `headers/if-match: the settings changed since; their version is now ${etag(Number(refusal.detail))}`,
      });
    if (refusal.refused === 'settings_conflict') {
      const split = refusal.detail.indexOf(': ');
      const field = refusal.detail.slice(0, split);
      return reply.code(409).send({
        error: 'settings_conflict',
        message: `${fields[field] ?? field}: ${refusal.detail.slice(split + 2)}`,
      });
    }
    return refused(reply, refusal);
  };

  /**
   * The operator's create-or-update. Creating, what the body leaves out takes its default;
   * updating, only what the body names changes (one script, so nothing a tenant changed
   * meanwhile is undone): `autoRecharge` changes the fields it names, `licences` replaces every
   * pool size, and a field left out keeps its stored value.
   */
  app.put(
    '/v1/tenants/:tenantId',
    {
      ...forOperator,
      schema: {
        params: tenantParams,
        headers: ifMatchHeaders,
        body: tenantBody,
        response: upsertTenantResponses,
      },
    },
    async (request: Request, reply) => {
      const tenant = request.params.tenantId;
      const body = request.body as {
        billingMode: 'prepaid' | 'postpaid';
        currency: string;
        lowBalanceThreshold?: string;
        autoRecharge?: {
          enabled: boolean;
          triggerAmount?: string;
          rechargeAmount?: string;
          monthlyCap?: number;
          maxConsecutiveFailures?: number;
        };
        paymentMethodRef?: string;
        adminContacts?: string[];
        licences?: { capability: string; country: string; users: number }[];
      };
      if (!isCurrency(body.currency))
        return badRequest(reply, `body/currency ${body.currency} is not an ISO 4217 currency`);
      const missing = options.book ? missingDeckKinds(options.book, body.currency) : [];
      if (missing.length > 0)
        return badRequest(
          reply,
          `body/currency ${body.currency} has no ${missing.join(', ')} deck: its calls could not be rated`,
        );
      const imprecise = tooPrecise(body.currency, {
        'body/lowBalanceThreshold': body.lowBalanceThreshold,
        'body/autoRecharge/triggerAmount': body.autoRecharge?.triggerAmount,
        'body/autoRecharge/rechargeAmount': body.autoRecharge?.rechargeAmount,
      });
      if (imprecise) return badRequest(reply, imprecise);
      const minor = (value: string | undefined) =>
        value === undefined ? undefined : decimalToMinor(value, body.currency);
      const ar = body.autoRecharge;
      if (ar?.enabled && body.billingMode !== 'prepaid')
        return badRequest(reply, 'body/autoRecharge/enabled: auto-recharge is for prepaid tenants only');
      if (ar?.enabled && ar.rechargeAmount !== undefined && minor(ar.rechargeAmount)! <= 0n)
        return badRequest(
          reply,
          'body/autoRecharge/rechargeAmount must be more than zero to enable auto-recharge',
        );
      const change: SettingsChange = {
        mode: body.billingMode,
        currency: body.currency,
        lowBalanceThreshold: minor(body.lowBalanceThreshold),
        autoRecharge: ar && {
          enabled: ar.enabled,
          trigger: minor(ar.triggerAmount),
          amount: minor(ar.rechargeAmount),
          monthlyCap: ar.monthlyCap,
          maxConsecutiveFailures: ar.maxConsecutiveFailures,
        },
        paymentMethodRef: body.paymentMethodRef,
        adminContacts: body.adminContacts,
        poolCapacities: body.licences && (options.book ? poolCapacities(options.book, body.licences) : {}),
      };
      const version = ifMatch(request);
      const result = await ledger.writes.updateSettings(tenant, change, {
        create: version === undefined,
        ...(version !== undefined ? { ifVersion: version } : {}),
      });
      if ('refused' in result) {
        // If-Match names a version of an account that exists: without one, the precondition fails.
        if (result.refused === 'no_account')
          return settingsRefused(reply, { refused: 'version_mismatch', detail: '0' }, {});
        return settingsRefused(reply, result, {
          arEnabled: 'body/autoRecharge/enabled',
          arAmount: 'body/autoRecharge/rechargeAmount',
        });
      }
      return reply
        .code(result.status === 'created' ? 201 : 200)
        .header('etag', etag(result.version))
        .send({ tenantId: tenant, status: result.status });
    },
  );

  /**
   * Settings a tenant admin changes on its own: one script that changes the fields named and
   * checks the rules that depend on the stored settings (ledger.updateSettings).
   */
  const updateSettings = async (
    request: Request,
    reply: Reply,
    change: SettingsChange,
    fields: Record<string, string>,
    ifCurrency?: string,
  ) => {
    const tenant = request.params.tenantId;
    const version = ifMatch(request);
    const result = await ledger.writes.updateSettings(tenant, change, {
      ...(ifCurrency !== undefined ? { ifCurrency } : {}),
      ...(version !== undefined ? { ifVersion: version } : {}),
    });
    if ('refused' in result) return settingsRefused(reply, result, fields);
    return reply.header('etag', etag(result.version)).send({ tenantId: tenant, status: 'updated' });
  };

  app.put(
    '/v1/tenants/:tenantId/auto-recharge',
    {
      ...forTenant,
      schema: {
        params: tenantParams,
        headers: ifMatchHeaders,
        body: autoRechargeBody,
        response: settingsResponses,
      },
    },
    async (request: Request, reply) => {
      const body = request.body as {
        enabled: boolean;
        triggerAmount?: string;
        rechargeAmount?: string;
        monthlyCap?: number;
        maxConsecutiveFailures?: number;
      };
      // The amounts are converted in the stored currency; the script refuses the change
      // should the currency have changed since (currency_mismatch).
      const account = await ledger.reads.readAccount(request.params.tenantId);
      if (!account) return reply.code(404).send({ error: 'no_account', message: request.params.tenantId });
      const currency = account.settings.currency;
      const imprecise = tooPrecise(currency, {
        'body/triggerAmount': body.triggerAmount,
        'body/rechargeAmount': body.rechargeAmount,
      });
      if (imprecise) return badRequest(reply, imprecise);
      const minor = (value: string | undefined) =>
        value === undefined ? undefined : decimalToMinor(value, currency);
      if (body.enabled && body.rechargeAmount !== undefined && minor(body.rechargeAmount)! <= 0n)
        return badRequest(reply, 'body/rechargeAmount must be more than zero to enable auto-recharge');
      return updateSettings(
        request,
        reply,
        {
          autoRecharge: {
            enabled: body.enabled,
            trigger: minor(body.triggerAmount),
            amount: minor(body.rechargeAmount),
            monthlyCap: body.monthlyCap,
            maxConsecutiveFailures: body.maxConsecutiveFailures,
          },
        },
        { arEnabled: 'body/enabled', arAmount: 'body/rechargeAmount' },
        currency,
      );
    },
  );

  app.put(
    '/v1/tenants/:tenantId/payment-method',
    {
      ...forTenant,
      schema: {
        params: tenantParams,
        headers: ifMatchHeaders,
        body: paymentMethodBody,
        response: settingsResponses,
      },
    },
    async (request: Request, reply) =>
      updateSettings(request, reply, { paymentMethodRef: String(request.body.paymentMethodRef) }, {}),
  );

  app.post(
    '/v1/tenants/:tenantId/api-keys',
    { ...forOperator, schema: { params: tenantParams, response: apiKeyResponses } },
    async (request: Request, reply) => {
      const tenant = request.params.tenantId;
      if (!(await ledger.reads.readAccount(tenant)))
        return reply.code(404).send({ error: 'no_account', message: tenant });
      const key = newApiKey(tenant);
      await ledger.apiKeys.storeApiKeyDigest(tenant, key.keyId, key.digest);
      return reply.code(201).send({ tenantId: tenant, keyId: key.keyId, apiKey: key.token });
    },
  );

  const balanceMoney = (minor: bigint, currency: string) => ({
    amount: minorToDecimal(minor.toString(), currency),
    currency,
  });

  /** A reference reused with another amount or currency: 409 naming the field and the first use. */
  const refusedPayment = (
    reply: Reply,
    field: string,
    id: string,
    refusal: { refused: string; detail: string },
  ) => {
    if (refusal.refused !== 'payment_ref_conflict') return refused(reply, refusal);
    const first = JSON.parse(refusal.detail) as { amount: string; currency: string };
    const amount = first.currency
      ? `${minorToDecimal(first.amount, first.currency)} ${first.currency}`
      : `${first.amount} minor units`;
    return reply.code(409).send({
      error: 'payment_ref_conflict',
      message: `${field} ${id} was used before with ${amount}: a new payment needs a new id`,
    });
  };

  /**
   * A tenant admin buys credits: charged through the payment gateway first, credited only
   * when the payment succeeded, exactly once per purchase id (src/api/purchases.ts).
   */
  app.post(
    '/v1/tenants/:tenantId/purchases',
    { ...forTenant, schema: { params: tenantParams, body: purchaseBody, response: purchaseResponses } },
    async (request: Request, reply) => {
      const tenant = request.params.tenantId;
      const body = request.body as { purchaseId: string; amount: string; currency: string };
      const imprecise = tooPrecise(body.currency, { 'body/amount': body.amount });
      if (imprecise) return badRequest(reply, imprecise);
      const amountMinor = decimalToMinor(body.amount, body.currency);
      if (amountMinor <= 0n) return badRequest(reply, 'body/amount must be more than zero');
      if (!options.gateway)
        return reply.code(503).send({
          error: 'purchases_disabled',
          message: 'this service has no payment gateway (PAYMENT_GATEWAY=none)',
        });
      const result = await purchaseCredits(ledger.writes, options.gateway, tenant, {
        purchaseId: body.purchaseId,
        amount: amountMinor,
        currency: body.currency,
      });
      if ('refused' in result) return refusedPayment(reply, 'body/purchaseId', body.purchaseId, result);
      if (result.outcome === 'unavailable')
        return reply.code(503).send({ error: 'payment_gateway_unavailable', message: result.message });
      const { purchase } = result;
      if (result.outcome === 'failed')
        return reply.code(402).send({
          error: 'payment_failed',
          message: purchase.message || purchase.reason,
          purchaseId: purchase.purchaseId,
          declineCode: purchase.reason,
        });
      return reply.code(result.duplicate ? 200 : 201).send({
        purchaseId: purchase.purchaseId,
        status: 'succeeded',
        duplicate: result.duplicate,
        lotId: purchase.lotId,
        amount: balanceMoney(purchase.amount, purchase.currency),
        gatewayRef: purchase.gatewayRef,
        balance: balanceMoney(purchase.balance ?? 0n, purchase.currency),
      });
    },
  );

  /**
   * An operator's adjustment: money without a payment (goodwill, a correction, a migration),
   * with its reason and who made it. Only a migration may be back-dated.
   */
  app.post(
    '/v1/tenants/:tenantId/adjustments',
    { ...forOperator, schema: { params: tenantParams, body: adjustmentBody, response: adjustmentResponses } },
    async (request: Request, reply) => {
      const tenant = request.params.tenantId;
      const body = request.body as {
        adjustmentId: string;
        amount: string;
        currency: string;
        reason: string;
        madeBy: string;
        kind?: 'credit' | 'migration';
        purchasedAt?: string;
      };
      const migration = body.kind === 'migration';
      if (body.purchasedAt !== undefined && !migration)
        return badRequest(reply, 'body/purchasedAt is for migrations only (kind: migration)');
      if (!body.reason.trim()) return badRequest(reply, 'body/reason must say why');
      if (!body.madeBy.trim()) return badRequest(reply, 'body/madeBy must name who made it');
      const imprecise = tooPrecise(body.currency, { 'body/amount': body.amount });
      if (imprecise) return badRequest(reply, imprecise);
      const amountMinor = decimalToMinor(body.amount, body.currency);
      if (amountMinor <= 0n) return badRequest(reply, 'body/amount must be more than zero');
      // Without a purchase time the lot is bought now, on the ledger's clock.
      const purchasedAt = body.purchasedAt ? new Date(body.purchasedAt) : undefined;
      // Funds bought in the future would expire later than 12 months after they were paid.
      if (purchasedAt && purchasedAt.getTime() > Date.now() + PURCHASE_CLOCK_SKEW_MS)
        return badRequest(reply, 'body/purchasedAt must not be in the future');
      const result = await ledger.writes.addFunds(tenant, {
        paymentRef: body.adjustmentId,
        amount: amountMinor,
        currency: body.currency,
        purchasedAt,
        reason: body.reason.trim(),
        madeBy: body.madeBy.trim(),
        migration,
      });
      if ('refused' in result) return refusedPayment(reply, 'body/adjustmentId', body.adjustmentId, result);
      return reply.code(result.duplicate ? 200 : 201).send({
        adjustmentId: body.adjustmentId,
        lotId: result.lotId,
        duplicate: result.duplicate,
        balance: balanceMoney(result.balance, body.currency),
      });
    },
  );

  app.get(
    '/v1/tenants/:tenantId/balance',
    { ...forTenant, schema: { params: tenantParams, response: balanceResponses } },
    async (request: Request, reply) => {
      const tenant = request.params.tenantId;
      const account = await ledger.reads.readAccount(tenant);
      if (!account) return reply.code(404).send({ error: 'no_account', message: tenant });
      const c = account.settings.currency;
      const money = (minor: bigint) => ({ amount: minorToDecimal(minor.toString(), c), currency: c });
      return reply.header('etag', etag(account.settingsVersion)).send({
        tenantId: tenant,
        billingMode: account.settings.mode,
        balance: money(account.balance),
        blocked: account.blocked,
        lowBalanceThreshold: money(account.settings.lowBalanceThreshold),
        autoRecharge: {
          enabled: account.settings.autoRecharge.enabled,
          triggerAmount: money(account.settings.autoRecharge.trigger),
          rechargeAmount: money(account.settings.autoRecharge.amount),
          monthlyCap: account.settings.autoRecharge.monthlyCap,
          pendingRequestId: account.autoRecharge.pendingRequestId || null,
          consecutiveFailures: account.autoRecharge.consecutiveFailures,
        },
        lots: account.lots.map((lot) => ({
          lotId: lot.lotId,
          source: lot.source,
          amount: money(lot.amount),
          remaining: money(lot.remaining),
          forfeited: money(lot.expired),
          purchasedAt: lot.purchasedAt.toISOString(),
          expiresAt: lot.expiresAt.toISOString(),
          status: lot.status,
        })),
        pools: Object.entries(account.poolUsed).map(([key, used]) => ({
          pool: key.slice(0, key.lastIndexOf(':')),
          month: key.slice(key.lastIndexOf(':') + 1),
          usedSeconds: used,
        })),
        owed: Object.entries(account.owed).map(([period, owed]) => ({ period, amount: money(owed) })),
      });
    },
  );

  const totalsOf = (
    bySource: Record<string, { count: number; charge: bigint; poolSeconds: number }>,
    c: string,
  ) =>
    Object.fromEntries(
      Object.entries(bySource).map(([source, t]) => [
        source,
        {
          count: t.count,
          charge: { amount: minorToDecimal(t.charge.toString(), c), currency: c },
          poolSeconds: t.poolSeconds,
        },
      ]),
    );

  app.get(
    '/v1/tenants/:tenantId/usage',
    {
      ...forTenant,
      schema: {
        params: tenantParams,
        querystring: usageQuery,
        response: usageResponses,
      },
    },
    async (
      request: FastifyRequest<{ Params: { tenantId: string }; Querystring: Record<string, string> }>,
      reply,
    ) => {
      const tenant = request.params.tenantId;
      const account = await ledger.reads.readAccount(tenant);
      if (!account) return reply.code(404).send({ error: 'no_account', message: tenant });
      const { from, to } = request.query as { from: string; to: string };
      const limit = Number(request.query.limit ?? 100);
      const offset = Number(request.query.cursor ?? 0);
      if (Date.parse(from) >= Date.parse(to))
        return badRequest(reply, 'querystring/from must be before querystring/to');
      const c = account.settings.currency;
      const page = await ledger.reads.listUsage(tenant, {
        from: new Date(from),
        to: new Date(to),
        offset,
        limit,
      });
      const totals = await ledger.reads.usageTotals(tenant);
      const periods = Object.keys(totals).filter(
        (period) =>
          period >= new Date(from).toISOString().slice(0, 7) &&
          period <= new Date(Date.parse(to) - 1).toISOString().slice(0, 7),
      );
      return reply.send({
        items: page.map(({ usageId, outcome }) => ({
          usageId,
          appliedAt: outcome.appliedAt.toISOString(),
          period: outcome.period,
          source: outcome.source,
          charge: { amount: minorToDecimal(outcome.charge.toString(), c), currency: c },
          poolSeconds: outcome.poolSeconds,
          revision: outcome.revision || null,
        })),
        nextCursor: page.length === limit ? String(offset + limit) : null,
        totalsByPeriod: Object.fromEntries(
          periods.sort().map((period) => [period, totalsOf(totals[period]!, c)]),
        ),
      });
    },
  );

  app.get(
    '/v1/tenants/:tenantId/statement',
    {
      ...forTenant,
      schema: {
        params: tenantParams,
        querystring: statementQuery,
        response: statementResponses,
      },
    },
    async (
      request: FastifyRequest<{ Params: { tenantId: string }; Querystring: { period: string } }>,
      reply,
    ) => {
      const tenant = request.params.tenantId;
      const account = await ledger.reads.readAccount(tenant);
      if (!account) return reply.code(404).send({ error: 'no_account', message: tenant });
      const c = account.settings.currency;
      const { period } = request.query;
      const totals = (await ledger.reads.usageTotals(tenant))[period] ?? {};
      return reply.send({
        tenantId: tenant,
        period,
        billingMode: account.settings.mode,
        usage: totalsOf(totals, c),
        amountOwed:
          account.settings.mode === 'postpaid'
            ? { amount: minorToDecimal((account.owed[period] ?? 0n).toString(), c), currency: c }
            : null,
      });
    },
  );

  app.post(
    '/v1/authorize',
    {
      logLevel: 'warn',
      // The tenant comes from the body: it is named in the request's log lines once parsed.
      onRequest: authorizeGuard.onRequest,
      preValidation: async (request: FastifyRequest, reply: Reply) => {
        const tenant = tenantInBody(request);
        if (typeof tenant === 'string' && TENANT_ID_PATTERN.test(tenant))
          bindToLog(request, { tenantId: tenant });
        return authorizeGuard.preValidation(request, reply);
      },
      schema: {
        body: authorizeBody,
        response: authorizeResponses,
      },
    },
    async (request: Request, reply) => {
      const body = request.body as Parameters<typeof authorizeCall>[2] & { startDateTime?: string };
      const decision = await authorizeCall(ledger.writes, options.pricer, {
        ...body,
        startDateTime: body.startDateTime ?? new Date().toISOString(),
      });
      return reply.send({
        allowed: decision.allowed,
        reason: decision.reason,
        maxSeconds: decision.maxSeconds,
        ...(decision.balance
          ? {
              balance: {
                amount: minorToDecimal(decision.balance.amountMinor.toString(), decision.balance.currency),
                currency: decision.balance.currency,
              },
            }
          : {}),
      });
    },
  );
}
