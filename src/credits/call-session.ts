import type { MinorUnits } from './wallet';

// Call sessions: credit reserved while a call runs (the types the use case and the ledger share).

/** A call session as the ledger keeps it (src/ledger/commands/includes/sessions.lua). */
export interface SessionState {
  status: 'live' | 'ended' | 'expired' | 'settled';
  /** Money the session holds: its reservation while live, then what its used seconds cost. */
  held: MinorUnits;
  poolSeconds: number;
  /** Counted by the concurrency caps and spend limits. */
  creditPaid: boolean;
  user: string;
  fingerprint: string;
  usedSeconds: number;
  validUntil: Date;
  /** The start's answer and the call it priced, as the use case stored them (JSON). */
  started: string;
}

/** What a grant is priced from, read in one step. */
export interface SessionSnapshot {
  mode: 'prepaid' | 'postpaid';
  currency: string;
  /** The balance at the time asked (lots whose expiry has come excluded). */
  balance: MinorUnits;
  /** Money all the tenant's sessions hold. */
  held: MinorUnits;
  overdraft: MinorUnits;
  pool: { capacity: number; used: number; held: number };
  userLimit?: { limit: MinorUnits; spent: MinorUnits };
  /** Money the user's sessions hold. */
  userHeld: MinorUnits;
  userBlocked?: string;
  session?: SessionState;
}

/** A grant the use case priced, proposed to the ledger. */
export interface SessionGrant {
  /** The money the session holds after it (its whole reservation), and the pool seconds. */
  amount: MinorUnits;
  poolSeconds: number;
  validUntil: Date;
  /** When the session expires unless renewed (valid until plus the grace). */
  expiresAt: Date;
  /** What the seconds used so far cost (held should the session expire). */
  usedCost: MinorUnits;
}

/** The ledger's answer to a proposed start or update: done, a repeat, or price it again. */
export type SessionWrite =
  | { status: 'done' }
  | { status: 'repeat'; answer: string }
  | { status: 'retry'; why: string }
  | { status: 'refused'; reason: 'concurrent_calls' | 'user_blocked' }
  | { refused: string; detail: string };
