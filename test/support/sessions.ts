import { CallSessions, type CallToStart } from '../../src/settlement/call-sessions';
import { FlatPricer } from './flat-pricer';
import type { LedgerFixture } from './ledger';

/**
 * Call sessions over a test ledger, priced by the flat pricer (10 minor units a started
 * minute plus a 5-unit connection fee), with a grant of `grantSeconds` (300: 55 units) and
 * a grace of 30 s, on the fixture's clock.
 */
export function sessionsOver(fixture: LedgerFixture, grantSeconds = 300) {
  const sessions = new CallSessions({
    ledger: fixture.ledger.sessions,
    pricer: new FlatPricer(),
    settings: { grantSeconds, graceSeconds: 30 },
  });
  const now = () => fixture.clock.now;
  return {
    sessions,
    start: (call: CallToStart) => sessions.start(call, JSON.stringify(call), now()),
    update: (tenant: string, usageId: string, used: number) => sessions.update(tenant, usageId, used, now()),
    end: (tenant: string, usageId: string, used: number) => sessions.end(tenant, usageId, used, now()),
  };
}

/** A credit-paid international call of `user` (flat pricing), started at `start`. */
export const outbound = (tenantId: string, usageId: string, start: Date, user = 'alice'): CallToStart => ({
  tenantId,
  usageId,
  callType: 'user_out',
  calleeNumber: '+442071234567',
  licenseCapability: 'MCOPSTNPP',
  usageCountryCode: 'US',
  destinationContext: 'International',
  startDateTime: start.toISOString(),
  userId: user,
});

/** What the tenant's sessions hold, from the account's running total (minor units). */
export async function sessionHold(fixture: LedgerFixture, tenant: string): Promise<bigint> {
  return BigInt((await fixture.redis.hget(fixture.ledger.keys(tenant).account, 'sessHold')) ?? '0');
}
