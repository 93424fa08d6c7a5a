/**
 * What the console and the command line show of a live call session: read from the start
 * and the last renewal the use case stored (call-sessions.ts keeps them as JSON).
 */

/** A call in progress, as a tenant sees it. */
export interface LiveCall {
  usageId: string;
  user: string;
  callee: string;
  /** When the call started (its startDateTime). */
  startedAt: Date;
  /** Seconds of the call granted so far: those used at the last renewal plus its grant. */
  grantedSeconds: number;
  usedSeconds: number;
  /** Money the session holds, minor units. */
  held: bigint;
  validUntil: Date;
}

/** A live session as the ledger lists it. */
export interface LiveSessionEntry {
  usageId: string;
  held: bigint;
  usedSeconds: number;
  validUntil: Date;
  user: string;
  started: string;
  lastUpdate?: { answer: string; usedSeconds: number };
}

interface StoredStart {
  answer?: { grantedSeconds?: number };
  call?: { calleeNumber?: string; startDateTime?: string };
}

export function liveCall(entry: LiveSessionEntry): LiveCall {
  const started = JSON.parse(entry.started) as StoredStart;
  const renewed = entry.lastUpdate
    ? entry.lastUpdate.usedSeconds +
      Number((JSON.parse(entry.lastUpdate.answer) as { grantedSeconds?: number }).grantedSeconds ?? 0)
    : undefined;
  return {
    usageId: entry.usageId,
    user: entry.user,
    callee: started.call?.calleeNumber ?? '',
    startedAt: new Date(started.call?.startDateTime ?? entry.validUntil),
    grantedSeconds: renewed ?? Number(started.answer?.grantedSeconds ?? 0),
    usedSeconds: entry.usedSeconds,
    held: entry.held,
    validUntil: entry.validUntil,
  };
}

/** Live calls, the oldest first, then by usage id (the ledger's scan order is its hash's). */
export function liveCalls(entries: LiveSessionEntry[]): LiveCall[] {
  return entries
    .map(liveCall)
    .sort((a, b) => a.startedAt.getTime() - b.startedAt.getTime() || (a.usageId < b.usageId ? -1 : 1));
}
