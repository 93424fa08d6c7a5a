/**
 * Two scenes of the demo beyond the day's traffic: a user stopped by their monthly spend limit,
 * and a dry-run re-rating against a corrected rate deck.
 */
import { execFile } from 'node:child_process';
import { cpSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { parseDocument } from 'yaml';
import { projectRoot } from '../stack/toolchain';

/** The user the limit stops, and what that user is allowed a month. */
export const LIMITED_USER = 'eve@contoso.example';
export const LIMIT = '1.00';
export const DEFAULT_LIMIT = '25.00';

/** contoso's admin sets a default limit for every user and a low one for one user. */
export async function setUserLimits(url: string, key: string): Promise<void> {
  const response = await fetch(`${url}/v1/tenants/contoso/user-limits`, {
    method: 'PUT',
    headers: { authorization: `Bearer ${key}`, 'content-type': 'application/json' },
    body: JSON.stringify({ default: DEFAULT_LIMIT, users: { [LIMITED_USER]: LIMIT } }),
  });
  if (response.status !== 200) throw new Error(`user-limits: ${response.status} ${await response.text()}`);
}

/** The user the burst guard stops: a stolen account dialling Nigerian mobiles. */
export const BURST_USER = 'mallory@contoso.example';
/** contoso's guard: more than 5 international credit-paid calls within 60 minutes blocks a user. */
export const BURST_GUARD = { windowMinutes: 60, maxInternationalCalls: 5, maxSpend: '20.00' };

/**
 * `count` credit-paid calls of `user` to `callee` (a UK or Nigerian mobile), one after the
 * other, earlier this month: in the last hour, or as early in the month as there is room for,
 * at most `seconds` long each.
 */
function callsOf(user: string, tag: string, callee: string, count: number, seconds: number, now: Date) {
  const monthStart = Date.UTC(now.getUTCFullYear(), now.getUTCMonth(), 1);
  const room = Math.floor((now.getTime() - monthStart) / 1000) - 5;
  const duration = Math.max(1, Math.min(seconds, Math.floor(room / (count + 1))));
  const first = Math.max(monthStart / 1000 + 1, Math.floor(now.getTime() / 1000) - 3600);
  return Array.from({ length: count }, (_, i) => {
    const start = new Date((first + i * (duration + 1)) * 1000);
    return {
      key: 'contoso',
      json: JSON.stringify({
        id: `demo-contoso-${tag}-${i + 1}`,
        tenantId: 'contoso',
        callType: 'user_out',
        startDateTime: start.toISOString(),
        endDateTime: new Date(start.getTime() + duration * 1000).toISOString(),
        duration,
        calleeNumber: `${callee}${i}`,
        callerNumber: '+12065550199',
        numberType: 'subscriber',
        licenseCapability: 'MCOPSTNPP',
        usageCountryCode: 'US',
        tenantCountryCode: 'US',
        userPrincipalName: user,
        callId: `call-${tag}-${i + 1}`,
      }),
    };
  });
}

/**
 * Three calls of 4 minutes to a UK mobile that the limited user made this month: 0.45 USD
 * each, 1.35 in all, over a 1.00 limit. The last call is rated and charged all the same: it
 * happened.
 */
export const limitedUserCalls = (now: Date) => callsOf(LIMITED_USER, 'eve', '+44791112345', 3, 240, now);

/** Seven 2-minute calls to Nigerian mobiles within the hour: the sixth trips the burst guard. */
export const burstCalls = (now: Date) => callsOf(BURST_USER, 'mallory', '+23480312345', 7, 120, now);

/** contoso's admin turns the burst guard on. */
export async function setBurstGuard(url: string, key: string): Promise<void> {
  const response = await fetch(`${url}/v1/tenants/contoso/user-limits`, {
    method: 'PUT',
    headers: { authorization: `Bearer ${key}`, 'content-type': 'application/json' },
    body: JSON.stringify({ burstGuard: BURST_GUARD }),
  });
  if (response.status !== 200) throw new Error(`burst guard: ${response.status} ${await response.text()}`);
}

/** contoso's admin clears a user's block, after looking into it. */
export async function clearBlock(url: string, key: string, user: string): Promise<number> {
  const response = await fetch(`${url}/v1/tenants/contoso/user-blocks/${encodeURIComponent(user)}`, {
    method: 'DELETE',
    headers: { authorization: `Bearer ${key}` },
  });
  return response.status;
}

/** The user-limits view of contoso, as its admin reads it. */
export async function printUserLimits(url: string, key: string): Promise<void> {
  const response = await fetch(`${url}/v1/tenants/contoso/user-limits`, {
    headers: { authorization: `Bearer ${key}` },
  });
  const view = (await response.json()) as {
    month: string;
    default: { amount: string } | null;
    users: {
      user: string;
      limit: { amount: string } | null;
      limitFrom: string;
      spent: { amount: string };
      reached: boolean;
    }[];
    blocked: { user: string; at: string; reason: string }[];
  };
  const top = [...view.users]
    .sort((a, b) => Number(b.user === LIMITED_USER) - Number(a.user === LIMITED_USER))
    .slice(0, 4);
  console.log(
    `\n== contoso's per-user spend limits for ${view.month} (default ${view.default?.amount ?? 'none'} USD a user)`,
  );
  for (const u of top)
    console.log(
      `  ${u.user.padEnd(26)} spent ${u.spent.amount.padStart(6)} of ${(u.limit?.amount ?? 'no limit').padStart(6)} (${u.limitFrom})${u.reached ? '  limit reached' : ''}`,
    );
  if (view.users.length > top.length) console.log(`  ... and ${view.users.length - top.length} more users`);
  for (const b of view.blocked)
    console.log(
      `  ${b.user.padEnd(26)} BLOCKED by the burst guard since ${b.at} (${b.reason.replace('_', ' ')})`,
    );
}

/**
 * The operator finds that yesterday's UK mobile rate in outbound-usd was too high: a corrected
 * version of the deck, in force from the start of yesterday, in a copy of the rate files; then
 * `rater rerate --dry-run` over yesterday tells per tenant what re-rating would change, and
 * changes nothing.
 */
export async function dryRunRerate(env: Record<string, string | undefined>, yesterday: Date): Promise<void> {
  const dir = mkdtempSync(join(tmpdir(), 'rater-demo-rates-'));
  try {
    cpSync(join(projectRoot, 'rates'), dir, { recursive: true });
    const from = yesterday.toISOString();
    const to = new Date(yesterday.getTime() + 24 * 3600 * 1000).toISOString();
    const decks = parseDocument(readFileSync(join(dir, 'decks.yaml'), 'utf8'));
    const deck = (decks.toJS() as { decks: { id: string }[] }).decks.findIndex(
      (d) => d.id === 'outbound-usd',
    );
    const versions = decks.getIn(['decks', deck, 'versions']) as { items: unknown[] };
    const last = versions.items.length - 1;
    const current = decks.getIn(['decks', deck, 'versions', last, 'file']) as string;
    decks.setIn(['decks', deck, 'versions', last, 'effectiveTo'], from);
    decks.addIn(['decks', deck, 'versions'], {
      version: `corrected-${from.slice(0, 10)}`,
      effectiveFrom: from,
      file: 'decks/outbound-usd-corrected.csv',
    });
    writeFileSync(join(dir, 'decks.yaml'), decks.toString());
    const csv = readFileSync(join(dir, current), 'utf8').replace(
      /^\+447,"United Kingdom mobile",mobile,[\d.]+$/m,
      '+447,"United Kingdom mobile",mobile,0.0816',
    );
    writeFileSync(join(dir, 'decks/outbound-usd-corrected.csv'), csv);
    const args = ['rerate', '--from', from, '--to', to, '--dry-run'];
    console.log(
      `\n== A corrected outbound-usd deck (UK mobile 0.0816 USD a minute instead of 0.1116) from ${from}; the operator asks first:`,
    );
    console.log(`   rater ${args.join(' ')}`);
    const { stdout } = await promisify(execFile)(
      process.execPath,
      ['--import', 'tsx', join(projectRoot, 'src', 'cli.ts'), ...args],
      { env: { ...process.env, ...env, RATES_DIR: dir, LOG_LEVEL: 'error' }, cwd: projectRoot },
    );
    for (const line of stdout.trimEnd().split('\n')) console.log(`   ${line}`);
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}
