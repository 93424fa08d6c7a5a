/** Clocks of the benchmarks: wall time, and the CPU a process has used (from /proc). */
import { readFileSync } from 'node:fs';

/** CPU seconds (user + system) a process has used so far, from /proc. */
export function cpuSeconds(pid: number): number {
  try {
    const fields = readFileSync(`/proc/${pid}/stat`, 'utf8').split(') ')[1]!.split(' ');
    return (Number(fields[11]) + Number(fields[12])) / 100; // utime, stime in clock ticks of 10 ms
  } catch {
    return NaN;
  }
}

export const seconds = (since: bigint) => Number(process.hrtime.bigint() - since) / 1e9;
export const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

export interface NamedProcess {
  name: string;
  pid: number;
}

/**
 * Starts counting the CPU the processes use; the returned function gives the CPU seconds each
 * has used since, by name (NaN for a process that is gone).
 */
export function cpuMeter(processes: NamedProcess[]): () => Record<string, number> {
  const before = processes.map((p) => cpuSeconds(p.pid));
  return () => Object.fromEntries(processes.map((p, i) => [p.name, cpuSeconds(p.pid) - before[i]!]));
}
