import { formatMinor } from '../rating';
import type { GatewayPayment, PaymentGateway } from './ports';
import {
  chargeIdOf,
  type HeldPayment,
  type PaymentBooks,
  type PaymentLot,
  paymentOfChargeId,
} from './payment-ports';
import { differsFrom } from './settle-payment';

/** What is wrong with a line of the report (none: the charge and the books agree). */
export type PaymentProblem =
  /** The gateway took the money and no lot was credited for it. */
  | 'charged_not_credited'
  /** A lot was credited for a payment the gateway did not take. */
  | 'lot_without_charge'
  /** The charge and the lot differ in amount or currency. */
  | 'amount_differs'
  /** Begun and not settled yet (the reconciler's work). */
  | 'pending'
  /** A successful charge with our metadata that names no purchase or recharge we know. */
  | 'unknown_charge';

export interface ReportLine {
  tenantId: string;
  kind?: HeldPayment['kind'];
  /** The purchase id or the recharge request id. */
  paymentId?: string;
  charge?: Pick<GatewayPayment, 'gatewayRef' | 'status' | 'amountMinor' | 'currency' | 'createdAt'>;
  ours?: Pick<HeldPayment, 'status' | 'lotId'>;
  lot?: Pick<PaymentLot, 'lotId' | 'amount' | 'currency'>;
  problem?: PaymentProblem;
  detail?: string;
}

export interface PaymentsReport {
  from: Date;
  to: Date;
  lines: ReportLine[];
  /** Lines with a problem. */
  mismatches: number;
}

/**
 * Charges credited late are found by listing the gateway this long before the window: the
 * reconciler settles within the idempotency key's day, a webhook within Stripe's retries (3 days).
 */
export const CHARGE_LOOKBACK_MS = 4 * 24 * 3600_000;

const key = (tenantId: string, lotId: string) => `${tenantId}\n${lotId}`;

/**
 * The payments report: every gateway charge created in [from, to) beside the purchase or
 * recharge and the lot the books hold for it; every lot bought by a purchase or a recharge in
 * the window beside its charge; every payment still pending. A line has a problem when they
 * disagree. One pass over the gateway's list and over the tenants' lots (a one-off command).
 */
export async function paymentsReport(
  books: PaymentBooks,
  gateway: Pick<PaymentGateway, 'listPayments'>,
  window: { from: Date; to: Date },
): Promise<PaymentsReport> {
  const lines: ReportLine[] = [];
  const lotsSeen = new Set<string>();
  const pendingSeen = new Set<string>();
  const charges = new Map<string, GatewayPayment>();
  const listed = { from: new Date(window.from.getTime() - CHARGE_LOOKBACK_MS), to: window.to };
  for await (const charge of gateway.listPayments(listed)) {
    charges.set(charge.gatewayRef, charge);
    if (charge.createdAt < window.from) continue;
    const line = await chargeLine(books, charge);
    if (line.ours?.lotId) lotsSeen.add(key(line.tenantId, line.ours.lotId));
    if (line.ours?.status === 'pending') pendingSeen.add(key(line.tenantId, charge.chargeId));
    lines.push(line);
  }
  for await (const page of books.paymentLots(window))
    for (const lot of page) {
      if (lotsSeen.has(key(lot.tenantId, lot.lotId))) continue;
      lines.push(lotLine(lot, charges.get(lot.gatewayRef)));
    }
  for (const pending of await books.pendingPayments(window.to, 1000)) {
    if (pending.since < window.from) continue;
    if (pendingSeen.has(key(pending.tenantId, chargeIdOf(pending)))) continue;
    lines.push({
      tenantId: pending.tenantId,
      kind: pending.kind,
      paymentId: pending.id,
      ours: { status: 'pending' },
      problem: 'pending',
      detail: `begun ${pending.since.toISOString()}, no charge at the gateway in the window`,
    });
  }
  return { ...window, lines, mismatches: lines.filter((line) => line.problem).length };
}

async function chargeLine(books: PaymentBooks, charge: GatewayPayment): Promise<ReportLine> {
  const payment = paymentOfChargeId(charge.tenantId, charge.chargeId);
  const base: ReportLine = { tenantId: charge.tenantId, charge };
  if (!payment)
    return charge.status === 'succeeded'
      ? { ...base, problem: 'unknown_charge', detail: `charge id ${charge.chargeId}` }
      : base;
  const held = await books.readPayment(charge.tenantId, payment.kind, payment.id);
  const line: ReportLine = {
    ...base,
    kind: payment.kind,
    paymentId: payment.id,
    ...(held ? { ours: { status: held.status, ...(held.lotId ? { lotId: held.lotId } : {}) } } : {}),
    ...(held?.lotId ? { lot: { lotId: held.lotId, amount: held.amount, currency: held.currency } } : {}),
  };
  if (held?.status === 'pending' || charge.status === 'processing') return { ...line, problem: 'pending' };
  if (charge.status === 'succeeded') {
    if (held?.status !== 'succeeded')
      return {
        ...line,
        problem: 'charged_not_credited',
        detail: held ? `ours ${held.status}` : 'no such payment',
      };
    const differs = differsFrom(held, charge.amountMinor, charge.currency);
    return differs ? { ...line, problem: 'amount_differs', detail: differs } : line;
  }
  if (held?.status === 'succeeded' && held.gatewayRef === charge.gatewayRef)
    return { ...line, problem: 'lot_without_charge', detail: `the charge ${charge.status}` };
  return line;
}

function lotLine(lot: PaymentLot, charge: GatewayPayment | undefined): ReportLine {
  const line: ReportLine = {
    tenantId: lot.tenantId,
    kind: lot.kind,
    paymentId: lot.paymentId,
    ours: { status: 'succeeded', lotId: lot.lotId },
    lot: { lotId: lot.lotId, amount: lot.amount, currency: lot.currency },
    ...(charge ? { charge } : {}),
  };
  if (!charge || charge.status !== 'succeeded')
    return {
      ...line,
      problem: 'lot_without_charge',
      detail: charge
        ? `the charge ${charge.status}`
        : `no charge ${lot.gatewayRef || '(none named)'} at the gateway`,
    };
  if (charge.amountMinor !== lot.amount || charge.currency !== lot.currency.toUpperCase())
    return { ...line, problem: 'amount_differs', detail: `charge ${charge.amountMinor}, lot ${lot.amount}` };
  return line;
}

/** The report as text: one line per charge or lot, the problem first, then a summary. */
export function formatPaymentsReport(report: PaymentsReport): string {
  const money = (amount: bigint, currency: string) => `${formatMinor(amount, currency)} ${currency}`;
  const rows = report.lines.map((line) =>
    [
      (line.problem ?? 'ok').padEnd(20),
      line.tenantId,
      line.kind ? `${line.kind} ${line.paymentId}` : '-',
      line.charge
        ? `charge ${line.charge.gatewayRef} ${line.charge.status} ${money(line.charge.amountMinor, line.charge.currency)}`
        : 'charge -',
      line.ours ? `ours ${line.ours.status}` : 'ours -',
      line.lot ? `lot ${line.lot.lotId} ${money(line.lot.amount, line.lot.currency)}` : 'lot -',
      line.detail ? `(${line.detail})` : '',
    ]
      .join('  ')
      .trimEnd(),
  );
  rows.push(
    `${report.lines.length} lines, ${report.mismatches} mismatches, ${report.from.toISOString()} to ${report.to.toISOString()}`,
  );
  return rows.join('\n');
}
