import type { Transporter } from 'nodemailer';
import { noticeSentKey } from '../../../src/ledger/keys';
import type { CloudEvent } from '../../../src/settlement/event-ports';
import { NoticeInFlightError, Notifier } from '../../../src/workers/notifier';
import { ledgerFixture, LedgerFixture, prepaid } from '../../support/ledger';
import { eventually } from '../../support/wait';

/** A mail transport whose sends wait until the test lets each one succeed or fail. */
function heldTransport() {
  const sends: { to: string[]; subject: string; settle: (error?: Error) => void }[] = [];
  const transport = {
    sendMail: (mail: { to: string[]; subject: string }) =>
      new Promise<void>((resolve, reject) => {
        sends.push({
          to: mail.to,
          subject: mail.subject,
          settle: (error) => (error ? reject(error) : resolve()),
        });
      }),
  } as unknown as Transporter;
  return { transport, sends };
}

const depleted = (tenantId: string): CloudEvent => ({
  specversion: '1.0',
  id: `${tenantId}/credits.balance.depleted/usage:u1`,
  source: '/rater/credits',
  type: 'credits.balance.depleted',
  subject: tenantId,
  time: '2026-11-01T00:00:00.000Z',
  datacontenttype: 'application/json',
  data: { tenantId, balance: { amount: '0.00', currency: 'USD' } },
});

describe('notifier: the claim on mailing a notice, on real Redis', () => {
  let f: LedgerFixture;
  beforeEach(async () => {
    f = ledgerFixture();
    await f.ledger.writes.upsertAccount('acme', prepaid({ adminContacts: ['admin@acme.example'] }));
  });
  afterEach(() => f.close());

  const notifier = (transport: Transporter, claimMs?: number) =>
    new Notifier({
      ledger: f.ledger,
      transport,
      from: 'credits@rater.example',
      notifyLowBalance: false,
      ...(claimMs === undefined ? {} : { claimMs }),
    });

  it('a delivery whose claim expired and was taken does not free the taker’s claim when its send fails', async () => {
    const event = depleted('acme');
    const key = noticeSentKey('acme', event.id, f.prefix);
    const slow = heldTransport();
    const first = notifier(slow.transport, 500).handle(event);
    await eventually(() => expect(slow.sends).toHaveLength(1));
    const firstClaim = await f.redis.get(key);
    expect(firstClaim).toMatch(/^sending:/);

    // The first claim lapses while its mail is still being sent; a redelivery takes the notice.
    await new Promise((resolve) => setTimeout(resolve, 700));
    const taker = heldTransport();
    const second = notifier(taker.transport).handle(event);
    await eventually(() => expect(taker.sends).toHaveLength(1));
    const secondClaim = await f.redis.get(key);
    expect(secondClaim).toMatch(/^sending:/);
    expect(secondClaim).not.toBe(firstClaim);

    // The first send fails: its holder gives back only its own claim, so the taker keeps the notice.
    slow.sends[0]!.settle(new Error('smtp down'));
    await expect(first).rejects.toThrow('smtp down');
    expect(await f.redis.get(key)).toBe(secondClaim);

    // A third delivery meanwhile waits (fails to be delivered again) instead of mailing too.
    const third = heldTransport();
    await expect(notifier(third.transport).handle(event)).rejects.toBeInstanceOf(NoticeInFlightError);
    expect(third.sends).toHaveLength(0);

    // The taker's send succeeds: the notice is remembered as sent, for 35 days.
    taker.sends[0]!.settle();
    await second;
    expect(await f.redis.get(key)).toBe('sent');
    const ttl = await f.redis.pttl(key);
    expect(ttl).toBeGreaterThan(35 * 24 * 3600 * 1000 - 60_000);
    expect(ttl).toBeLessThanOrEqual(35 * 24 * 3600 * 1000);

    const later = heldTransport();
    await notifier(later.transport).handle(event);
    expect(later.sends).toHaveLength(0);
    expect([...slow.sends, ...taker.sends, ...third.sends, ...later.sends].map((s) => s.to)).toEqual([
      ['admin@acme.example'],
      ['admin@acme.example'],
    ]);
  });

  it('a failed send frees its own claim, so the redelivery mails', async () => {
    const event = depleted('acme');
    const key = noticeSentKey('acme', event.id, f.prefix);
    const failing = heldTransport();
    const first = notifier(failing.transport).handle(event);
    await eventually(() => expect(failing.sends).toHaveLength(1));
    failing.sends[0]!.settle(new Error('smtp down'));
    await expect(first).rejects.toThrow('smtp down');
    expect(await f.redis.exists(key)).toBe(0);

    const retry = heldTransport();
    const second = notifier(retry.transport).handle(event);
    await eventually(() => expect(retry.sends).toHaveLength(1));
    retry.sends[0]!.settle();
    await second;
    expect(retry.sends.map((s) => [s.to, s.subject])).toEqual([
      [['admin@acme.example'], 'Your communications credits balance reached zero'],
    ]);
    expect(await f.redis.get(key)).toBe('sent');
  });

  it('the ledger’s notice leases: one holder at a time, released only by it, never once sent', async () => {
    const { leases } = f.ledger;
    const key = noticeSentKey('acme', 'e1', f.prefix);
    expect(await leases.claimNotice('acme', 'e1', 'sending:a', 30_000)).toBe('claimed');
    expect(await leases.claimNotice('acme', 'e1', 'sending:b', 30_000)).toBe('busy');
    await leases.releaseNotice('acme', 'e1', 'sending:b');
    expect(await f.redis.get(key)).toBe('sending:a');

    await leases.markNoticeSent('acme', 'e1', 60_000);
    await leases.releaseNotice('acme', 'e1', 'sending:a');
    expect(await f.redis.get(key)).toBe('sent');
    expect(await leases.claimNotice('acme', 'e1', 'sending:c', 30_000)).toBe('sent');
    await expect(leases.claimNotice('acme', 'e2', 'sent', 30_000)).rejects.toThrow(RangeError);
  });
});
