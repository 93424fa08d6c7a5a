import { createHash } from 'node:crypto';
import type { SessionState } from '../credits/call-session';
import { userKeyOf } from '../credits/user-limits';
import type { CallToAuthorize } from './authorize-call';
import type { SessionLedger, UsagePricer } from './ports';
import { emergencyGrant, priceGrant, type SessionReason } from './session-grant';

/**
 * Call sessions (CONTRACTS.md section 7): a switch asks before it connects a call and while
 * it runs; each answer grants seconds that the tenant's credit reserves. This use case prices
 * the grant from a snapshot of the ledger and proposes it; the ledger's script checks it
 * against the state it finds (no grant makes what the tenant's sessions hold exceed the
 * balance plus the overdraft, nor a user's spend plus holds pass the user's limit, nor a
 * pool's use plus holds pass its capacity) and refuses it when it no longer fits: then it is
 * priced again from a fresh snapshot, a bounded number of times.
 */

export interface SessionSettings {
  /** The seconds one grant gives (a chunk: the switch asks again before they run out). */
  grantSeconds: number;
  /** How long after its grant ends a session not renewed is expired. */
  graceSeconds: number;
}

export const DEFAULT_SESSION_SETTINGS: SessionSettings = { grantSeconds: 300, graceSeconds: 30 };

export type { SessionReason };

export interface SessionAnswer {
  usageId: string;
  allowed: boolean;
  reason: SessionReason;
  grantedSeconds: number;
  /** What the session holds in total after the request (minor units). */
  reserved: bigint;
  /** The tenant's currency; null for an unknown tenant. */
  currency: string | null;
  /**
   * When the session expires unless renewed: the end of its grant plus the grace; null when
   * nothing was granted at the start.
   */
  validUntil: Date | null;
}

export type CallToStart = CallToAuthorize & { usageId: string };

/** A request the session's state does not allow, or a session that does not exist. */
export type SessionProblem =
  { problem: 'conflict'; conflict: string } | { problem: 'unknown' } | { problem: 'unknown_tenant' };

/** Times a grant is priced again when the ledger finds it no longer fits. */
const MAX_ATTEMPTS = 4;

export interface SessionDeps {
  ledger: SessionLedger;
  pricer: UsagePricer;
  settings: SessionSettings;
  /** Told of every start and renewal answered (metrics subscribe). */
  onAnswer?: (request: 'start' | 'update', answer: SessionAnswer) => void;
}

/** The fingerprint of a start request: its fields in name order, hashed. */
export function fingerprintOf(body: Record<string, unknown>): string {
  const sorted = Object.keys(body)
    .sort()
    .map((key) => [key, body[key]]);
  return createHash('sha256').update(JSON.stringify(sorted)).digest('base64url').slice(0, 22);
}

/** The session's stored start: its answer and the call it priced. */
interface Started {
  answer: StoredAnswer;
  call: CallToAuthorize;
}
type StoredAnswer = Omit<SessionAnswer, 'reserved' | 'validUntil'> & {
  reserved: string;
  validUntil: number | null;
};

const store = (answer: SessionAnswer): StoredAnswer => ({
  ...answer,
  reserved: answer.reserved.toString(),
  validUntil: answer.validUntil?.getTime() ?? null,
});
const restore = (stored: StoredAnswer): SessionAnswer => ({
  ...stored,
  reserved: BigInt(stored.reserved),
  validUntil: stored.validUntil === null ? null : new Date(stored.validUntil),
});

export class CallSessions {
  constructor(private readonly deps: SessionDeps) {}

  /** POST /v1/sessions: a grant for a call about to connect, once per usage id. */
  async start(
    call: CallToStart,
    fingerprint: string,
    now = new Date(),
  ): Promise<SessionAnswer | SessionProblem> {
    const answer = await this.startSession(call, fingerprint, now);
    if (!('problem' in answer)) this.deps.onAnswer?.('start', answer);
    return answer;
  }

  private async updateSession(
    tenantId: string,
    usageId: string,
    usedSeconds: number,
    now = new Date(),
  ): Promise<SessionAnswer | SessionProblem> {
    const answer = await this.updateSession(tenantId, usageId, usedSeconds, now);
    if (!('problem' in answer)) this.deps.onAnswer?.('update', answer);
    return answer;
  }

