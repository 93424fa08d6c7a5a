import type { IncomingMessage, ServerResponse } from 'node:http';
import type { FastifyDynamicSwaggerOptions } from '@fastify/swagger';
import type {
  FastifyBaseLogger,
  FastifyInstance,
  FastifyReply,
  FastifyRequest,
  RawServerDefault,
} from 'fastify';
import { decimalToMinor, minorToDecimal } from '../consumers/cloudevents';
import type { UsagePricer } from '../consumers/pricing-port';
import { TENANT_ID_PATTERN } from '../ledger/keys';
import type { AccountSettings, CreditLedger } from '../ledger/ledger';
import { CALL_TYPES, isCurrency, poolCapacities, RateBook } from '../rating';
import { authorizeCall } from './authorization';
import { newApiKey, parseApiKey, Principal, sameDigest, sha256 } from './auth';

/** The document's header; the paths come from the routes' own schemas (@fastify/swagger). */
export const OPENAPI_INFO: NonNullable<FastifyDynamicSwaggerOptions['openapi']> = {
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
};

export interface AdminApiOptions {
  ledger: CreditLedger;
  pricer: UsagePricer;
  book?: RateBook;
  /** SHA-256 (hex) of the operator's bearer token; without it only tenant keys work. */
  operatorTokenSha256?: string;
}

const tenantId = { type: 'string', pattern: TENANT_ID_PATTERN.source } as const;
const amount = {
  type: 'string',
  pattern: '^\\d{1,15}(\\.\\d{1,4})?$',
  description: 'decimal string, no sign',
} as const;
const currency = { type: 'string', pattern: '^[A-Z]{3}$' } as const;
const autoRecharge = {
  type: 'object',
  additionalProperties: false,
  required: ['enabled'],
  properties: {
    enabled: { type: 'boolean' },
    triggerAmount: amount,
    rechargeAmount: amount,
    monthlyCap: { type: 'integer', minimum: 0, maximum: 100 },
    maxConsecutiveFailures: { type: 'integer', minimum: 0, maximum: 100 },
  },
} as const;

