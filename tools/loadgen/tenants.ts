import type { Ledger } from '../../src/ledger/open-ledger';
import type { AccountSettings, MinorUnits } from '../../src/credits/wallet';
import { accountSettings } from '../../src/credits/wallet';
import { poolCapacities, RateBook } from '../../src/rating';
import type { TenantProfile } from './cdr-stream';

/**
 * Script calls in flight at once: ioredis writes them to the socket without waiting for the
 * replies, so this is the depth of the pipeline (a million tenants open in minutes, not hours).
 */
const IN_FLIGHT = 128;

/**
 * Opens the accounts of a generated stream's tenants: billing mode and currency, the minute
 * pools their licences bring, and for prepaid tenants one purchase of `funds` minor units
 * (idempotent by its payment reference, so a second run adds nothing). `overrides` changes
 * the other settings of every account (a low-balance threshold, say).
 */
export async function provisionTenants(
  ledger: Ledger,
  book: RateBook,
  tenants: TenantProfile[],
  funds: MinorUnits,
  purchasedAt = new Date(),
  overrides: Partial<Omit<AccountSettings, 'mode' | 'currency' | 'poolCapacities'>> = {},
): Promise<void> {
  let next = 0;
  await Promise.all(
    Array.from({ length: IN_FLIGHT }, async () => {
      for (let tenant = tenants[next++]; tenant; tenant = tenants[next++]) {
        const licences = tenant.licences.map((capability) => ({
          capability,
          country: tenant.country,
          users: tenant.users,
        }));
        const settings = accountSettings(tenant.mode, tenant.currency, {
          ...overrides,
          poolCapacities: poolCapacities(book, licences),
        });
        const upserted = await ledger.writes.upsertAccount(tenant.tenantId, settings);
        if (typeof upserted !== 'string')
          throw new Error(`account ${tenant.tenantId}: ${JSON.stringify(upserted)}`);
        if (tenant.mode === 'postpaid') continue;
        const added = await ledger.writes.addFunds(tenant.tenantId, {
          paymentRef: `loadgen-${tenant.tenantId}`,
          amount: funds,
          currency: tenant.currency,
          purchasedAt,
        });
        if ('refused' in added) throw new Error(`funds for ${tenant.tenantId}: ${JSON.stringify(added)}`);
      }
    }),
  );
}
