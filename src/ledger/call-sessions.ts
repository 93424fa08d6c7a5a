import type { Cluster, Redis } from 'ioredis';
import type {
  SessionSnapshot,
  SessionStart,
  SessionState,
  SessionUpdate,
  SessionWrite,
} from '../credits/call-session';
import type { AdminSessions, LiveSession } from '../settlement/admin-ports';
import type { IndexShards } from './index-shards';
import { indexKeys, tenantKeys } from './keys';
import { guarded, Refusal, ResultCode } from './result-codes';
import { registerScripts, runScript } from './script-loader';

/** Sessions looked at per script call by the sweeper (bounds a script's run time). */
export const SESSIONS_PER_SWEEP_CALL = 200;

export interface SessionStoreOptions {
  prefix?: string;
  /** How long a session that ended or expired waits for its CDR before it is dropped (ms). */
  retentionMs: number;
}

/** The session's JSON as the scripts keep it (includes/sessions.lua). */
interface StoredSession {
  st: SessionState['status'];
  r: string;
  p: number;
  paid: number;
  u: string;
  f: string;
  used: number;
  vu: number;
  sa: string;
  la?: string;
  lu?: number;
}

export function parseSession(json: string): SessionState {
  return fromStored(JSON.parse(json) as StoredSession);
}

function fromStored(s: StoredSession): SessionState {
  return {
    status: s.st,
    held: BigInt(s.r),
    poolSeconds: Number(s.p),
    creditPaid: Number(s.paid) === 1,
    user: s.u,
    fingerprint: s.f,
    usedSeconds: Number(s.used),
    validUntil: new Date(Number(s.vu)),
    started: s.sa,
  };
}

/**
 * Call sessions in Redis (src/ledger/commands/*Session*.lua): each request one script in the
 * tenant's slot, that checks the grant the use case priced against the state it finds.
 */
export class SessionStore implements AdminSessions {
  private readonly prefix: string;

  constructor(
    private readonly redis: Redis | Cluster,
    private readonly shards: IndexShards,
    private readonly options: SessionStoreOptions,
  ) {
    this.prefix = options.prefix ?? '';
    registerScripts(redis);
  }

  private keys(tenantId: string) {
    return tenantKeys(tenantId, this.prefix);
  }

  private index(tenantId: string) {
    return indexKeys(this.shards.tag(this.shards.shardOf(tenantId)), this.prefix);
  }

  /** The keys of the scripts that end and expire sessions. */
  private scheduleKeys(tenantId: string): string[] {
    const k = this.keys(tenantId);
    const ix = this.index(tenantId);
    return [k.account, k.pools, k.sessions, k.sessionsByExpiry, ix.sessions, ix.gauges];
  }

  async readSession(tenantId: string, usageId: string): Promise<SessionState | undefined> {
    const raw = await guarded('readSession', () =>
      this.redis.hget(this.keys(tenantId).sessions, `s:${usageId}`),
    );
    return raw ? parseSession(raw) : undefined;
  }

  async sessionSnapshot(
    tenantId: string,
    query: { pool: string; month: string; user: string; usageId: string },
    at: Date,
  ): Promise<SessionSnapshot | Refusal> {
    const k = this.keys(tenantId);
    const result = await runScript(
      this.redis,
      'sessionSnapshot',
      [k.account, k.lots, k.lotExpiry, k.pools, k.userLimits, k.userSpend, k.sessions],
      [at.getTime(), query.pool, query.month, query.user, query.usageId],
    );
    if ('refused' in result) return result;
    const r = result.reply.map(String);
    return {
      mode: r[1] as 'prepaid' | 'postpaid',
      currency: r[2]!,
      balance: BigInt(r[3]!),
      held: BigInt(r[4]!),
      overdraft: BigInt(r[5]!),
      pool: { capacity: Number(r[6]), used: Number(r[7]), held: Number(r[8]) },
      ...(r[9] !== '' ? { userLimit: { limit: BigInt(r[9]!), spent: BigInt(r[10]!) } } : {}),
      userHeld: BigInt(r[11]!),
      ...(r[12] !== '' ? { userBlocked: r[12]! } : {}),
      ...(r[13] !== '' ? { session: parseSession(r[13]!) } : {}),
    };
  }

  private written(result: { code: number; reply: unknown[] } | Refusal): SessionWrite {
    if ('refused' in result) return result;
    const detail = String(result.reply[1] ?? '');
    switch (result.code) {
      case ResultCode.OK:
        return { status: 'done' };
      case ResultCode.DUPLICATE:
        return { status: 'repeat', answer: detail };
      case ResultCode.SESSION_RETRY:
        return { status: 'retry', why: detail };
      default:
        return { status: 'refused', reason: detail as 'concurrent_calls' | 'user_blocked' };
    }
  }

