import type { FastifyBaseLogger, FastifyReply } from 'fastify';
import { autoRechargeChange } from '../auto-recharge';
import { decimalToMinor } from '../../credits/money';
import type { SettingsChange } from '../../credits/wallet';
import { isCurrency, missingDeckKinds, poolCapacities } from '../../rating';
import type { AdminApp, ResourceOptions } from '../admin-app';
import { tooPrecise } from '../money';
import { badRequest, noAccount, settingsRefused } from '../refusals';
import { tenantParams } from '../schemas';
import { etag, ifMatch, ifMatchHeaders } from '../settings-version';
import { checkPaymentMethod, recordCard, type CardProblem, type CheckedCard } from '../../settlement/cards';
import { cardRefused, gatewayUnavailable, noGateway } from './payment-methods';
import { autoRechargeBody, settingsResponses, tenantBody, upsertTenantResponses } from './tenants.schemas';

/** The fields of PUT /v1/tenants/{id} the checks below read. */
interface TenantFields {
  billingMode: string;
  currency: string;
  lowBalanceThreshold?: string;
  sessionOverdraft?: string;
  autoRecharge?: { enabled?: boolean; triggerAmount?: string; rechargeAmount?: string };
}

/**
 * What is wrong with a tenant's settings on their own, naming the field: a currency that is not
 * one or that no deck prices, an amount too precise for it, auto-recharge that cannot work.
 */
function tenantBodyProblem(body: TenantFields, book: ResourceOptions['book']): string | undefined {
  if (!isCurrency(body.currency)) return `body/currency ${body.currency} is not an ISO 4217 currency`;
  const missing = book ? missingDeckKinds(book, body.currency) : [];
  if (missing.length > 0)
    return `body/currency ${body.currency} has no ${missing.join(', ')} deck: its calls could not be rated`;
  const imprecise = tooPrecise(body.currency, {
    'body/lowBalanceThreshold': body.lowBalanceThreshold,
    'body/sessionOverdraft': body.sessionOverdraft,
    'body/autoRecharge/triggerAmount': body.autoRecharge?.triggerAmount,
    'body/autoRecharge/rechargeAmount': body.autoRecharge?.rechargeAmount,
  });
  if (imprecise) return imprecise;
  const ar = body.autoRecharge;
  if (ar?.enabled && body.billingMode !== 'prepaid')
    return 'body/autoRecharge/enabled: auto-recharge is for prepaid tenants only';
  if (
    ar?.enabled &&
    ar.rechargeAmount !== undefined &&
    decimalToMinor(ar.rechargeAmount, body.currency) <= 0n
  )
    return 'body/autoRecharge/rechargeAmount must be more than zero to enable auto-recharge';
  return undefined;
}

/**
 * A tenant's account: the operator creates or updates it; the tenant's admin changes its own
 * payment settings. Every change is one ledger script that changes only the fields named, so
 * concurrent changes never undo each other.
 */
export function tenantRoutes<L extends FastifyBaseLogger>(app: AdminApp<L>, options: ResourceOptions): void {
  upsertTenantRoute(app, options);
  autoRechargeRoute(app, options);
}

