/**
 * CPU per CDR: what the rater, the broker and Redis spend on one CDR between them, against
 * the throughput goal's budget. 2 cores give 2,000,000 us of CPU a second, and 50,000 CDRs/s
 * leave 40 us a CDR for the three processes together. Redis's own goal is 25 us a CDR on the
 * benchmark's machine (Redis Functions, lots as hash fields, less Lua per usage).
 */

export const CPU_GOALS_US = { rater: 20, redis: 25, total: 40 } as const;

export interface CpuUsPerCdr {
  rater: number;
  broker: number;
  /** The one Redis, or the sum over the cluster's nodes (masters and replicas). */
  redis: number;
  total: number;
}

/** `redis` for the one server, `redis-cluster-<n>` for each node of the cluster. */
const isRedis = (name: string) => name === 'redis' || name.startsWith('redis-cluster-');

/** CPU seconds by process name over `cdrs` CDRs: microseconds per CDR, 0.1 us resolution. */
export function cpuUsPerCdr(cpuSecondsByProcess: Record<string, number>, cdrs: number): CpuUsPerCdr {
  const us = (seconds: number) => Math.round((seconds * 1e7) / cdrs) / 10;
  const entries = Object.entries(cpuSecondsByProcess);
  const rater = us(cpuSecondsByProcess.rater ?? NaN);
  const broker = us(cpuSecondsByProcess.kafka ?? NaN);
  const redis = us(entries.filter(([name]) => isRedis(name)).reduce((sum, [, s]) => sum + s, 0));
  return { rater, broker, redis, total: Math.round((rater + broker + redis) * 10) / 10 };
}