  private snapshot(call: CallToAuthorize, usageId: string, now: Date) {
    const pool = this.deps.pricer.poolFor({ ...call, id: usageId, duration: 0 });
    const month = this.deps.pricer.periodOf({ ...call, id: usageId, duration: 0 });
    const query = { pool: pool?.pool ?? '', month, user: userKeyOf(call), usageId };
    return { query, read: () => this.deps.ledger.sessionSnapshot(call.tenantId, query, now) };
  }

  private async startSession(
    call: CallToStart,
    fingerprint: string,
    now = new Date(),
  ): Promise<SessionAnswer | SessionProblem> {
    const { usageId } = call;
    const { query, read } = this.snapshot(call, usageId, now);
    const chunk = this.deps.settings.grantSeconds;
    let currency: string | null = null;
    for (let attempt = 0; attempt < MAX_ATTEMPTS; attempt++) {
      const snapshot = await read();
      if ('refused' in snapshot) {
        if (call.callType !== 'emergency')
          return {
            usageId,
            allowed: false,
            reason: 'unknown_tenant',
            grantedSeconds: 0,
            reserved: 0n,
            currency: null,
            validUntil: null,
          };
        return {
          usageId,
          allowed: true,
          reason: 'emergency',
          grantedSeconds: chunk,
          reserved: 0n,
          currency: null,
          validUntil: null,
        };
      }
      currency = snapshot.currency;
      if (snapshot.session) return this.repeatedStart(snapshot.session, fingerprint);
      const grant =
        call.callType === 'emergency'
          ? emergencyGrant(chunk)
          : priceGrant(this.deps.pricer, call, snapshot, 0, { held: 0n, poolSeconds: 0 }, chunk);
      const refusal = (reason: SessionReason): SessionAnswer => ({
        usageId,
        allowed: false,
        reason,
        grantedSeconds: 0,
        reserved: 0n,
        currency: snapshot.currency,
        validUntil: null,
      });
      if (!grant.allowed) return refusal(grant.reason);
      const validUntil = new Date(now.getTime() + grant.grantedSeconds * 1000);
      const answer: SessionAnswer = {
        usageId,
        allowed: true,
        reason: grant.reason,
        grantedSeconds: grant.grantedSeconds,
        reserved: grant.amount,
        currency: snapshot.currency,
        validUntil: this.expiresAt(validUntil),
      };
      const started: Started = { answer: store(answer), call: pricedCall(call) };
      const written = await this.deps.ledger.startSession(
        call.tenantId,
        {
          usageId,
          fingerprint,
          creditPaid: grant.creditPaid,
          amount: grant.amount,
          poolSeconds: grant.poolSeconds,
          pool: query.pool,
          month: query.month,
          user: query.user,
          international: grant.international,
          callStart: new Date(call.startDateTime),
          validUntil,
          expiresAt: this.expiresAt(validUntil),
          usedCost: 0n,
          started: JSON.stringify(started),
        },
        now,
      );
      if ('refused' in written) return problemOf(written);
      if (written.status === 'done') return answer;
      if (written.status === 'repeat') return restore((JSON.parse(written.answer) as Started).answer);
      if (written.status === 'refused') return refusal(written.reason);
    }
    return {
      usageId,
      allowed: false,
      reason: 'balance_depleted',
      grantedSeconds: 0,
      reserved: 0n,
      currency,
      validUntil: null,
    };
  }

  private repeatedStart(session: SessionState, fingerprint: string): SessionAnswer | SessionProblem {
    if (session.fingerprint !== fingerprint) return { problem: 'conflict', conflict: 'usage_id_reused' };
    return restore((JSON.parse(session.started) as Started).answer);
  }

  private expiresAt(validUntil: Date): Date {
    return new Date(validUntil.getTime() + this.deps.settings.graceSeconds * 1000);
  }

