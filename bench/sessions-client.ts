/**
 * The load of `npm run bench:sessions`, in a process of its own (forked by bench/sessions.ts, so
 * it does not share the service's event loop): call sessions offered at a fixed rate, open loop
 * (a call is started when its time comes, whether or not earlier ones were answered), each one
 * started, renewed once and ended, over keep-alive HTTP connections. Each request's latency is
 * measured at the client, by kind, from when it is sent to when its answer has been read.
 */
import { Agent, request } from 'node:http';

export interface ClientPlan {
  url: string;
  token: string;
  tenants: string[];
  /** Calls (sessions) started per second. */
  rate: number;
  seconds: number;
  /** How long a call lasts: the update halfway, the end at the end (ms). */
  holdMs: number;
  connections: number;
  /** Calls in flight at most (bounds the client's memory when the service falls behind). */
  maxInFlight: number;
  /** Usage ids are `<run>-<n>`: unique across the warm-up and the measured run. */
  run: string;
}

export interface ClientResult {
  offered: number;
  /** Calls whose time came while maxInFlight were in flight: not offered. */
  skipped: number;
  completed: number;
  failed: number;
  /** Answers other than 200 allowed (a refusal, or a non-2xx), by kind and reason or status. */
  refusals: Record<string, number>;
  elapsedSeconds: number;
  latenciesMs: { start: number[]; update: number[]; end: number[] };
}

const TICK_MS = 2;
const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

/** A POST with the token, its latency recorded under its kind; the answer's status and JSON. */
function poster(plan: ClientPlan, agent: Agent, result: ClientResult) {
  const target = new URL(plan.url);
  return (kind: 'start' | 'update' | 'end', path: string, body: unknown) =>
    new Promise<{ status: number; body: Record<string, unknown> }>((resolve, reject) => {
      const payload = JSON.stringify(body);
      const sent = process.hrtime.bigint();
      const req = request(
        {
          agent,
          host: target.hostname,
          port: target.port,
          method: 'POST',
          path,
          headers: {
            'content-type': 'application/json',
            'content-length': Buffer.byteLength(payload),
            authorization: `Bearer ${plan.token}`,
          },
        },
        (res) => {
          const chunks: Buffer[] = [];
          res.on('data', (chunk: Buffer) => chunks.push(chunk));
          res.on('end', () => {
            result.latenciesMs[kind].push(Number(process.hrtime.bigint() - sent) / 1e6);
            const text = Buffer.concat(chunks).toString('utf8');
            resolve({
              status: res.statusCode ?? 0,
              body: text ? (JSON.parse(text) as Record<string, unknown>) : {},
            });
          });
        },
      );
      req.on('error', reject);
      req.end(payload);
    });
}

export async function offerCalls(plan: ClientPlan): Promise<ClientResult> {
  const agent = new Agent({ keepAlive: true, maxSockets: plan.connections });
  const result: ClientResult = {
    offered: 0,
    skipped: 0,
    completed: 0,
    failed: 0,
    refusals: {},
    elapsedSeconds: 0,
    latenciesMs: { start: [], update: [], end: [] },
  };
  const refuse = (what: string) => (result.refusals[what] = (result.refusals[what] ?? 0) + 1);

  const post = poster(plan, agent, result);

  let inFlight = 0;
  const oneCall = async (n: number) => {
    const tenantId = plan.tenants[n % plan.tenants.length]!;
    const usageId = `${plan.run}-${n}`;
    const path = `/v1/sessions/${encodeURIComponent(usageId)}`;
    try {
      const started = await post('start', '/v1/sessions', {
        usageId,
        tenantId,
        callType: 'user_out',
        calleeNumber: '+442071234567',
        licenseCapability: 'MCOPSTNPP',
        usageCountryCode: 'US',
        userId: `user-${n % 97}`,
      });
      if (started.status !== 200 || started.body.allowed !== true) {
        refuse(`start ${started.status} ${String(started.body.reason ?? started.body.error ?? '')}`);
        return;
      }
      await sleep(plan.holdMs / 2);
      const renewed = await post('update', `${path}/update`, { tenantId, usedSeconds: 30 });
      if (renewed.status !== 200) refuse(`update ${renewed.status} ${String(renewed.body.error ?? '')}`);
      await sleep(plan.holdMs / 2);
      const ended = await post('end', `${path}/end`, { tenantId, usedSeconds: 60 });
      if (ended.status !== 200) refuse(`end ${ended.status} ${String(ended.body.error ?? '')}`);
      else result.completed++;
    } catch {
      result.failed++;
    } finally {
      inFlight--;
    }
  };

  const calls: Promise<void>[] = [];
  const began = process.hrtime.bigint();
  const total = Math.round(plan.rate * plan.seconds);
  let due = 0;
  while (due < total) {
    const elapsed = Number(process.hrtime.bigint() - began) / 1e9;
    const now = Math.min(total, Math.floor(elapsed * plan.rate));
    for (; due < now; due++) {
      if (inFlight >= plan.maxInFlight) {
        result.skipped++;
        continue;
      }
      inFlight++;
      result.offered++;
      calls.push(oneCall(due));
    }
    await sleep(TICK_MS);
  }
  await Promise.all(calls);
  result.elapsedSeconds = Number(process.hrtime.bigint() - began) / 1e9;
  agent.destroy();
  return result;
}

// Forked by bench/sessions.ts: one plan in, one result out.
if (process.send) {
  process.once('message', (plan: ClientPlan) => {
    offerCalls(plan).then(
      (result) => process.send!({ result }, () => process.exit(0)),
      (error: unknown) => process.send!({ error: String(error) }, () => process.exit(1)),
    );
  });
}