/** PUT /v1/tenants/{id}: the operator creates or updates a tenant. */
function upsertTenantRoute<L extends FastifyBaseLogger>(
  app: AdminApp<L>,
  { ledger, book, guards, cards }: ResourceOptions,
): void {
  /**
   * The operator's create-or-update. Creating, what the body leaves out takes its default;
   * updating, only what the body names changes (one script, so nothing a tenant changed
   * meanwhile is undone): `autoRecharge` changes the fields it names, `licences` replaces every
   * pool size, and a field left out keeps its stored value. A payment method named is checked
   * with the gateway first (the tenant's own card, or a 422 and nothing changed), and recorded
   * after the settings, in its own script.
   */
  app.put(
    '/v1/tenants/:tenantId',
    {
      ...guards.forOperator,
      schema: {
        operationId: 'upsertTenant',
        tags: ['tenants'],
        params: tenantParams,
        headers: ifMatchHeaders,
        body: tenantBody,
        response: upsertTenantResponses,
      },
    },
    async (request, reply) => {
      const tenant = request.params.tenantId;
      const body = request.body;
      const problem = tenantBodyProblem(body, book);
      if (problem) return badRequest(reply, problem);
      const minor = (value: string | undefined) =>
        value === undefined ? undefined : decimalToMinor(value, body.currency);
      const ar = body.autoRecharge;
      const ref = body.paymentMethodRef;
      let card: CheckedCard | undefined;
      if (ref) {
        if (body.billingMode !== 'prepaid')
          return cardRefused(reply, tenant, { problem: 'postpaid' }, 'body/paymentMethodRef');
        if (!cards) return noGateway(reply);
        let checked: CheckedCard | CardProblem;
        try {
          checked = await checkPaymentMethod(ledger.cards, cards, tenant, ref);
        } catch (error) {
          return gatewayUnavailable(reply, error);
        }
        if ('problem' in checked) return cardRefused(reply, tenant, checked, 'body/paymentMethodRef');
        card = checked;
      }
      const change: SettingsChange = {
        mode: body.billingMode,
        currency: body.currency,
        lowBalanceThreshold: minor(body.lowBalanceThreshold),
        sessionOverdraft: minor(body.sessionOverdraft),
        autoRecharge: ar && {
          enabled: ar.enabled,
          trigger: minor(ar.triggerAmount),
          amount: minor(ar.rechargeAmount),
          monthlyCap: ar.monthlyCap,
          maxConsecutiveFailures: ar.maxConsecutiveFailures,
        },
        // A card is recorded by its own script (below); '' clears the payment method here.
        paymentMethodRef: ref === '' ? '' : undefined,
        adminContacts: body.adminContacts,
        poolCapacities: body.licences && (book ? poolCapacities(book, body.licences) : {}),
      };
      const version = ifMatch(request.headers['if-match']);
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
      let stored = result.version;
      if (card) {
        const recorded = await recordCard(ledger.cards, tenant, card);
        if (!('recorded' in recorded)) return cardRefused(reply, tenant, recorded, 'body/paymentMethodRef');
        stored = recorded.version ?? stored;
      }
      return reply
        .code(result.status === 'created' ? 201 : 200)
        .header('etag', etag(stored))
        .send({ tenantId: tenant, status: result.status });
    },
  );
}

/** PUT .../auto-recharge: a tenant admin changes its auto-recharge. */
function autoRechargeRoute<L extends FastifyBaseLogger>(
  app: AdminApp<L>,
  { ledger, guards }: ResourceOptions,
): void {
  /**
   * Settings a tenant admin changes on its own: one script that changes the fields named and
   * checks the rules that depend on the stored settings (ledger.updateSettings).
   */
  const updateSettings = async (
    tenant: string,
    version: number | undefined,
    reply: FastifyReply,
    change: SettingsChange,
    fields: Record<string, string>,
    ifCurrency?: string,
  ) => {
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
      ...guards.forTenant,
      schema: {
        operationId: 'updateAutoRecharge',
        tags: ['tenants'],
        params: tenantParams,
        headers: ifMatchHeaders,
        body: autoRechargeBody,
        response: settingsResponses,
      },
    },
    async (request, reply) => {
      const tenant = request.params.tenantId;
      // The amounts are converted in the stored currency; the script refuses the change
      // should the currency have changed since (currency_mismatch).
      const account = await ledger.reads.readAccount(tenant);
      if (!account) return noAccount(reply, tenant);
      const currency = account.settings.currency;
      const asked = autoRechargeChange(currency, request.body, {
        triggerAmount: 'body/triggerAmount',
        rechargeAmount: 'body/rechargeAmount',
      });
      if ('problem' in asked) return badRequest(reply, asked.problem);
      return updateSettings(
        tenant,
        ifMatch(request.headers['if-match']),
        reply,
        { autoRecharge: asked.change },
        { arEnabled: 'body/enabled', arAmount: 'body/rechargeAmount' },
        currency,
      );
    },
  );
}