  /** POST /v1/sessions/{usageId}/update: the seconds used so far, and the next grant. */
  async update(
    tenantId: string,
    usageId: string,
    usedSeconds: number,
    now = new Date(),
  ): Promise<SessionAnswer | SessionProblem> {
    let last: SessionAnswer | undefined;
    for (let attempt = 0; attempt < MAX_ATTEMPTS; attempt++) {
      const known = await this.deps.ledger.readSession(tenantId, usageId);
      if (!known) return { problem: 'unknown' };
      const { call, answer: first } = JSON.parse(known.started) as Started;
      const { query, read } = this.snapshot(call, usageId, now);
      const snapshot = await read();
      if ('refused' in snapshot) return { problem: 'unknown_tenant' };
      const session = snapshot.session;
      if (!session) return { problem: 'unknown' };
      const own = { held: session.held, poolSeconds: session.poolSeconds };
      const chunk = this.deps.settings.grantSeconds;
      const grant =
        first.reason === 'emergency'
          ? emergencyGrant(chunk)
          : priceGrant(this.deps.pricer, call, snapshot, usedSeconds, own, chunk);
      const validUntil = grant.allowed
        ? new Date(now.getTime() + grant.grantedSeconds * 1000)
        : session.validUntil;
      const answer: SessionAnswer = {
        usageId,
        allowed: grant.allowed,
        reason: grant.reason,
        grantedSeconds: grant.allowed ? grant.grantedSeconds : 0,
        reserved: grant.allowed ? grant.amount : session.held,
        currency: snapshot.currency,
        validUntil: this.expiresAt(validUntil),
      };
      const written = await this.deps.ledger.updateSession(
        tenantId,
        {
          usageId,
          month: query.month,
          usedSeconds,
          expected: own,
          amount: answer.reserved,
          poolSeconds: grant.allowed ? grant.poolSeconds : session.poolSeconds,
          validUntil,
          expiresAt: this.expiresAt(validUntil),
          usedCost: grant.usedCost,
          answer: JSON.stringify(store(answer)),
        },
        now,
      );
      if ('refused' in written) return problemOf(written);
      if (written.status === 'done') return answer;
      if (written.status === 'repeat') return restore(JSON.parse(written.answer) as StoredAnswer);
      last = {
        ...answer,
        allowed: false,
        reason: 'balance_depleted',
        grantedSeconds: 0,
        reserved: own.held,
        validUntil: this.expiresAt(session.validUntil),
      };
    }
    // Other calls kept taking the room priced: nothing more now (nothing written; the switch
    // may ask again before the current grant runs out).
    return last!;
  }

  /** POST /v1/sessions/{usageId}/end: what the used seconds cost stays held, the rest is released. */
  async end(
    tenantId: string,
    usageId: string,
    usedSeconds: number,
    now = new Date(),
  ): Promise<{ usageId: string; released: bigint; held: bigint; currency: string } | SessionProblem> {
    const known = await this.deps.ledger.readSession(tenantId, usageId);
    if (!known) return { problem: 'unknown' };
    const { call, answer: first } = JSON.parse(known.started) as Started;
    const { read } = this.snapshot(call, usageId, now);
    const snapshot = await read();
    if ('refused' in snapshot) return { problem: 'unknown_tenant' };
    const own = { held: snapshot.session?.held ?? 0n, poolSeconds: snapshot.session?.poolSeconds ?? 0 };
    const cost =
      first.reason === 'emergency'
        ? { usedCost: 0n, usedPoolSeconds: 0 }
        : priceGrant(this.deps.pricer, call, snapshot, usedSeconds, own, 0);
    const ended = await this.deps.ledger.endSession(
      tenantId,
      { usageId, usedSeconds, usedCost: cost.usedCost, usedPoolSeconds: cost.usedPoolSeconds },
      now,
    );
    if ('refused' in ended) return problemOf(ended);
    return { usageId, released: ended.released, held: ended.held, currency: snapshot.currency };
  }
}

/** The fields of the call that rating reads, kept to price its renewals. */
function pricedCall(call: CallToStart): CallToAuthorize {
  const { usageId: _usageId, ...rest } = call;
  return rest;
}

function problemOf(refusal: { refused: string; detail: string }): SessionProblem {
  if (refusal.refused === 'session_unknown') return { problem: 'unknown' };
  if (refusal.refused === 'no_account') return { problem: 'unknown_tenant' };
  return { problem: 'conflict', conflict: refusal.detail };
}
