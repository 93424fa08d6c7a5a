import { minorToDecimal } from '../../../credits/money';
import type { BlockReason, BurstGuard, ConcurrentCalls, UserBlock } from '../../../credits/user-limits';
import { MAX_BURST_WINDOW_MINUTES } from '../../../credits/user-limits';
import type { MinorUnits } from '../../../credits/wallet';
import type { UserLimitRow } from '../../user-limits';
import { formatAmount, formatTime } from '../format';
import type { PageFrame } from './layout';
import { CallCapsSection } from './call-caps';
import { Csrf, Layout, Notice, tenantPath } from './layout';

export interface UserLimitsProps {
  frame: PageFrame;
  tenantId: string;
  currency: string;
  /** The month the spend counts in (yyyy-mm, UTC). */
  month: string;
  defaultLimit?: MinorUnits;
  rows: UserLimitRow[];
  offset: number;
  pageSize: number;
  postpaid: boolean;
  /** The burst guard, when on. */
  burstGuard?: BurstGuard;
  /** The most calls in progress at once, when capped. */
  concurrentCalls?: ConcurrentCalls;
  /** The users the guard blocked, by user key. */
  blocked: (UserBlock & { user: string })[];
  result?: { kind: 'ok' | 'error'; message: string };
  /** What was posted, shown again when it was refused; or the user a row's link picked. */
  posted?: Record<string, string>;
}

const FROM: Record<UserLimitRow['limitFrom'], string> = { user: 'own', default: 'default', none: 'none' };

/**
 * Per-user monthly spend limits: the default, each user's limit, spend and what is left, and
 * the forms that change them. Each part is a section of its own, so a further setting of the
 * same resource gets a section beside these.
 */
export function UserLimitsPage(props: UserLimitsProps) {
  const { frame, tenantId, result } = props;
  return (
    <Layout frame={frame}>
      <h1>{`${tenantId}: spend limits`}</h1>
      {result && <Notice kind={result.kind}>{result.message}</Notice>}
      <p class="hint">
        What each user may spend of the tenant's credits in a calendar month (UTC, by the call's start). Only
        credit-paid calls count; calls already connected are still charged.
        {props.postpaid && ' This tenant is billed after use, so no call of it counts against a limit.'}
      </p>
      <UsersSection {...props} />
      <DefaultSection {...props} />
      <UserSection {...props} />
      <BurstGuardSection {...props} />
      <CallCapsSection
        frame={props.frame}
        tenantId={tenantId}
        {...(props.concurrentCalls ? { caps: props.concurrentCalls } : {})}
        {...(props.posted ? { posted: props.posted } : {})}
      />
      <BlockedSection {...props} />
    </Layout>
  );
}

function UsersSection({ tenantId, currency, month, defaultLimit, rows, offset, pageSize }: UserLimitsProps) {
  const page = rows.slice(offset, offset + pageSize);
  const base = tenantPath(tenantId, '/user-limits');
  return (
    <section aria-labelledby="users-h">
      <h2 id="users-h">{`Users in ${month}`}</h2>
      <dl class="facts">
        <dt>Default limit</dt>
        <dd data-testid="default-limit">
          {defaultLimit === undefined ? 'none' : formatAmount(defaultLimit, currency)}
        </dd>
      </dl>
      <div class="table-wrap" tabIndex={0} role="region" aria-labelledby="users-h">
        <table aria-labelledby="users-h" data-testid="user-limits">
          <thead>
            <tr>
              <th scope="col">User</th>
              <th scope="col" class="num">
                Limit
              </th>
              <th scope="col">Limit from</th>
              <th scope="col" class="num">
                Spent
              </th>
              <th scope="col" class="num">
                Left
              </th>
              <th scope="col">Reached</th>
              <th scope="col">
                <span class="visually-hidden">Change</span>
              </th>
            </tr>
          </thead>
          <tbody>
            {page.length === 0 && (
              <tr>
                <td colSpan={7}>No user has a limit of their own or a credit-paid spend this month.</td>
              </tr>
            )}
            {page.map((row) => (
              <tr key={row.user} data-user={row.user}>
                <th scope="row">{row.user}</th>
                <td class="num">{row.limit === undefined ? 'none' : formatAmount(row.limit, currency)}</td>
                <td>{FROM[row.limitFrom]}</td>
                <td class="num">{formatAmount(row.spent, currency)}</td>
                <td class="num">{row.left === undefined ? '–' : formatAmount(row.left, currency)}</td>
                <td>{row.reached ? <span class="status-bad">reached</span> : 'no'}</td>
                <td>
                  <a href={`${base}?user=${encodeURIComponent(row.user)}#user-h`}>
                    Change<span class="visually-hidden">{` the limit of ${row.user}`}</span>
                  </a>
                </td>
              </tr>
            ))}
          </tbody>
        </table>
      </div>
      <nav class="pager" aria-label="Pages">
        {offset > 0 && (
          <a href={`${base}?offset=${Math.max(0, offset - pageSize)}`} rel="prev">
            Previous page
          </a>
        )}
        <span>
          {rows.length === 0
            ? 'no users'
            : `users ${offset + 1}–${Math.min(rows.length, offset + pageSize)} of ${rows.length}`}
        </span>
        {offset + pageSize < rows.length && (
          <a href={`${base}?offset=${offset + pageSize}`} rel="next">
            Next page
          </a>
        )}
      </nav>
    </section>
  );
}

