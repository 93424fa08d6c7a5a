/**
 * What the benchmarks that run the rater on the local stack share: building it, running it as
 * in production (`node dist/cli.js serve`) and watching it drain a topic.
 */
import { ChildProcess, execFileSync, spawn } from 'node:child_process';
import { createWriteStream, readFileSync } from 'node:fs';
import { join } from 'node:path';
import type { Admin } from 'kafkajs';
import { stackEnv, StackInfo } from '../tools/stack/stack';
import { projectRoot } from '../tools/stack/toolchain';
import { seconds, sleep } from './measure';

/** Offsets the group has committed on the topic, summed over its partitions. */
export async function committedTotal(admin: Admin, groupId: string, topic: string): Promise<number> {
  const [offsets] = await admin.fetchOffsets({ groupId, topics: [topic] });
  return offsets!.partitions.reduce((sum, p) => sum + Math.max(0, Number(p.offset)), 0);
}

/** Records in the topic, summed over its partitions. */
export async function endTotal(admin: Admin, topic: string): Promise<number> {
  const ends = await admin.fetchTopicOffsets(topic);
  return ends.reduce((sum, p) => sum + Number(p.high), 0);
}

export function buildService(): void {
  console.log('building the service (npm run build)');
  execFileSync('npm', ['run', '--silent', 'build'], { cwd: projectRoot, stdio: 'inherit' });
}

export interface RaterTopics {
  usageIn: string;
  ratedOut: string;
  eventsOut: string;
  deadLetter: string;
}

/** The rater's environment on the stack: consumer and relay roles, the run's topics, group and key prefix. */
export function raterEnv(
  stack: StackInfo,
  run: { topics: RaterTopics; groupId: string; keyPrefix: string; redisCluster?: boolean },
): Record<string, string> {
  return {
    ...stackEnv(stack, { redisCluster: run.redisCluster ?? false }),
    HTTP_PORT: '0',
    RATER_ROLES: 'consumer,relay',
    KAFKA_GROUP_ID: run.groupId,
    KAFKA_CREATE_TOPICS: 'false',
    TOPIC_USAGE_IN: run.topics.usageIn,
    TOPIC_RATED_OUT: run.topics.ratedOut,
    TOPIC_EVENTS_OUT: run.topics.eventsOut,
    TOPIC_DEAD_LETTER: run.topics.deadLetter,
    REDIS_KEY_PREFIX: run.keyPrefix,
    LOG_LEVEL: 'info',
  };
}

export interface Rater {
  child: ChildProcess;
  /** The port of its HTTP server (health, metrics). */
  port: number;
  peakRssMB: number;
  sample(): void;
}

/**
 * The node options the rater runs with in production: what the Dockerfile and compose.yaml
 * set (docs/benchmarks.md, _the rater at the heap cap_): an old generation of 256 MB at most,
 * so that V8 collects before it grows to the machine's size, and semi-spaces of 4 MB. The
 * benchmarks pass them as NODE_OPTIONS, so that what they measure is what is shipped; change
 * them there (and in the Helm chart's values) and here together.
 */
export const RATER_NODE_OPTIONS = '--max-old-space-size=256 --max-semi-space-size=4';

/**
 * V8 options of the rater that NODE_OPTIONS does not take, on node's command line (the
 * image's ENTRYPOINT): after a mark-compact the old generation may grow to twice what
 * survived before the next. At a 256 MB cap V8 allows 1.3 times only, and the records of
 * batches in flight, promoted while they wait, then cost a mark-compact every few MB.
 */
export const RATER_NODE_ARGS = ['--heap-growing-percent=100'];

/** How node runs the rater: NODE_OPTIONS, options on its command line, its environment. */
export interface RaterNode {
  options: string;
  args: string[];
  env: Record<string, string>;
}

/** As shipped, and as node runs without any option (no heap cap). */
export const SHIPPED_NODE: RaterNode = {
  options: RATER_NODE_OPTIONS,
  args: RATER_NODE_ARGS,
  env: {},
};
export const UNCAPPED_NODE: RaterNode = { options: '', args: [], env: {} };

/** BENCH_RATER_NODE_ARGS: extra node options for the rater, e.g. --cpu-prof to profile it. */
export const benchRaterNodeArgs = () => (process.env.BENCH_RATER_NODE_ARGS ?? '').split(' ').filter(Boolean);

/** How the rater's node is started, for the benchmarks' output. */
export const raterNodeOptionsText = (node: RaterNode = SHIPPED_NODE) =>
  `NODE_OPTIONS='${node.options}'` +
  (node.args.length > 0 ? `, node ${node.args.join(' ')}` : '') +
  Object.entries(node.env)
    .map(([name, value]) => `, ${name}=${value}`)
    .join('') +
  (benchRaterNodeArgs().length > 0 ? `, then ${benchRaterNodeArgs().join(' ')} (BENCH_RATER_NODE_ARGS)` : '');

