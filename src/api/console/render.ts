import type { FastifyReply, FastifyRequest } from 'fastify';
import type { AccountView } from '../../credits/wallet';
import type { VNode } from 'preact';
import { render } from 'preact-render-to-string';
import type { ConsoleSession } from '../../settlement/admin-ports';
import type { PageFrame, TenantTab } from './pages/layout';

/** What a console handler knows of its request once signed in. */
export interface Visit {
  session: ConsoleSession;
  sessionId: string;
  csrf: string;
  frame: (title: string, tenant?: { tenantId: string; tab: TenantTab; postpaid?: boolean }) => PageFrame;
}

/**
 * Opens a tenant's page for the visitor: undefined when the answer was sent already (sign-in,
 * 403 for another tenant's pages, 404 for no such tenant).
 */
export type OpenTenant = (
  request: FastifyRequest,
  reply: FastifyReply,
) => Promise<{ tenantId: string; v: Visit; account: AccountView } | undefined>;

/** A page: rendered on the server, never cached (it shows money and who is signed in). */
export const html = (reply: FastifyReply, page: VNode, status = 200) =>
  reply
    .code(status)
    .header('cache-control', 'no-store')
    .type('text/html; charset=utf-8')
    .send(`<!doctype html>${render(page)}`);
