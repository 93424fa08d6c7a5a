import type { Command } from 'commander';
import { adminRequest, printAnswer, table } from './cli-requests';

/** Pages of the sessions list read at most (bounds a listing: 20 x 500 entries scanned). */
const MAX_SESSION_PAGES = 20;
const SESSION_PAGE = 500;

/** A cap as the command line takes it: a whole number, or `none` (no cap, sent as null). */
function cap(flag: string, value: string): number | null {
  if (value === 'none') return null;
  if (!/^\d+$/.test(value)) throw new Error(`${flag} ${value}: expected a whole number or 'none'`);
  return Number(value);
}

/** `rater tenant call-caps` for people: the caps now in force. */
export function describeCaps(view: {
  tenantId: string;
  concurrentCalls: { perTenant: number | null; perUser: number | null } | null;
}): string[] {
  const shown = (n: number | null | undefined) => (n === null || n === undefined ? 'no cap' : String(n));
  return [
    `${view.tenantId}: calls in progress at most: tenant ${shown(view.concurrentCalls?.perTenant)}, each user ${shown(view.concurrentCalls?.perUser)}`,
  ];
}

interface LiveSession {
  usageId: string;
  reserved: string;
  currency: string;
  usedSeconds: number;
  grantedSeconds: number;
  startDateTime: string;
  validUntil: string;
  user?: string;
  calleeNumber?: string;
}

/** `rater tenant sessions` for people: the calls in progress, the oldest first. */
export function describeSessions(view: { tenantId: string; sessions: LiveSession[] }): string[] {
  if (view.sessions.length === 0) return [`${view.tenantId}: no call in progress`];
  const rows = [...view.sessions]
    .sort((a, b) => a.startDateTime.localeCompare(b.startDateTime) || a.usageId.localeCompare(b.usageId))
    .map((s) => [
      s.usageId,
      s.user ?? '-',
      s.calleeNumber ?? '-',
      s.startDateTime.slice(0, 19).replace('T', ' '),
      String(s.usedSeconds),
      String(s.grantedSeconds),
      `${s.reserved} ${s.currency}`,
    ]);
  return [
    `${view.tenantId}: ${view.sessions.length} call${view.sessions.length === 1 ? '' : 's'} in progress`,
    ...table(['USAGE ID', 'USER', 'CALLEE', 'STARTED (UTC)', 'USED S', 'GRANTED S', 'HELD'], rows),
  ];
}

/**
 * `rater tenant call-caps` and `rater tenant sessions`: the caps on calls in progress, and the
 * calls in progress (call sessions), through the admin API.
 */
export function addCallCommands(tenant: Command): void {
  tenant
    .command('call-caps <tenantId>')
    .description(
      "cap the tenant's credit-paid calls in progress (call sessions): a start past a cap is refused",
    )
    .requiredOption('--per-tenant <n>', "the tenant's live calls at most ('none': no cap)")
    .requiredOption('--per-user <n>', "each user's live calls at most ('none': no cap)")
    .action(async (id: string, o: { perTenant: string; perUser: string }) => {
      // Both are given: the API sets the caps as a whole (one absent is no cap).
      const perTenant = cap('--per-tenant', o.perTenant);
      const perUser = cap('--per-user', o.perUser);
      const caps =
        perTenant === null && perUser === null
          ? null
          : { ...(perTenant !== null ? { perTenant } : {}), ...(perUser !== null ? { perUser } : {}) };
      printAnswer(
        tenant,
        await adminRequest(tenant, 'PUT', `/v1/tenants/${encodeURIComponent(id)}/user-limits`, {
          concurrentCalls: caps,
        }),
        describeCaps,
      );
    });

  tenant
    .command('sessions <tenantId>')
    .description('the calls in progress (live call sessions): user, callee, seconds granted, money held')
    .action(async (id: string) => {
      const sessions: LiveSession[] = [];
      let cursor = '0';
      for (let page = 0; page < MAX_SESSION_PAGES; page++) {
        const answer = await adminRequest(
          tenant,
          'GET',
          `/v1/tenants/${encodeURIComponent(id)}/sessions?cursor=${encodeURIComponent(cursor)}&limit=${SESSION_PAGE}`,
        );
        if (!answer.ok) return;
        const body = answer.body as { sessions: LiveSession[]; cursor: string };
        sessions.push(...body.sessions);
        cursor = body.cursor;
        if (cursor === '0') break;
      }
      printAnswer(tenant, { status: 200, ok: true, body: { tenantId: id, sessions } }, describeSessions);
    });
}
