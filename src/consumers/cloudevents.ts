import type { OutboxEvent } from '../ledger/ledger';

/** A CloudEvents 1.0 event in JSON structured mode (CONTRACTS.md section 3). */
export interface CloudEvent {
  specversion: '1.0';
  id: string;
  source: string;
  type: string;
  subject: string;
  time: string;
  datacontenttype: 'application/json';
  data: Record<string, unknown>;
}

const fractionDigits = new Map<string, number>();

/** ISO 4217 minor-unit digits (USD 2, JPY 0, BHD 3), from the runtime's own currency data. */
export function currencyDigits(currency: string): number {
  let digits = fractionDigits.get(currency);
  if (digits === undefined) {
    digits =
      new Intl.NumberFormat('en', { style: 'currency', currency }).resolvedOptions().maximumFractionDigits ??
      2;
    fractionDigits.set(currency, digits);
  }
  return digits;
}

/** Integer minor units as an exact decimal string: ('-1234', 'USD') -> '-12.34'. */
export function minorToDecimal(amountMinor: string, currency: string): string {
  if (!/^-?\d+$/.test(amountMinor)) throw new Error(`not an integer amount: ${amountMinor}`);
  const digits = currencyDigits(currency);
  const negative = amountMinor.startsWith('-');
  const units = (negative ? amountMinor.slice(1) : amountMinor).padStart(digits + 1, '0');
  const whole = units.slice(0, units.length - digits);
  const fraction = digits > 0 ? `.${units.slice(units.length - digits)}` : '';
  return `${negative ? '-' : ''}${whole}${fraction}`;
}

/** An exact decimal string back to integer minor units: ('12.34', 'USD') -> 1234n. */
export function decimalToMinor(amount: string, currency: string): bigint {
  const digits = currencyDigits(currency);
  const match = /^(-?)(\d+)(?:\.(\d+))?$/.exec(amount);
  if (!match || (match[3] ?? '').length > digits) {
    throw new Error(`not an amount of ${currency} (${digits} decimals at most): ${amount}`);
  }
  const units = BigInt(match[2]! + (match[3] ?? '').padEnd(digits, '0'));
  return match[1] ? -units : units;
}

const TIME_FIELDS = new Set(['purchasedAt', 'expiresAt']);

/** The ledger writes minor units and epoch milliseconds; the contract speaks decimals and ISO times. */
function present(value: unknown, key?: string): unknown {
  if (Array.isArray(value)) return value.map((item) => present(item));
  if (value && typeof value === 'object') {
    const record = value as Record<string, unknown>;
    if (typeof record.amountMinor === 'string' && typeof record.currency === 'string') {
      return { amount: minorToDecimal(record.amountMinor, record.currency), currency: record.currency };
    }
    return Object.fromEntries(Object.entries(record).map(([k, v]) => [k, present(v, k)]));
  }
  if (key && TIME_FIELDS.has(key) && typeof value === 'string' && /^\d+$/.test(value)) {
    return new Date(Number(value)).toISOString();
  }
  return value;
}

export function toCloudEvent(event: OutboxEvent, source: string): CloudEvent {
  return {
    specversion: '1.0',
    id: event.id,
    source,
    type: event.type,
    subject: event.tenantId,
    time: event.time,
    datacontenttype: 'application/json',
    data: { tenantId: event.tenantId, ...(present(event.data) as Record<string, unknown>) },
  };
}
