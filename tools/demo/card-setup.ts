import type { StripeTestProxy } from '../stack/stripe-test-proxy';

/**
 * northwind's admin replaces the expired card on Stripe's hosted page (Checkout in setup mode):
 * the rater creates the setup for the tenant's own customer, the admin saves a card on the page
 * (the test proxy plays the page), the return records it, and the purchase that was declined
 * is paid with it.
 */
export async function replaceCardOnHostedPage(
  url: string,
  tenant: string,
  key: string,
  gateway: StripeTestProxy,
  buy: () => Promise<string>,
): Promise<void> {
  const call = async (path: string) => {
    const response = await fetch(`${url}/v1/tenants/${tenant}${path}`, {
      method: 'POST',
      headers: { authorization: `Bearer ${key}`, 'content-type': 'application/json' },
      body: '{}',
    });
    return { status: response.status, body: (await response.json()) as Record<string, unknown> };
  };
  const started = await call('/payment-method/setup');
  if (started.status !== 201)
    throw new Error(`card setup: ${started.status} ${JSON.stringify(started.body)}`);
  const sessionId = String(started.body.sessionId);
  console.log(
    `== ${tenant}'s admin replaces the expired card on the provider's hosted page: ${String(started.body.url)}`,
  );
  // On the page the admin enters a card and saves it; the page sends the admin back.
  const back = gateway.cards.finishSetup(sessionId, 'save');
  console.log(`   saved; the page sends the admin back to ${back}`);
  const completed = await call(`/payment-method/setup/${sessionId}/complete`);
  console.log(
    `   recorded: ${String(completed.body.card ?? completed.body.paymentMethodRef)} (${String(completed.body.status)}), checked against ${tenant}'s own customer`,
  );
  console.log(`== ${tenant} buys again with the new card: ${await buy()}`);
}