  async startSession(tenantId: string, start: SessionStart, at: Date): Promise<SessionWrite> {
    const k = this.keys(tenantId);
    const ix = this.index(tenantId);
    const result = await runScript(
      this.redis,
      'startSession',
      [
        k.account,
        k.lots,
        k.lotExpiry,
        k.pools,
        k.sessions,
        k.sessionsByExpiry,
        ix.sessions,
        k.userLimits,
        k.userSpend,
        k.burst,
        k.outbox,
        ix.outbox,
        ix.expiry,
        ix.gauges,
        ix.blocked,
        ix.low,
        ix.rechargeFailed,
      ],
      [
        tenantId,
        at.getTime(),
        at.toISOString(),
        start.month,
        start.usageId,
        start.fingerprint,
        start.creditPaid ? '1' : '0',
        start.amount.toString(),
        start.pool,
        start.poolSeconds,
        start.validUntil.getTime(),
        start.expiresAt.getTime(),
        start.user,
        start.started,
        start.international ? '1' : '0',
        Math.floor(start.callStart.getTime() / 1000),
        start.usedCost.toString(),
      ],
    );
    return this.written(result);
  }

  async updateSession(tenantId: string, update: SessionUpdate, at: Date): Promise<SessionWrite> {
    const k = this.keys(tenantId);
    const result = await runScript(
      this.redis,
      'updateSession',
      [
        k.account,
        k.lots,
        k.lotExpiry,
        k.pools,
        k.sessions,
        k.sessionsByExpiry,
        this.index(tenantId).sessions,
        k.userLimits,
        k.userSpend,
        this.index(tenantId).gauges,
      ],
      [
        tenantId,
        at.getTime(),
        update.month,
        update.usageId,
        update.usedSeconds,
        update.expected.held.toString(),
        update.expected.poolSeconds,
        update.amount.toString(),
        update.poolSeconds,
        update.validUntil.getTime(),
        update.expiresAt.getTime(),
        update.usedCost.toString(),
        update.answer,
      ],
    );
    return this.written(result);
  }

  async endSession(
    tenantId: string,
    end: { usageId: string; usedSeconds: number; usedCost: bigint; usedPoolSeconds: number },
    at: Date,
  ): Promise<{ repeat: boolean; released: bigint; held: bigint } | Refusal> {
    const result = await runScript(this.redis, 'endSession', this.scheduleKeys(tenantId), [
      tenantId,
      at.getTime(),
      end.usageId,
      end.usedSeconds,
      end.usedCost.toString(),
      end.usedPoolSeconds,
      this.options.retentionMs,
    ]);
    if ('refused' in result) return result;
    return {
      repeat: result.code === ResultCode.DUPLICATE,
      released: BigInt(String(result.reply[1])),
      held: BigInt(String(result.reply[2])),
    };
  }

  /** Expires and drops the tenant's sessions that are due (all of them, a bounded number a call). */
  async expireSessions(tenantId: string, at: Date): Promise<{ expired: number; dropped: number }> {
    const totals = { expired: 0, dropped: 0 };
    for (;;) {
      const result = await runScript(this.redis, 'expireSessions', this.scheduleKeys(tenantId), [
        tenantId,
        at.getTime(),
        this.options.retentionMs,
        SESSIONS_PER_SWEEP_CALL,
      ]);
      if ('refused' in result) return totals;
      totals.expired += Number(result.reply[1]);
      totals.dropped += Number(result.reply[2]);
      if (Number(result.reply[3]) !== 1) return totals;
    }
  }

  /** The tenant's sessions, `count` at a time from `cursor` (HSCAN: '0' starts, '0' back is the end). */
  async listSessions(
    tenantId: string,
    page: { cursor: string; count: number },
  ): Promise<{ sessions: LiveSession[]; cursor: string }> {
    const [cursor, flat] = await guarded('listSessions', () =>
      this.redis.hscan(this.keys(tenantId).sessions, page.cursor, 'MATCH', 's:*', 'COUNT', page.count),
    );
    const sessions: LiveSession[] = [];
    for (let i = 0; i + 1 < flat.length; i += 2) {
      const stored = JSON.parse(flat[i + 1]!) as StoredSession;
      const s = fromStored(stored);
      if (s.status !== 'live') continue;
      sessions.push({
        usageId: flat[i]!.slice(2),
        status: s.status,
        held: s.held,
        usedSeconds: s.usedSeconds,
        validUntil: s.validUntil,
        user: s.user,
        started: s.started,
        ...(stored.la !== undefined && Number(stored.lu) >= 0
          ? { lastUpdate: { answer: stored.la, usedSeconds: Number(stored.lu) } }
          : {}),
      });
    }
    return { sessions, cursor };
  }
}
