import Stripe from 'stripe';
import type { GatewayEvent } from '../settlement/ports';

/** How old a signed event may be, in seconds: Stripe's library default. */
export const STRIPE_WEBHOOK_TOLERANCE_SECONDS = 300;

/**
 * Verifies a Stripe webhook request with Stripe's own library: the `Stripe-Signature` header
 * must be an HMAC of the exact bytes received, made with the endpoint's signing secret, and
 * made less than `toleranceSeconds` ago (an older copy is a replay). Answers the event, or
 * why it was refused.
 */
export function stripeEventVerifier(secret: string, toleranceSeconds = STRIPE_WEBHOOK_TOLERANCE_SECONDS) {
  return (rawBody: Buffer, signature: string | undefined): GatewayEvent | { invalid: string } => {
    if (!signature) return { invalid: 'the Stripe-Signature header is missing' };
    let event;
    try {
      event = Stripe.webhooks.constructEvent(rawBody, signature, secret, toleranceSeconds);
    } catch (error) {
      if (error instanceof Stripe.errors.StripeSignatureVerificationError)
        return { invalid: `the signature does not verify: ${error.message}` };
      return { invalid: 'the body is not a Stripe event' };
    }
    const object = (event.data as { object?: unknown } | undefined)?.object;
    if (
      typeof event.id !== 'string' ||
      typeof event.type !== 'string' ||
      !object ||
      typeof object !== 'object'
    )
      return { invalid: 'the event has no id, type or object' };
    return { id: event.id, type: event.type, object: object as Record<string, unknown> };
  };
}
