import type { IncomingMessage, ServerResponse } from 'node:http';

/** A PaymentIntent as the proxy answered it, and the idempotency key that created it. */
interface Remembered {
  key: string;
  intent: Record<string, unknown>;
}

/**
 * The PaymentIntents the test proxy created, remembered by idempotency key, and the reads that
 * stripe-mock answers with fixtures only: retrieve (`GET /v1/payment_intents/{id}`), list
 * (`GET /v1/payment_intents`, filtered by `customer` and `created[gte|gt|lte|lt]`, newest first,
 * paged by `limit` and `starting_after`) and search (`GET /v1/payment_intents/search`, a query
 * of `metadata['<key>']:'<value>'` terms joined by AND). A test can also change a remembered
 * PaymentIntent (`settle`), as Stripe does when a payment completes later.
 */
export class RememberedIntents {
  private readonly byId = new Map<string, Remembered>();

  remember(key: string, intent: Record<string, unknown>): void {
    this.byId.set(String(intent.id), { key, intent });
  }

  /** Every remembered PaymentIntent, oldest first. */
  all(): Record<string, unknown>[] {
    return [...this.byId.values()].map((r) => r.intent);
  }

  /** Sets fields of a remembered PaymentIntent (its status, `last_payment_error`, ...). */
  settle(id: string, fields: Record<string, unknown>): Record<string, unknown> {
    const remembered = this.byId.get(id);
    if (!remembered) throw new Error(`no PaymentIntent ${id}`);
    Object.assign(remembered.intent, fields);
    return remembered.intent;
  }

  /** Answers the read if it is one of the above (true), or leaves it to stripe-mock (false). */
  answer(req: IncomingMessage, res: ServerResponse): boolean {
    if (req.method !== 'GET') return false;
    const url = new URL(req.url ?? '/', 'http://proxy');
    const reply = (status: number, body: unknown) => {
      res.writeHead(status, { 'content-type': 'application/json', 'request-id': 'req_proxy_read' });
      res.end(JSON.stringify(body));
      return true;
    };
    if (url.pathname === '/v1/payment_intents/search') {
      const terms = [...(url.searchParams.get('query') ?? '').matchAll(/metadata\['([^']+)'\]:'([^']*)'/g)];
      const data = this.newestFirst().filter((intent) =>
        terms.every(([, field, value]) => (intent.metadata as Record<string, string>)?.[field!] === value),
      );
      return reply(200, { object: 'search_result', url: url.pathname, has_more: false, data });
    }
    if (url.pathname === '/v1/payment_intents') {
      const p = url.searchParams;
      const created = (op: string) => (p.has(`created[${op}]`) ? Number(p.get(`created[${op}]`)) : undefined);
      const [gte, gt, lte, lt] = ['gte', 'gt', 'lte', 'lt'].map(created);
      let data = this.newestFirst().filter((intent) => {
        const at = Number(intent.created);
        return (
          (!p.has('customer') || intent.customer === p.get('customer')) &&
          (gte === undefined || at >= gte) &&
          (gt === undefined || at > gt) &&
          (lte === undefined || at <= lte) &&
          (lt === undefined || at < lt)
        );
      });
      const after = p.get('starting_after');
      if (after) data = data.slice(data.findIndex((intent) => intent.id === after) + 1);
      const limit = Number(p.get('limit') ?? 10);
      return reply(200, {
        object: 'list',
        url: url.pathname,
        has_more: data.length > limit,
        data: data.slice(0, limit),
      });
    }
    const retrieve = /^\/v1\/payment_intents\/([^/]+)$/.exec(url.pathname);
    const remembered = retrieve ? this.byId.get(retrieve[1]!) : undefined;
    if (remembered) return reply(200, remembered.intent);
    return false;
  }

  /** Newest first, as Stripe lists; the later created first among equal `created` seconds. */
  private newestFirst(): Record<string, unknown>[] {
    return [...this.byId.values()]
      .map((r, order) => ({ intent: r.intent, order }))
      .sort((a, b) => Number(b.intent.created) - Number(a.intent.created) || b.order - a.order)
      .map((r) => r.intent);
  }
}