const START_TIMEOUT_MS = 120_000;

/**
 * Starts the rater with the shipped node options (`node` instead: UNCAPPED_NODE for none, e.g.
 * to measure it without the heap cap).
 */
export function startRater(env: Record<string, string>, node: RaterNode = SHIPPED_NODE): Promise<Rater> {
  // The command line's options come after NODE_OPTIONS and win where they disagree.
  const nodeArgs = [...node.args, ...benchRaterNodeArgs()];
  const child = spawn(process.execPath, [...nodeArgs, join(projectRoot, 'dist', 'cli.js'), 'serve'], {
    cwd: projectRoot,
    env: { ...process.env, ...node.env, ...env, NODE_ENV: 'production', NODE_OPTIONS: node.options },
    stdio: ['ignore', 'pipe', 'inherit'],
  });
  const rater: Rater = {
    child,
    port: 0,
    peakRssMB: 0,
    sample() {
      try {
        const status = readFileSync(`/proc/${child.pid}/status`, 'utf8');
        const hwm = Number(/VmHWM:\s+(\d+) kB/.exec(status)?.[1] ?? 0) / 1024;
        rater.peakRssMB = Math.max(rater.peakRssMB, hwm);
      } catch {
        // the process is gone; keep the last figure
      }
    },
  };
  return new Promise((resolve, reject) => {
    let out = '';
    // A rater that never says it started is stopped, not left behind.
    const timer = setTimeout(() => {
      child.kill('SIGKILL');
      reject(new Error(`the rater did not start within ${START_TIMEOUT_MS / 1000} s:\n${out}`));
    }, START_TIMEOUT_MS);
    // BENCH_RATER_LOG=<file>: the rater's standard output (its log, --trace-gc lines) kept there.
    const log = process.env.BENCH_RATER_LOG ? createWriteStream(process.env.BENCH_RATER_LOG) : undefined;
    child.stdout!.on('data', (chunk: Buffer) => {
      log?.write(chunk);
      out += chunk.toString();
      // The whole line (pino's JSON), with the port the server listens on.
      const started = /^.*"msg":"rater started".*$/m.exec(out);
      if (started && out.indexOf('\n', started.index) >= 0 && rater.port === 0) {
        rater.port = Number((JSON.parse(started[0]) as { port: number }).port);
        clearTimeout(timer);
        resolve(rater);
      }
      if (out.length > 100_000) out = out.slice(-10_000);
    });
    child.once('exit', (code) => {
      clearTimeout(timer);
      reject(new Error(`the rater exited with ${code} before it started:\n${out}`));
    });
  });
}

/** SIGTERM, and wait for the process to end (at once when it has already). */
export async function stopRater(rater: Rater): Promise<void> {
  if (rater.child.exitCode !== null || rater.child.signalCode !== null) return;
  const exited = new Promise((resolve) => rater.child.once('exit', resolve));
  rater.child.kill('SIGTERM');
  await exited;
}

/**
 * Polls the group's committed offsets until it has committed `total` records of the topic;
 * `onPoll` runs at every poll. The drain runs from the first commit seen to the last.
 *
 * Each poll is two requests to the broker (the coordinator's address, then the offsets),
 * which cost it more CPU than the drain's own requests when sent every 50 ms: the broker's CPU
 * per CDR measured over a drain was mostly this polling. Every 50 ms until the first commit
 * and over the last seconds (where the timing is read), once a second in between.
 */
export async function waitForDrain(
  admin: Admin,
  groupId: string,
  topic: string,
  total: number,
  onPoll: () => void = () => {},
): Promise<{ drainSeconds: number; firstCommitted: number }> {
  let first: { at: bigint; committed: number } | undefined;
  let last = { at: process.hrtime.bigint(), committed: 0 };
  for (;;) {
    const committed = await committedTotal(admin, groupId, topic);
    onPoll();
    if (committed > 0 && !first) first = { at: process.hrtime.bigint(), committed };
    if (committed !== last.committed) last = { at: process.hrtime.bigint(), committed };
    if (committed >= total) break;
    if (seconds(last.at) > 60)
      throw new Error(`the rater made no progress for a minute at ${committed} of ${total}`);
    const rate = first ? (committed - first.committed) / seconds(first.at) : 0;
    await sleep(rate > 0 && (total - committed) / rate > 3 ? 1_000 : 50);
  }
  return { drainSeconds: Number(last.at - first!.at) / 1e9, firstCommitted: first!.committed };
}