function DefaultSection({ frame, tenantId, currency, defaultLimit, posted }: UserLimitsProps) {
  const stored = defaultLimit === undefined ? '' : minorToDecimal(defaultLimit.toString(), currency);
  return (
    <section aria-labelledby="default-h">
      <h2 id="default-h">Default limit</h2>
      <form
        class="stack"
        method="post"
        action={tenantPath(tenantId, '/user-limits/default')}
        aria-labelledby="default-h"
      >
        <Csrf token={frame.csrf} />
        <label>
          {`Default monthly limit (${currency})`}
          <input
            name="default"
            inputMode="decimal"
            value={posted?.default ?? stored}
            aria-describedby="default-hint"
          />
        </label>
        <p class="hint" id="default-hint">
          For every user without a limit of their own.
        </p>
        <div class="buttons">
          <button type="submit" name="action" value="save">
            Save default
          </button>
          <button type="submit" name="action" value="remove" class="secondary">
            Remove default
          </button>
        </div>
      </form>
    </section>
  );
}

function UserSection({ frame, tenantId, currency, posted }: UserLimitsProps) {
  const kind = posted?.kind ?? 'limit';
  return (
    <section aria-labelledby="user-h">
      <h2 id="user-h">A user's limit</h2>
      <form
        class="stack"
        method="post"
        action={tenantPath(tenantId, '/user-limits/user')}
        aria-labelledby="user-h"
      >
        <Csrf token={frame.csrf} />
        <label>
          User
          <input
            name="user"
            required
            value={posted?.user ?? ''}
            autoComplete="off"
            aria-describedby="user-hint"
          />
        </label>
        <p class="hint" id="user-hint">
          The usage records' userId, else their userPrincipalName.
        </p>
        <fieldset>
          <legend>Limit</legend>
          <label class="check">
            <input type="radio" name="kind" value="limit" checked={kind === 'limit'} />
            The amount below
          </label>
          <label class="check">
            <input type="radio" name="kind" value="none" checked={kind === 'none'} />
            No limit, whatever the default
          </label>
          <label class="check">
            <input type="radio" name="kind" value="default" checked={kind === 'default'} />
            The default (remove the user's own limit)
          </label>
        </fieldset>
        <label>
          {`User's monthly limit (${currency})`}
          <input name="limit" inputMode="decimal" value={posted?.limit ?? ''} />
        </label>
        <button type="submit">Save user's limit</button>
      </form>
    </section>
  );
}

const WHY: Record<BlockReason, string> = { international_calls: 'international calls', spend: 'spend' };

function BurstGuardSection({
  frame,
  tenantId,
  currency,
  burstGuard: guard,
  posted,
  postpaid,
}: UserLimitsProps) {
  const field = (name: keyof BurstGuard) => `burstGuard/${name}`;
  const value = (name: keyof BurstGuard, stored: string) => posted?.[field(name)] ?? stored;
  return (
    <section aria-labelledby="burst-h">
      <h2 id="burst-h">Burst guard</h2>
      <p class="hint">
        Against toll fraud: a user whose credit-paid calls started within the window hold more international
        calls or more spend than allowed is blocked, and their credit-paid calls refused, until an admin
        clears the block below.
        {postpaid && ' This tenant is billed after use, so no call of it is counted.'}
      </p>
      <dl class="facts" data-testid="burst-guard">
        <dt>Guard</dt>
        <dd>{guard ? 'on' : 'off'}</dd>
        {guard && (
          <>
            <dt>Window</dt>
            <dd>{`${guard.windowMinutes} minutes`}</dd>
            <dt>Max international calls</dt>
            <dd>
              {guard.maxInternationalCalls === undefined
                ? 'not checked'
                : String(guard.maxInternationalCalls)}
            </dd>
            <dt>Max spend</dt>
            <dd>{guard.maxSpend === undefined ? 'not checked' : formatAmount(guard.maxSpend, currency)}</dd>
          </>
        )}
      </dl>
      <form
        class="stack"
        method="post"
        action={tenantPath(tenantId, '/user-limits/burst-guard')}
        aria-labelledby="burst-h"
      >
        <Csrf token={frame.csrf} />
        <label>
          Window (minutes)
          <input
            name={field('windowMinutes')}
            inputMode="numeric"
            value={value('windowMinutes', guard ? String(guard.windowMinutes) : '60')}
            aria-describedby="burst-window-hint"
          />
        </label>
        <p class="hint" id="burst-window-hint">
          {`From 1 to ${MAX_BURST_WINDOW_MINUTES}, by the calls' start.`}
        </p>
        <label>
          Max international calls (optional)
          <input
            name={field('maxInternationalCalls')}
            inputMode="numeric"
            value={value('maxInternationalCalls', guard?.maxInternationalCalls?.toString() ?? '')}
          />
        </label>
        <label>
          {`Max spend (${currency}, optional)`}
          <input
            name={field('maxSpend')}
            inputMode="decimal"
            value={value(
              'maxSpend',
              guard?.maxSpend === undefined ? '' : minorToDecimal(guard.maxSpend.toString(), currency),
            )}
            aria-describedby="burst-max-hint"
          />
        </label>
        <p class="hint" id="burst-max-hint">
          More than either blocks the user; a threshold left empty is not checked, and with neither the guard
          is off.
        </p>
        <div class="buttons">
          <button type="submit" name="action" value="save">
            Save burst guard
          </button>
          <button type="submit" name="action" value="off" class="secondary">
            Turn guard off
          </button>
        </div>
      </form>
    </section>
  );
}

function BlockedSection({ frame, tenantId, blocked }: UserLimitsProps) {
  const action = tenantPath(tenantId, '/user-limits/clear-block');
  return (
    <section aria-labelledby="blocked-h">
      <h2 id="blocked-h">Blocked users</h2>
      <div class="table-wrap" tabIndex={0} role="region" aria-labelledby="blocked-h">
        <table aria-labelledby="blocked-h" data-testid="blocked-users">
          <thead>
            <tr>
              <th scope="col">User</th>
              <th scope="col">Blocked since</th>
              <th scope="col">Why</th>
              <th scope="col">
                <span class="visually-hidden">Clear</span>
              </th>
            </tr>
          </thead>
          <tbody>
            {blocked.length === 0 && (
              <tr>
                <td colSpan={4}>No user is blocked.</td>
              </tr>
            )}
            {blocked.map((block) => (
              <tr key={block.user} data-user={block.user}>
                <th scope="row">{block.user}</th>
                <td>{formatTime(block.at)}</td>
                <td>{WHY[block.reason]}</td>
                <td>
                  <form method="post" action={action}>
                    <Csrf token={frame.csrf} />
                    <input type="hidden" name="user" value={block.user} />
                    <button type="submit" class="secondary">
                      Clear block<span class="visually-hidden">{` of ${block.user}`}</span>
                    </button>
                  </form>
                </td>
              </tr>
            ))}
          </tbody>
        </table>
      </div>
    </section>
  );
}
