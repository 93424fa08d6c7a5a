/**
 * The payment gateways that purchases and auto-recharge charge (the port is
 * src/settlement/ports.ts): Stripe in production (stripe-gateway.ts), the simulated one only
 * when chosen explicitly.
 */
import type {
  CardGateway,
  CardSetupState,
  ChargeRequest,
  ChargeResult,
  GatewayPayment,
  GatewayPaymentMethod,
  PaymentGateway,
} from '../settlement/ports';

/** No answer (a timeout or a refused connection): worth retrying with the same idempotency key. */
export class GatewayUnavailableError extends Error {
  override readonly name = 'GatewayUnavailableError';
  readonly retriable = true;
}

/**
 * A gateway for the demo and the tests. The tenant's payment method reference chooses what
 * happens, like a payment provider's test cards:
 *   pm_sim_expired_card  declined as an expired card
 *   pm_sim_declined      declined (insufficient funds)
 *   pm_sim_timeout       no answer (GatewayUnavailableError) every time
 *   pm_sim_flaky         no answer on the first attempt of a key, approved on the next
 *   pm_sim_lost_answer   charged on the first attempt, but no answer ever comes back (every
 *                        attempt of the key throws GatewayUnavailableError): only `lookup`
 *                        tells that the payment succeeded
 *   anything else        approved
 * Repeating a key returns the first answer without charging again. `lookup` and
 * `listPayments` answer from what was charged or declined (a timeout leaves nothing).
 *
 * Cards, as simulated:
 *   customers            `cus_sim_<tenant id>`, one per tenant
 *   references           the payment method id alone (`pm_...`); `cus_.../pm_...` is read too
 *   pm_sim_foreign       attached to another customer (refused as not the tenant's)
 *   a hosted setup       its page approves at once: the URL is the success URL, and the card
 *                        saved is `pm_sim_card_<n>` (`visa •••• 4242`) of the session's customer
 *   any other pm_...     attached to the customer that asks (the tenant's own)
 */
export class SimulatedGateway implements PaymentGateway, CardGateway {
  private readonly answers = new Map<string, ChargeResult>();
  private readonly setups = new Map<string, CardSetupState>();
  private readonly setUpCards = new Map<string, string>();
  private readonly attempts = new Map<string, number>();
  private readonly payments = new Map<string, GatewayPayment>();
  /** Every successful charge, for tests and the demo. */
  readonly charges: ChargeRequest[] = [];

  constructor(private readonly latencyMs = 5) {}

  async charge(request: ChargeRequest): Promise<ChargeResult> {
    await new Promise((resolve) => setTimeout(resolve, this.latencyMs));
    const lost = () =>
      new GatewayUnavailableError(`the answer for ${request.idempotencyKey} was lost in transit`);
    const previous = this.answers.get(request.idempotencyKey);
    if (previous) {
      if (request.paymentMethodRef === 'pm_sim_lost_answer') throw lost();
      return previous;
    }
    const attempt = (this.attempts.get(request.idempotencyKey) ?? 0) + 1;
    this.attempts.set(request.idempotencyKey, attempt);
    let answer: ChargeResult;
    switch (request.paymentMethodRef) {
      case 'pm_sim_expired_card':
        answer = { status: 'declined', reason: 'expired_card' };
        break;
      case 'pm_sim_declined':
        answer = { status: 'declined', reason: 'insufficient_funds' };
        break;
      case 'pm_sim_timeout':
        throw new GatewayUnavailableError(`gateway did not answer for ${request.idempotencyKey}`);
      case 'pm_sim_flaky':
        if (attempt === 1)
          throw new GatewayUnavailableError(`gateway did not answer for ${request.idempotencyKey}`);
        answer = { status: 'succeeded', gatewayRef: `sim_ch_${this.charges.length + 1}` };
        break;
      default:
        answer = { status: 'succeeded', gatewayRef: `sim_ch_${this.charges.length + 1}` };
    }
    if (answer.status === 'succeeded') this.charges.push(request);
    this.answers.set(request.idempotencyKey, answer);
    this.payments.set(request.idempotencyKey, {
      gatewayRef:
        answer.status === 'succeeded' ? answer.gatewayRef : `sim_declined_${this.payments.size + 1}`,
      tenantId: request.tenantId,
      chargeId: request.idempotencyKey,
      status: answer.status === 'succeeded' ? 'succeeded' : 'failed',
      amountMinor: request.amountMinor,
      currency: request.currency.toUpperCase(),
      createdAt: new Date(),
      ...(answer.status === 'declined' ? { reason: answer.reason } : {}),
    });
    if (request.paymentMethodRef === 'pm_sim_lost_answer') throw lost();
    return answer;
  }

  async lookup(request: { idempotencyKey: string }): Promise<GatewayPayment | undefined> {
    await new Promise((resolve) => setTimeout(resolve, this.latencyMs));
    return this.payments.get(request.idempotencyKey);
  }

  async *listPayments(window: { from: Date; to: Date }): AsyncIterable<GatewayPayment> {
    for (const payment of this.payments.values())
      if (payment.createdAt >= window.from && payment.createdAt < window.to) yield payment;
  }

  async ensureCustomer(tenantId: string): Promise<string> {
    return `cus_sim_${tenantId}`;
  }

  async paymentMethod(id: string, forCustomer: string): Promise<GatewayPaymentMethod | undefined> {
    if (id === 'pm_sim_foreign') return { id, customer: 'cus_sim_someone_else' };
    const setUp = this.setUpCards.get(id);
    if (setUp) return { id, customer: setUp, label: 'visa •••• 4242' };
    return { id, customer: forCustomer };
  }

  methodRef(_customer: string, paymentMethod: string): string {
    return paymentMethod;
  }

  parseMethodRef(ref: string): { customer?: string; paymentMethod: string } | undefined {
    const match = /^(?:(cus_[A-Za-z0-9_.-]+)\/)?(pm_[A-Za-z0-9_]+)$/.exec(ref);
    if (!match) return undefined;
    return { ...(match[1] ? { customer: match[1] } : {}), paymentMethod: match[2]! };
  }

  async startCardSetup(request: {
    tenantId: string;
    customer: string;
    successUrl: string;
  }): Promise<{ sessionId: string; url: string }> {
    const n = this.setups.size + 1;
    const sessionId = `cs_sim_${n}`;
    const paymentMethod = `pm_sim_card_${n}`;
    this.setUpCards.set(paymentMethod, request.customer);
    this.setups.set(sessionId, {
      tenantId: request.tenantId,
      customer: request.customer,
      status: 'succeeded',
      paymentMethod,
    });
    return { sessionId, url: request.successUrl.replace('{CHECKOUT_SESSION_ID}', sessionId) };
  }

  async cardSetup(sessionId: string): Promise<CardSetupState | undefined> {
    return this.setups.get(sessionId);
  }
}
