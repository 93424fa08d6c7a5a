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
import {
  autoRechargeBody,
  paymentMethodBody,
  settingsResponses,
  tenantBody,
  upsertTenantResponses,
} from './tenants.schemas';

/**
 * A tenant's account: the operator creates or updates it; the tenant's admin changes its own
 * payment settings. Every change is one ledger script that changes only the fields named, so
 * concurrent changes never undo each other.
 */
export function tenantRoutes<L extends FastifyBaseLogger>(
  app: AdminApp<L>,
  { ledger, book, guards }: ResourceOptions,
): void {
  /**
   * The operator's create-or-update. Creating, what the body leaves out takes its default;
   * updating, only what the body names changes (one script, so nothing a tenant changed
   * meanwhile is undone): `autoRecharge` changes the fields it names, `licences` replaces every
   * pool size, and a field left out keeps its stored value.
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
      if (!isCurrency(body.currency))
        return badRequest(reply, `body/currency ${body.currency} is not an ISO 4217 currency`);
      const missing = book ? missingDeckKinds(book, body.currency) : [];
      if (missing.length > 0)
        return badRequest(
          reply,
          `body/currency ${body.currency} has no ${missing.join(', ')} deck: its calls could not be rated`,
        );
      const imprecise = tooPrecise(body.currency, {
        'body/lowBalanceThreshold': body.lowBalanceThreshold,
        'body/sessionOverdraft': body.sessionOverdraft,
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
        sessionOverdraft: minor(body.sessionOverdraft),
        autoRecharge: ar && {
          enabled: ar.enabled,
          trigger: minor(ar.triggerAmount),
          amount: minor(ar.rechargeAmount),
          monthlyCap: ar.monthlyCap,
          maxConsecutiveFailures: ar.maxConsecutiveFailures,
        },
        paymentMethodRef: body.paymentMethodRef,
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

  app.put(
    '/v1/tenants/:tenantId/payment-method',
    {
      ...guards.forTenant,
      schema: {
        operationId: 'updatePaymentMethod',
        tags: ['tenants'],
        params: tenantParams,
        headers: ifMatchHeaders,
        body: paymentMethodBody,
        response: settingsResponses,
      },
    },
    async (request, reply) =>
      updateSettings(
        request.params.tenantId,
        ifMatch(request.headers['if-match']),
        reply,
        { paymentMethodRef: request.body.paymentMethodRef },
        {},
      ),
  );
}
