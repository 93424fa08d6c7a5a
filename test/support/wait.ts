/** Retries an assertion until it passes or the time is up; then fails with its last error. */
export async function eventually<T>(
  assertion: () => Promise<T> | T,
  timeoutMs = 20_000,
  intervalMs = 100,
): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    try {
      return await assertion();
    } catch (error) {
      if (Date.now() > deadline) throw error;
      await new Promise((resolve) => setTimeout(resolve, intervalMs));
    }
  }
}

/**
 * A call that started `hoursAgo` hours ago (on the hour) and lasted `minutes`: the rater sets
 * aside calls that have not ended or are older than its idempotency window, so tests that run
 * the service on the real clock date their calls from it.
 */
export function recentCall(minutes: number, hoursAgo = 2): { startDateTime: string; endDateTime: string } {
  const start = Math.floor(Date.now() / 3_600_000) * 3_600_000 - hoursAgo * 3_600_000;
  return {
    startDateTime: new Date(start).toISOString(),
    endDateTime: new Date(start + minutes * 60_000).toISOString(),
  };
}
