import type { CloudEvent, OutboxEvent } from '../settlement/event-ports';
import { minorToDecimal } from '../credits/money';

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
