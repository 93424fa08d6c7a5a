import type { Cluster, Redis } from 'ioredis';
import type { CardLedger } from '../settlement/ports';
import { AccountField } from './account-fields';
import { tenantKeys } from './keys';
import { guarded, type Refusal } from './result-codes';
import { registerScripts, runScript } from './script-loader';

/**
 * A tenant's own card in the account hash: the gateway customer, stored once
 * (recordCustomer-1.lua), and the card recorded against it (recordPaymentMethod-1.lua). The
 * ledger side of settlement's CardLedger port.
 */
export class CardStore implements CardLedger {
  constructor(
    private readonly redis: Redis | Cluster,
    private readonly prefix = '',
    private readonly clock: () => Date = () => new Date(),
  ) {
    registerScripts(redis);
  }

  async paymentAccount(tenantId: string) {
    const f = AccountField;
    const [mode, currency, customer, ref] = await guarded('paymentAccount', () =>
      this.redis.hmget(
        tenantKeys(tenantId, this.prefix).account,
        f.mode,
        f.currency,
        f.paymentCustomer,
        f.paymentMethodRef,
      ),
    );
    if (!mode) return undefined;
    return {
      mode: mode as 'prepaid' | 'postpaid',
      currency: currency ?? '',
      customer: customer ?? '',
      paymentMethodRef: ref ?? '',
    };
  }

  async recordCustomer(tenantId: string, customer: string): Promise<{ customer: string } | Refusal> {
    const result = await runScript(
      this.redis,
      'recordCustomer',
      [tenantKeys(tenantId, this.prefix).account],
      [tenantId, customer],
    );
    if ('refused' in result) return result;
    return { customer: String(result.reply[1]) };
  }

  async recordPaymentMethod(
    tenantId: string,
    card: { customer: string; ref: string; label: string; ifVersion?: number },
  ): Promise<{ version: number } | Refusal> {
    const result = await runScript(
      this.redis,
      'recordPaymentMethod',
      [tenantKeys(tenantId, this.prefix).account],
      [
        tenantId,
        this.clock().toISOString(),
        card.customer,
        card.ref,
        card.label,
        card.ifVersion === undefined ? '' : String(card.ifVersion),
      ],
    );
    if ('refused' in result) return result;
    return { version: Number(result.reply[1]) };
  }
}
