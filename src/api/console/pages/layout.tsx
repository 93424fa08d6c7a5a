import type { ComponentChildren } from 'preact';
import type { ConsoleSession } from '../../../settlement/admin-ports';

export type TenantTab = 'overview' | 'funds' | 'auto-recharge' | 'user-limits' | 'usage' | 'statements';

const TENANT_TABS: { tab: TenantTab; label: string; path: string }[] = [
  { tab: 'overview', label: 'Overview', path: '' },
  { tab: 'funds', label: 'Funds', path: '/funds' },
  { tab: 'auto-recharge', label: 'Auto-recharge & payment', path: '/auto-recharge' },
  { tab: 'user-limits', label: 'Spend limits', path: '/user-limits' },
  { tab: 'usage', label: 'Usage report', path: '/usage' },
  { tab: 'statements', label: 'Statements', path: '/statements' },
];

export const tenantPath = (tenantId: string, path = '') =>
  `/console/t/${encodeURIComponent(tenantId)}${path}`;

export interface PageFrame {
  title: string;
  session?: ConsoleSession;
  /** The tenant whose pages these are, and which of them is open. */
  tenant?: { tenantId: string; tab: TenantTab; postpaid?: boolean };
  operatorTab?: 'tenants';
  csrf?: string;
  /** Sends the browser on to this address at once (the payment provider's hosted page). */
  refreshTo?: string;
}

/** Every page's frame: skip link, header with navigation and sign-out, one main landmark. */
export function Layout({ frame, children }: { frame: PageFrame; children: ComponentChildren }) {
  const { session, tenant } = frame;
  return (
    <html lang="en">
      <head>
        <meta charset="utf-8" />
        <meta name="viewport" content="width=device-width, initial-scale=1" />
        <title>{`${frame.title} · Communications credits`}</title>
        <link rel="stylesheet" href="/console/assets/console.css" />
        {frame.refreshTo && <meta http-equiv="refresh" content={`0;url=${frame.refreshTo}`} />}
      </head>
      <body>
        <a class="skip" href="#main">
          Skip to content
        </a>
        <header class="top">
          <a class="brand" href="/console">
            Communications credits
          </a>
          {session && (
            <nav class="tabs" aria-label="Sections">
              <ul>
                {session.kind === 'operator' && (
                  <li>
                    <a href="/console/operator" aria-current={frame.operatorTab ? 'page' : undefined}>
                      Tenants
                    </a>
                  </li>
                )}
                {tenant &&
                  TENANT_TABS.map(({ tab, label, path }) => (
                    <li key={tab}>
                      <a
                        href={tenantPath(tenant.tenantId, path)}
                        aria-current={tenant.tab === tab ? 'page' : undefined}
                      >
                        {label}
                      </a>
                    </li>
                  ))}
              </ul>
            </nav>
          )}
          {session && (
            <form method="post" action="/console/sign-out">
              <span class="who">
                {session.kind === 'operator' ? 'Operator' : `Admin of ${session.tenantId}`}
              </span>{' '}
              <input type="hidden" name="_csrf" value={frame.csrf} />
              <button class="link" type="submit">
                Sign out
              </button>
            </form>
          )}
        </header>
        <main id="main">{children}</main>
      </body>
    </html>
  );
}

/** A notice above a page's content: the result of a form, or why something was refused. */
export function Notice({ kind, children }: { kind: 'ok' | 'error' | 'info'; children: ComponentChildren }) {
  return (
    <div class={`notice ${kind === 'info' ? '' : kind}`} role={kind === 'error' ? 'alert' : 'status'}>
      {children}
    </div>
  );
}

/** A hidden CSRF field: every form that changes something carries one. */
export const Csrf = ({ token }: { token: string | undefined }) => (
  <input type="hidden" name="_csrf" value={token} />
);
