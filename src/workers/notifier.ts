import { randomUUID } from 'node:crypto';
import type { Transporter } from 'nodemailer';
import type { CloudEvent } from '../settlement/event-ports';
import type { NoticeLedger } from '../settlement/worker-ports';

type Amount = { amount: string; currency: string };
const money = (value: unknown) => {
  const { amount, currency } = value as Amount;
  return `${currency} ${amount}`;
};

/** The mails, by event type: subject and body from the event's data. */
const MAILS: Record<string, (data: Record<string, unknown>) => { subject: string; text: string }> = {
  'credits.recharge.succeeded': (d) => ({
    subject: `Auto-recharge added ${money(d.amount)} to your communications credits`,
    text: `Auto-recharge charged your payment method ${money(d.amount)} and added it to your communications credits.\nBalance now: ${money(d.balance)}.`,
  }),
  'credits.recharge.failed': (d) => ({
    subject: 'Auto-recharge of your communications credits failed',
    text:
      `Auto-recharge could not charge your payment method ${money(d.amount)} (${String(d.reason)}).\n` +
      `Balance now: ${money(d.balance)}.` +
      (d.autoRechargeDisabled
        ? `\nAuto-recharge is now turned off after ${String(d.consecutiveFailures)} failures in a row; update the payment method and turn it on again.`
        : ''),
  }),
  'credits.balance.depleted': (d) => ({
    subject: 'Your communications credits balance reached zero',
    text: `Your communications credits balance is ${money(d.balance)}. Toll-free and international calls and other credit-paid usage are blocked until funds are added.`,
  }),
  'credits.user.limit_reached': (d) => ({
    subject: `A user reached their monthly spend limit on your communications credits`,
    text:
      `${String(d.user)} spent ${money(d.spent)} of communications credits in ${String(d.period)} (UTC), ` +
      `reaching the monthly limit of ${money(d.limit)}.\nThat user's credit-paid calls are refused until the month ends or the limit is raised; calls already connected are still charged.`,
  }),
  'credits.usage.rerated': (d) => {
    const refund = !/^0(\.0+)?$/.test((d.refund as Amount).amount);
    const postpaid = d.mode === 'postpaid';
    const what = refund ? `a refund of ${money(d.refund)}` : `an extra charge of ${money(d.extraCharge)}`;
    const where = postpaid
      ? refund
        ? 'taken off the amount you owe'
        : 'added to the amount you owe'
      : refund
        ? 'given back to your communications credits'
        : 'taken from your communications credits';
    return {
      subject: `Calls were priced again with corrected rates: ${what}`,
      text:
        `The rates of calls that started from ${String(d.from)} until ${String(d.to)} (UTC) were corrected, ` +
        `and ${String(d.calls)} of your calls were priced again: ${money(d.previousTotal)} before, ${money(d.newTotal)} now.\n` +
        `The difference, ${what}, is ${where}.` +
        (postpaid ? '' : `\nBalance now: ${money(d.balance)}.`),
    };
  },
  'credits.user.blocked': (d) => ({
    subject: `A user's credit-paid calls are blocked: a burst of calls on your communications credits`,
    text:
      `${String(d.user)} made ${String(d.internationalCalls)} international credit-paid calls and spent ${money(d.spend)} ` +
      `of communications credits within ${String(d.windowMinutes)} minutes, more than your burst guard allows ` +
      `(${d.reason === 'spend' ? `spend over ${money(d.maxSpend)}` : `over ${String(d.maxInternationalCalls)} international calls`}).
` +
      `This can be toll fraud. That user's credit-paid calls are refused until an admin clears the block; calls already connected are still charged.`,
  }),
  'credits.balance.low': (d) => ({
    subject: 'Your communications credits balance is low',
    text: `Your communications credits balance is ${money(d.balance)}, below your threshold of ${money(d.threshold)}.`,
  }),
};

export interface NotifierOptions {
  /** The admin contacts, and the notices' leases that make a redelivered event mail once. */
  ledger: NoticeLedger;
  transport: Transporter;
  from: string;
  /** Mail on low balance too (the other notices always go out). */
  notifyLowBalance: boolean;
  onSent?: (event: CloudEvent, to: string[]) => void;
  /** How long a delivery may take to send its mail before another delivery may (default a minute). */
  claimMs?: number;
}

/** How long a notice mailed is remembered: a redelivery within it mails no more. */
const REMEMBER_MS = 35 * 24 * 3600 * 1000;
/** How long a delivery may take to send its mail before another delivery may (after a crash). */
const DEFAULT_CLAIM_MS = 60_000;

/** Another delivery of the event is sending its mail now: try again later. */
export class NoticeInFlightError extends Error {
  override readonly name = 'NoticeInFlightError';
  readonly retriable = true;
}

/**
 * Emails the tenant's admin contacts: recharge added funds, recharge failed, balance at zero
 * (or low, when asked), a user at the monthly spend limit, a user the burst guard blocked.
 */
export class Notifier {
  constructor(private readonly options: NotifierOptions) {}

  async handle(event: CloudEvent): Promise<void> {
    const mail = MAILS[event.type];
    if (!mail || (event.type === 'credits.balance.low' && !this.options.notifyLowBalance)) return;
    const { ledger } = this.options;
    const tenantId = event.subject;
    // Claimed under this delivery's own token: of two deliveries of the same event, only one
    // mails. The claim is short until the mail went out, then the notice is marked sent for
    // long: a crash between the claim and the send lets the claim lapse, and the redelivery
    // mails (at least once, never twice at the same time). A delivery that finds another one
    // sending waits for it by failing (the subscriber delivers the event again). A failed
    // delivery gives back only its own claim: one that lapsed and was taken stays the taker's.
    const holder = `sending:${randomUUID()}`;
    const claim = await ledger.leases.claimNotice(
      tenantId,
      event.id,
      holder,
      this.options.claimMs ?? DEFAULT_CLAIM_MS,
    );
    if (claim === 'sent') return;
    if (claim === 'busy')
      throw new NoticeInFlightError(`notice ${event.id} is being sent by another delivery`);
    try {
      const account = await ledger.reads.readAccount(tenantId);
      const to = account?.settings.adminContacts ?? [];
      if (to.length === 0) {
        await ledger.leases.markNoticeSent(tenantId, event.id, REMEMBER_MS);
        return;
      }
      const { subject, text } = mail(event.data);
      await this.options.transport.sendMail({
        from: this.options.from,
        to,
        subject,
        text,
        headers: { 'X-Rater-Event-Id': event.id, 'X-Rater-Tenant': tenantId },
      });
      await ledger.leases.markNoticeSent(tenantId, event.id, REMEMBER_MS);
      this.options.onSent?.(event, to);
    } catch (error) {
      await ledger.leases.releaseNotice(tenantId, event.id, holder);
      throw error;
    }
  }
}