const tenantParams = { type: 'object', required: ['tenantId'], properties: { tenantId } } as const;

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
    const header = request.headers.authorization;
    if (!header?.startsWith('Bearer ')) return undefined;
    const token = header.slice(7).trim();
    const digest = sha256(token);
    if (operatorDigest && sameDigest(digest, operatorDigest)) return { kind: 'operator' };
    const claimed = parseApiKey(token);
    if (!claimed) return undefined;
    const stored = await ledger.apiKeyDigest(claimed.tenantId, claimed.keyId);
    return stored && sameDigest(digest, Buffer.from(stored, 'hex'))
      ? { kind: 'tenant', tenantId: claimed.tenantId, keyId: claimed.keyId }
      : undefined;
  };

  /** 401 without valid credentials, 403 for another tenant's data or an operator's action. */
  const allow = async (
    request: FastifyRequest,
    reply: Reply,
    tenant: string | undefined,
    operatorOnly = false,
  ) => {
    const principal = await authenticate(request);
    bindToLog(request, principalFields(principal));
    if (!principal) {
      void reply
        .code(401)
        .header('www-authenticate', 'Bearer')
        .send({ error: 'unauthorized', message: 'a valid bearer token is required' });
      return false;
    }
    if (principal.kind === 'tenant' && (operatorOnly || principal.tenantId !== tenant)) {
      void reply.code(403).send({
        error: 'forbidden',
        message: operatorOnly
          ? 'operator credentials are required'
          : 'these credentials are for another tenant',
      });
      return false;
    }
    return true;
  };

  const refused = (reply: Reply, refusal: { refused: string; detail: string }) =>
    reply
      .code(refusal.refused === 'no_account' ? 404 : 409)
      .send({ error: refusal.refused, message: refusal.detail });

  app.put(
    '/v1/tenants/:tenantId',
    {
      schema: {
        params: tenantParams,
        body: {
          type: 'object',
          additionalProperties: false,
          required: ['billingMode', 'currency'],
          properties: {
            billingMode: { enum: ['prepaid', 'postpaid'] },
            currency,
            lowBalanceThreshold: amount,
            autoRecharge,
            paymentMethodRef: { type: 'string', maxLength: 128 },
            adminContacts: {
              type: 'array',
              maxItems: 20,
              items: { type: 'string', format: 'email', maxLength: 254 },
            },
            licences: {
              type: 'array',
              maxItems: 500,
              items: {
                type: 'object',
                additionalProperties: false,
                required: ['capability', 'country', 'users'],
                properties: {
                  capability: { type: 'string', pattern: '^[A-Za-z0-9_-]{1,64}$' },
                  country: { type: 'string', pattern: '^[A-Z]{2}$' },
                  users: { type: 'integer', minimum: 0, maximum: 1_000_000 },
                },
              },
            },
          },
        },
      },
    },
    async (request: Request, reply) => {
      const tenant = request.params.tenantId;
      if (!(await allow(request, reply, tenant, true))) return reply;
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
        return reply.code(400).send({
          error: 'bad_request',
          message: `body/currency ${body.currency} is not an ISO 4217 currency`,
        });
      const minor = (value: string | undefined) => decimalToMinor(value ?? '0', body.currency);
      const settings: AccountSettings = {
        mode: body.billingMode,
        currency: body.currency,
        lowBalanceThreshold: minor(body.lowBalanceThreshold),
        autoRecharge: {
          enabled: body.autoRecharge?.enabled ?? false,
          trigger: minor(body.autoRecharge?.triggerAmount),
          amount: minor(body.autoRecharge?.rechargeAmount),
          monthlyCap: body.autoRecharge?.monthlyCap ?? 5,
          maxConsecutiveFailures: body.autoRecharge?.maxConsecutiveFailures ?? 3,
        },
        paymentMethodRef: body.paymentMethodRef ?? '',
        adminContacts: body.adminContacts ?? [],
        poolCapacities: options.book ? poolCapacities(options.book, body.licences ?? []) : {},
      };
      const result = await ledger.upsertAccount(tenant, settings);
      if (typeof result !== 'string') return refused(reply, result);
      return reply.code(result === 'created' ? 201 : 200).send({ tenantId: tenant, status: result });
    },
  );

  /** Settings a tenant admin changes on its own: auto-recharge and the payment method. */
  const updateSettings = async (
    request: Request,
    reply: Reply,
    change: (settings: AccountSettings) => AccountSettings | string,
  ) => {
    const tenant = request.params.tenantId;
    if (!(await allow(request, reply, tenant))) return reply;
    const account = await ledger.readAccount(tenant);
    if (!account) return reply.code(404).send({ error: 'no_account', message: tenant });
    const next = change(account.settings);
    if (typeof next === 'string') return reply.code(400).send({ error: 'bad_request', message: next });
    const result = await ledger.upsertAccount(tenant, next);
    if (typeof result !== 'string') return refused(reply, result);
    return reply.send({ tenantId: tenant, status: 'updated' });
  };

  app.put(
    '/v1/tenants/:tenantId/auto-recharge',
    { schema: { params: tenantParams, body: autoRecharge } },
    async (request: Request, reply) =>
      updateSettings(request, reply, (settings) => {
        const body = request.body as {
          enabled: boolean;
          triggerAmount?: string;
          rechargeAmount?: string;
          monthlyCap?: number;
          maxConsecutiveFailures?: number;
        };
        const ar = settings.autoRecharge;
        const next = {
          enabled: body.enabled,
          trigger:
            body.triggerAmount !== undefined
              ? decimalToMinor(body.triggerAmount, settings.currency)
              : ar.trigger,
          amount:
            body.rechargeAmount !== undefined
              ? decimalToMinor(body.rechargeAmount, settings.currency)
              : ar.amount,
          monthlyCap: body.monthlyCap ?? ar.monthlyCap,
          maxConsecutiveFailures: body.maxConsecutiveFailures ?? ar.maxConsecutiveFailures,
        };
        if (next.enabled && next.amount <= 0n)
          return 'body/rechargeAmount must be more than zero to enable auto-recharge';
        if (next.enabled && settings.mode !== 'prepaid') return 'auto-recharge is for prepaid tenants only';
        return { ...settings, autoRecharge: next };
      }),
  );

  app.put(
    '/v1/tenants/:tenantId/payment-method',
    {
      schema: {
        params: tenantParams,
        body: {
          type: 'object',
          additionalProperties: false,
          required: ['paymentMethodRef'],
          properties: { paymentMethodRef: { type: 'string', minLength: 1, maxLength: 128 } },
        },
      },
    },
    async (request: Request, reply) =>
      updateSettings(request, reply, (settings) => ({
        ...settings,
        paymentMethodRef: String(request.body.paymentMethodRef),
      })),
  );

  app.post(
    '/v1/tenants/:tenantId/api-keys',
    { schema: { params: tenantParams } },
    async (request: Request, reply) => {
      const tenant = request.params.tenantId;
      if (!(await allow(request, reply, tenant, true))) return reply;
      if (!(await ledger.readAccount(tenant)))
        return reply.code(404).send({ error: 'no_account', message: tenant });
      const key = newApiKey(tenant);
      await ledger.storeApiKeyDigest(tenant, key.keyId, key.digest);
      return reply.code(201).send({ tenantId: tenant, keyId: key.keyId, apiKey: key.token });
    },
  );

  app.post(
    '/v1/tenants/:tenantId/funds',
    {
      schema: {
        params: tenantParams,
        body: {
          type: 'object',
          additionalProperties: false,
          required: ['paymentRef', 'amount', 'currency'],
          properties: {
            paymentRef: { type: 'string', pattern: '^[A-Za-z0-9._:-]{1,128}$' },
            amount,
            currency,
            purchasedAt: { type: 'string', format: 'date-time' },
          },
        },
      },
    },
    async (request: Request, reply) => {
      const tenant = request.params.tenantId;
      if (!(await allow(request, reply, tenant))) return reply;
      const body = request.body as {
        paymentRef: string;
        amount: string;
        currency: string;
        purchasedAt?: string;
      };
      let amountMinor: bigint;
      try {
        amountMinor = decimalToMinor(body.amount, body.currency);
      } catch (error) {
        return reply
          .code(400)
          .send({ error: 'bad_request', message: `body/amount: ${(error as Error).message}` });
      }
      if (amountMinor <= 0n)
        return reply.code(400).send({ error: 'bad_request', message: 'body/amount must be more than zero' });
      const result = await ledger.addFunds(tenant, {
        paymentRef: body.paymentRef,
        amount: amountMinor,
        currency: body.currency,
        purchasedAt: body.purchasedAt ? new Date(body.purchasedAt) : new Date(),
      });
      if ('refused' in result) return refused(reply, result);
      return reply.code(result.duplicate ? 200 : 201).send({
        lotId: result.lotId,
        duplicate: result.duplicate,
        balance: {
          amount: minorToDecimal(result.balance.toString(), body.currency),
          currency: body.currency,
        },
      });
    },
  );

  app.get(
    '/v1/tenants/:tenantId/balance',
    { schema: { params: tenantParams } },
    async (request: Request, reply) => {
      const tenant = request.params.tenantId;
      if (!(await allow(request, reply, tenant))) return reply;
      const account = await ledger.readAccount(tenant);
      if (!account) return reply.code(404).send({ error: 'no_account', message: tenant });
      const c = account.settings.currency;
      const money = (minor: bigint) => ({ amount: minorToDecimal(minor.toString(), c), currency: c });
      return reply.send({
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
      schema: {
        params: tenantParams,
        querystring: {
          type: 'object',
          additionalProperties: false,
          required: ['from', 'to'],
          properties: {
            from: { type: 'string', format: 'date-time' },
            to: { type: 'string', format: 'date-time' },
            limit: { type: 'string', pattern: '^(?:[1-9]\\d{0,2}|1000)$' },
            cursor: { type: 'string', pattern: '^\\d{1,9}$' },
          },
        },
      },
    },
    async (
      request: FastifyRequest<{ Params: { tenantId: string }; Querystring: Record<string, string> }>,
      reply,
    ) => {
      const tenant = request.params.tenantId;
      if (!(await allow(request, reply, tenant))) return reply;
      const account = await ledger.readAccount(tenant);
      if (!account) return reply.code(404).send({ error: 'no_account', message: tenant });
      const { from, to } = request.query as { from: string; to: string };
      const limit = Number(request.query.limit ?? 100);
      const offset = Number(request.query.cursor ?? 0);
      if (Date.parse(from) >= Date.parse(to))
        return reply
          .code(400)
          .send({ error: 'bad_request', message: 'querystring/from must be before querystring/to' });
      const c = account.settings.currency;
      const page = await ledger.listUsage(tenant, { from: new Date(from), to: new Date(to), offset, limit });
      const totals = await ledger.usageTotals(tenant);
      const periods = Object.keys(totals).filter(
        (period) =>
          period >= from.slice(0, 7) && period <= new Date(Date.parse(to) - 1).toISOString().slice(0, 7),
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
      schema: {
        params: tenantParams,
        querystring: {
          type: 'object',
          additionalProperties: false,
          required: ['period'],
          properties: { period: { type: 'string', pattern: '^\\d{4}-(0[1-9]|1[0-2])$' } },
        },
      },
    },
    async (
      request: FastifyRequest<{ Params: { tenantId: string }; Querystring: { period: string } }>,
      reply,
    ) => {
      const tenant = request.params.tenantId;
      if (!(await allow(request, reply, tenant))) return reply;
      const account = await ledger.readAccount(tenant);
      if (!account) return reply.code(404).send({ error: 'no_account', message: tenant });
      const c = account.settings.currency;
      const { period } = request.query;
      const totals = (await ledger.usageTotals(tenant))[period] ?? {};
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
      preValidation: async (request: FastifyRequest) => {
        const tenant = (request.body as { tenantId?: unknown } | undefined)?.tenantId;
        if (typeof tenant === 'string' && TENANT_ID_PATTERN.test(tenant))
          bindToLog(request, { tenantId: tenant });
      },
      schema: {
        body: {
          type: 'object',
          additionalProperties: true,
          required: ['tenantId', 'callType'],
          properties: {
            tenantId,
            callType: { enum: [...CALL_TYPES] },
            calleeNumber: { type: 'string', pattern: '^\\+[1-9]\\d{1,14}$' },
            callerNumber: { type: 'string', pattern: '^\\+[1-9]\\d{1,14}$' },
            numberType: { enum: ['subscriber', 'service', 'tollFree'] },
            licenseCapability: { type: 'string', pattern: '^[A-Za-z0-9_-]{1,64}$' },
            usageCountryCode: { type: 'string', pattern: '^[A-Z]{2}$' },
            tenantCountryCode: { type: 'string', pattern: '^[A-Z]{2}$' },
            startDateTime: { type: 'string', format: 'date-time' },
          },
        },
      },
    },
    async (request: Request, reply) => {
      const body = request.body as Parameters<typeof authorizeCall>[2] & { startDateTime?: string };
      if (!(await allow(request, reply, body.tenantId))) return reply;
      const decision = await authorizeCall(ledger, options.pricer, {
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
