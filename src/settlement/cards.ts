import { isTenantId } from '../credits/tenant';
import type {
  CardGateway,
  CardLedger,
  GatewayEvent,
  GatewayEventHandler,
  GatewayPaymentMethod,
  LedgerRefusal,
} from './ports';

/**
 * Why a card was not recorded (values, not exceptions):
 * - `no_account`, `postpaid` (postpaid tenants have no customer and no card);
 * - `invalid_ref`: not a payment method reference of this gateway;
 * - `unknown_payment_method`: the gateway has no payment method by that id;
 * - `not_owned`: the payment method (or the customer the reference names) is not the tenant's;
 * - `no_setup`, `setup_not_owned` (the session was made for another tenant or customer),
 *   `setup_not_succeeded` (declined, abandoned, expired, or not finished yet).
 */
export type CardProblem =
  | {
      problem:
        | 'no_account'
        | 'postpaid'
        | 'invalid_ref'
        | 'unknown_payment_method'
        | 'not_owned'
        | 'no_setup'
        | 'setup_not_owned';
    }
  | { problem: 'setup_not_succeeded'; status: 'open' | 'failed' };

export type CardOutcome =
  | { recorded: true; ref: string; label: string; version?: number; unchanged: boolean }
  | CardProblem
  | LedgerRefusal;

const problem = (name: Exclude<CardProblem['problem'], 'setup_not_succeeded'>): CardProblem => ({
  problem: name,
});

/**
 * The tenant's customer at the gateway: the stored one, or one created now (the gateway's
 * idempotency key names the tenant) and stored unless a concurrent request stored one first,
 * in which case that one is the tenant's. Postpaid tenants have none.
 */
export async function tenantCustomer(
  ledger: CardLedger,
  gateway: CardGateway,
  tenantId: string,
): Promise<{ customer: string; currency: string } | CardProblem | LedgerRefusal> {
  const account = await ledger.paymentAccount(tenantId);
  if (!account) return problem('no_account');
  if (account.mode !== 'prepaid') return problem('postpaid');
  if (account.customer) return { customer: account.customer, currency: account.currency };
  const created = await gateway.ensureCustomer(tenantId);
  const stored = await ledger.recordCustomer(tenantId, created);
  if ('refused' in stored) return stored.refused === 'mode_mismatch' ? problem('postpaid') : stored;
  return { customer: stored.customer, currency: account.currency };
}

/** Records a payment method of a finished setup, when the gateway says it is the customer's. */
async function recordOwnCard(
  ledger: CardLedger,
  gateway: CardGateway,
  tenantId: string,
  customer: string,
  paymentMethodId: string,
): Promise<CardOutcome> {
  const method: GatewayPaymentMethod | undefined = await gateway.paymentMethod(paymentMethodId, customer);
  if (!method) return problem('unknown_payment_method');
  if (method.customer !== customer) return problem('not_owned');
  const ref = gateway.methodRef(customer, method.id);
  const label = method.label ?? '';
  // The webhook and the admin's return both complete a setup: the second changes nothing.
  const account = await ledger.paymentAccount(tenantId);
  if (account?.paymentMethodRef === ref) return { recorded: true, ref, label, unchanged: true };
  return recordCard(ledger, tenantId, { customer, ref, label });
}

/** A payment method the gateway said is attached to the tenant's customer, not recorded yet. */
export interface CheckedCard {
  customer: string;
  ref: string;
  label: string;
}

/**
 * A reference someone names (the operator's or a tenant's PUT, the operator's upsert), checked
 * before anything is written: its payment method must be attached to the tenant's own customer
 * (the stored one, or the one the gateway keeps for the tenant's idempotency key when none is
 * stored yet, as for a tenant being created), and a customer it names must be that one.
 */
export async function checkPaymentMethod(
  ledger: CardLedger,
  gateway: CardGateway,
  tenantId: string,
  ref: string,
): Promise<CheckedCard | CardProblem> {
  const parsed = gateway.parseMethodRef(ref);
  if (!parsed) return problem('invalid_ref');
  const account = await ledger.paymentAccount(tenantId);
  const customer = account?.customer || (await gateway.ensureCustomer(tenantId));
  if (parsed.customer !== undefined && parsed.customer !== customer) return problem('not_owned');
  const method = await gateway.paymentMethod(parsed.paymentMethod, customer);
  if (!method) return problem('unknown_payment_method');
  if (method.customer !== customer) return problem('not_owned');
  return { customer, ref: gateway.methodRef(customer, method.id), label: method.label ?? '' };
}

/**
 * Records a checked card, in one script: only while its customer is the tenant's stored one
 * (or none is stored: then it is stored too), the tenant is prepaid, and (`ifVersion`) the
 * settings are still the version the caller read.
 */
