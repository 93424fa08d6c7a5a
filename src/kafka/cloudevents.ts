import type { OutboxEvent } from '../ledger/ledger';
import { currencyDigits, formatMinor } from '../rating';

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

/** Integer minor units as an exact decimal string: ('-1234', 'USD') -> '-12.34'. */
export function minorToDecimal(amountMinor: string, currency: string): string {
  if (!/^-?\d+$/.test(amountMinor)) throw new Error(`not an integer amount: ${amountMinor}`);
  return formatMinor(BigInt(amountMinor), currency);
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
