/**
 * The group session this member had is gone (the coordinator no longer knows it, or moved
 * on to another generation) or is being rebalanced: a batch in hand is given up, not
 * committed, so kafkajs rejoins and the batch is delivered again (safe: the ledger turns a
 * repeat into its stored outcome).
 */
export const SESSION_ERRORS = new Set([
  'UNKNOWN_MEMBER_ID',
  'ILLEGAL_GENERATION',
  'REBALANCE_IN_PROGRESS',
  'FENCED_INSTANCE_ID',
  'NOT_COORDINATOR_FOR_GROUP',
]);

/**
 * The session error in `error` or in what caused it: kafkajs' own retrier wraps the broker's
 * answer in a `KafkaJSNonRetriableError` whose `cause` is the protocol error with its `type`.
 */
export function sessionErrorIn(error: unknown): Error | undefined {
  const seen = new Set<unknown>();
  for (let e = error; e instanceof Error && !seen.has(e); e = (e as { cause?: unknown }).cause) {
    seen.add(e);
    if (SESSION_ERRORS.has(String((e as { type?: unknown }).type))) return e;
  }
  return undefined;
}