export async function recordCard(
  ledger: CardLedger,
  tenantId: string,
  card: CheckedCard,
  ifVersion?: number,
): Promise<CardOutcome> {
  const result = await ledger.recordPaymentMethod(tenantId, {
    ...card,
    ...(ifVersion !== undefined ? { ifVersion } : {}),
  });
  if ('refused' in result) return result.refused === 'mode_mismatch' ? problem('postpaid') : result;
  return { recorded: true, ref: card.ref, label: card.label, version: result.version, unchanged: false };
}

/** A named reference, checked, then recorded (the PUT of the payment method). */
export async function setPaymentMethod(
  ledger: CardLedger,
  gateway: CardGateway,
  tenantId: string,
  ref: string,
  ifVersion?: number,
): Promise<CardOutcome> {
  const account = await ledger.paymentAccount(tenantId);
  if (!account) return problem('no_account');
  if (account.mode !== 'prepaid') return problem('postpaid');
  const card = await checkPaymentMethod(ledger, gateway, tenantId, ref);
  if ('problem' in card) return card;
  return recordCard(ledger, tenantId, card, ifVersion);
}

/** Starts the gateway's hosted page where the tenant's admin adds or replaces its card. */
export async function startCardSetup(
  ledger: CardLedger,
  gateway: CardGateway,
  tenantId: string,
  urls: { successUrl: string; cancelUrl: string },
): Promise<{ sessionId: string; url: string } | CardProblem | LedgerRefusal> {
  const owner = await tenantCustomer(ledger, gateway, tenantId);
  if (!('customer' in owner)) return owner;
  return gateway.startCardSetup({ tenantId, customer: owner.customer, currency: owner.currency, ...urls });
}

/**
 * The admin came back from the hosted page (or the gateway said the session completed): the
 * card is recorded when the session was made for this tenant's customer and its setup
 * succeeded. A declined, abandoned or expired setup changes nothing.
 */
export async function completeCardSetup(
  ledger: CardLedger,
  gateway: CardGateway,
  tenantId: string,
  sessionId: string,
): Promise<CardOutcome> {
  const setup = await gateway.cardSetup(sessionId);
  if (!setup) return problem('no_setup');
  const account = await ledger.paymentAccount(tenantId);
  if (!account) return problem('no_account');
  if (setup.tenantId !== tenantId || !account.customer || setup.customer !== account.customer)
    return problem('setup_not_owned');
  if (setup.status !== 'succeeded' || !setup.paymentMethod)
    return { problem: 'setup_not_succeeded', status: setup.status === 'succeeded' ? 'failed' : setup.status };
  return recordOwnCard(ledger, gateway, tenantId, account.customer, setup.paymentMethod);
}

const text = (value: unknown) => (typeof value === 'string' ? value : undefined);
const metadataTenant = (object: Record<string, unknown>) => {
  const tenantId = text((object.metadata as Record<string, unknown> | null | undefined)?.tenantId);
  return isTenantId(tenantId) ? tenantId : undefined;
};

/**
 * The gateway's events about cards (its webhook), by type. A setup the service did not start
 * (no tenant in its metadata), or made for a customer that is not the tenant's, is ignored;
 * the outcome comes back for the log.
 */
export function cardEventHandlers(
  ledger: CardLedger,
  gateway: CardGateway,
): Record<string, GatewayEventHandler> {
  const describe = (outcome: CardOutcome) =>
    'recorded' in outcome
      ? outcome.unchanged
        ? 'card already recorded'
        : 'card recorded'
      : `ignored: ${'problem' in outcome ? outcome.problem : outcome.refused}`;
  return {
    'setup_intent.succeeded': async (event: GatewayEvent) => {
      const intent = event.object;
      const tenantId = metadataTenant(intent);
      const customer = text(intent.customer);
      const paymentMethod = text(intent.payment_method);
      if (!tenantId || !customer || !paymentMethod) return 'ignored: not a setup of this service';
      const account = await ledger.paymentAccount(tenantId);
      if (!account) return 'ignored: no_account';
      if (!account.customer || account.customer !== customer) return 'ignored: setup_not_owned';
      return describe(await recordOwnCard(ledger, gateway, tenantId, customer, paymentMethod));
    },
    'checkout.session.completed': async (event: GatewayEvent) => {
      const session = event.object;
      const tenantId = metadataTenant(session);
      const id = text(session.id);
      if (session.mode !== 'setup') return 'ignored: not a card setup';
      if (!tenantId || !id) return 'ignored: not a setup of this service';
      return describe(await completeCardSetup(ledger, gateway, tenantId, id));
    },
  };
}
