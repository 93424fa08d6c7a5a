import Fastify from 'fastify';
import Stripe from 'stripe';
import { gatewayWebhookRoute } from '../../../src/api/webhooks';
import { stripeEventVerifier } from '../../../src/payments/stripe-webhooks';
import type { GatewayEvent } from '../../../src/settlement/ports';
import { ledgerFixture, LedgerFixture } from '../../support/ledger';

const SECRET = 'whsec_test_route';

/**
 * The webhook route over the real Redis event log (webhook-events.ts): an event is handled once
 * by its id, and a handler that failed gives the event back, so the gateway's retry is handled.
 */
describe('the gateway webhook route and its event log', () => {
  let f: LedgerFixture;
  beforeEach(() => {
    f = ledgerFixture();
  });
  const apps: ReturnType<typeof Fastify>[] = [];
  afterEach(async () => {
    for (const app of apps.splice(0)) await app.close();
    f.close();
  });

  /** The route on a server of its own, listening on a free port. */
  const serve = async (handlers: Record<string, (event: GatewayEvent) => Promise<string | void>>) => {
    const app = Fastify();
    gatewayWebhookRoute(app, {
      source: 'stripe',
      verify: stripeEventVerifier(SECRET),
      signatureHeader: 'stripe-signature',
      handlers,
      events: f.ledger.webhookEvents,
    });
    apps.push(app);
    await app.listen({ host: '127.0.0.1', port: 0 });
    return app;
  };
  /** Delivers the payload, signed now. */
  const deliver = async (app: ReturnType<typeof Fastify>, payload: string) => {
    const response = await fetch(`${app.listeningOrigin}/webhooks/stripe`, {
      method: 'POST',
      headers: {
        'content-type': 'application/json; charset=utf-8',
        'stripe-signature': Stripe.webhooks.generateTestHeaderString({ payload, secret: SECRET }),
      },
      body: payload,
    });
    return { status: response.status, body: (await response.json()) as Record<string, unknown> };
  };
  const payload = JSON.stringify({
    id: 'evt_1',
    object: 'event',
    type: 'thing.happened',
    data: { object: { id: 'x' } },
  });

  it('gives a failed event back: the retry is handled, and once handled it is not again', async () => {
    const seen: string[] = [];
    let fail = true;
    const app = await serve({
      'thing.happened': async (event) => {
        seen.push(event.id);
        if (fail) throw new Error('the ledger is away');
        return 'done';
      },
    });
    expect(await deliver(app, payload)).toEqual({
      status: 500,
      body: { error: 'not_handled', message: 'the event could not be handled now; send it again later' },
    });
    fail = false;
    expect(await deliver(app, payload)).toEqual({ status: 200, body: { received: true, handled: true } });
    expect(await deliver(app, payload)).toEqual({ status: 200, body: { received: true, duplicate: true } });
    expect(seen).toEqual(['evt_1', 'evt_1']);
    const ttl = await f.redis.pttl(`${f.prefix}webhook:stripe:evt_1`);
    expect(ttl).toBeGreaterThan(6 * 24 * 3600 * 1000);
  });

  it('handles one of two copies sent at once', async () => {
    let calls = 0;
    const app = await serve({
      'thing.happened': async () => {
        calls += 1;
        await new Promise((resolve) => setTimeout(resolve, 50));
      },
    });
    const answers = await Promise.all([deliver(app, payload), deliver(app, payload)]);
    expect(
      answers.map((a) => a.body).sort((a, b) => JSON.stringify(a).localeCompare(JSON.stringify(b))),
    ).toEqual([
      { received: true, duplicate: true },
      { received: true, handled: true },
    ]);
    expect(calls).toBe(1);
  });
});
