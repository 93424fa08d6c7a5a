/**
 * What the broker was asked to do, counted on the client side (the broker's own request
 * metrics are in JMX, which the benchmarks do not reach): produce requests, offset commits
 * and fetches, from the rater's `rater_kafka_requests_total` or from the passthrough's own
 * clients (`countRequests`, the same instrumentation).
 */
import type { KafkaRequest } from '../src/shared/instrumentation';

/** Requests by `<client> <API>`, e.g. `producer Produce`. */
export type RequestCounts = Record<string, number>;

export interface RequestsPerCdr {
  produceRequestsPerCdr: number;
  offsetCommitsPerCdr: number;
  fetchesPerCdr: number;
  /** Every API the clients used, requests per CDR, the most frequent first. */
  byApi: Record<string, number>;
}

/** A tally the passthrough's clients count into. */
export function requestTally(): { counts: RequestCounts; count: (request: KafkaRequest) => void } {
  const counts: RequestCounts = {};
  return {
    counts,
    count: ({ client, api }) => {
      const key = `${client} ${api}`;
      counts[key] = (counts[key] ?? 0) + 1;
    },
  };
}

/** The rater's counters from its `/metrics`. */
export async function scrapeRequests(port: number): Promise<RequestCounts> {
  const response = await fetch(`http://127.0.0.1:${port}/metrics`);
  if (!response.ok) throw new Error(`GET /metrics answered ${response.status}`);
  const text = await response.text();
  const counts: RequestCounts = {};
  const series = /^rater_kafka_requests_total\{client="([^"]+)",api="([^"]+)"\} (\S+)$/gm;
  for (const [, client, api, value] of text.matchAll(series)) counts[`${client} ${api}`] = Number(value);
  return counts;
}

/** The counts between two snapshots. */
export function requestsBetween(before: RequestCounts, after: RequestCounts): RequestCounts {
  return Object.fromEntries(Object.entries(after).map(([key, n]) => [key, n - (before[key] ?? 0)]));
}

const perCdr = (n: number, cdrs: number) => Number((n / cdrs).toFixed(5));

export function requestsPerCdr(counts: RequestCounts, cdrs: number): RequestsPerCdr {
  return {
    produceRequestsPerCdr: perCdr(counts['producer Produce'] ?? 0, cdrs),
    offsetCommitsPerCdr: perCdr(counts['consumer OffsetCommit'] ?? 0, cdrs),
    fetchesPerCdr: perCdr(counts['consumer Fetch'] ?? 0, cdrs),
    byApi: Object.fromEntries(
      Object.entries(counts)
        .filter(([, n]) => n > 0)
        .sort(([, a], [, b]) => b - a)
        .map(([key, n]) => [key, perCdr(n, cdrs)]),
    ),
  };
}
