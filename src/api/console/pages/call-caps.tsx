import type { ConcurrentCalls } from '../../../credits/user-limits';
import { MAX_CONCURRENT_CALLS } from '../../../credits/user-limits';
import type { PageFrame } from './layout';
import { Csrf, tenantPath } from './layout';

/**
 * The most credit-paid calls in progress at once, for the tenant and for each of its users: a
 * call session over the cap is refused at its start (`concurrent_calls`). Beside the spend
 * limits, set by the same conversion as `PUT /v1/tenants/{id}/user-limits`.
 */
export function CallCapsSection({
  frame,
  tenantId,
  caps,
  posted,
}: {
  frame: PageFrame;
  tenantId: string;
  caps?: ConcurrentCalls;
  posted?: Record<string, string>;
}) {
  const field = (name: keyof ConcurrentCalls) => `concurrentCalls/${name}`;
  const value = (name: keyof ConcurrentCalls) => posted?.[field(name)] ?? caps?.[name]?.toString() ?? '';
  const shown = (cap?: number) => (cap === undefined ? 'no cap' : String(cap));
  return (
    <section aria-labelledby="caps-h">
      <h2 id="caps-h">Calls at once</h2>
      <p class="hint">
        The most credit-paid calls in progress at the same time (call sessions, asked by the switch when a
        call starts): one more is refused until a call ends.
      </p>
      <dl class="facts" data-testid="call-caps">
        <dt>For the tenant</dt>
        <dd>{shown(caps?.perTenant)}</dd>
        <dt>For each user</dt>
        <dd>{shown(caps?.perUser)}</dd>
      </dl>
      <form
        class="stack"
        method="post"
        action={tenantPath(tenantId, '/user-limits/call-caps')}
        aria-labelledby="caps-h"
      >
        <Csrf token={frame.csrf} />
        <label>
          For the tenant (empty: no cap)
          <input name={field('perTenant')} inputMode="numeric" value={value('perTenant')} />
        </label>
        <label>
          For each user (empty: no cap)
          <input name={field('perUser')} inputMode="numeric" value={value('perUser')} />
        </label>
        <p class="hint">{`From 1 to ${MAX_CONCURRENT_CALLS}.`}</p>
        <button type="submit">Save the caps</button>
      </form>
    </section>
  );
}
