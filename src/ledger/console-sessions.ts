import { createHash, randomBytes } from 'node:crypto';
import type { Cluster, Redis } from 'ioredis';
import type { ConsoleSession, ConsoleSessionStore } from '../settlement/admin-ports';
import { consoleSessionKey } from './keys';
import { guarded } from './result-codes';

const digest = (id: string) => createHash('sha256').update(id, 'utf8').digest('hex');

/**
 * The console's sign-in sessions. The browser holds a random id (256 bits); Redis holds only
 * its SHA-256, with who signed in and until when, expiring with the session, so a copy of the
 * store cannot be replayed as cookies. Signing out deletes it; nothing extends a session.
 */
export class ConsoleSessions implements ConsoleSessionStore {
  constructor(
    private readonly redis: Redis | Cluster,
    private readonly prefix = '',
  ) {}

  /** A new session for `who`, lasting `ttlMs`; returns the id the cookie carries. */
  async create(who: Parameters<ConsoleSessionStore['create']>[0], ttlMs: number, now = Date.now()) {
    const id = randomBytes(32).toString('base64url');
    const session = { ...who, expiresAt: now + ttlMs } as ConsoleSession;
    await guarded('createSession', () =>
      this.redis.set(consoleSessionKey(digest(id), this.prefix), JSON.stringify(session), 'PX', ttlMs),
    );
    return { id, session };
  }

  /** The session an id stands for, while it lasts. */
  async read(id: string, now = Date.now()): Promise<ConsoleSession | undefined> {
    if (!/^[A-Za-z0-9_-]{43}$/.test(id)) return undefined;
    const raw = await guarded('readSession', () =>
      this.redis.get(consoleSessionKey(digest(id), this.prefix)),
    );
    if (!raw) return undefined;
    const session = JSON.parse(raw) as ConsoleSession;
    return session.expiresAt > now ? session : undefined;
  }

  async delete(id: string): Promise<void> {
    if (!/^[A-Za-z0-9_-]{43}$/.test(id)) return;
    await guarded('deleteSession', () => this.redis.del(consoleSessionKey(digest(id), this.prefix)));
  }
}
