/**
 * The chaos run's loop: it watches the consumer group's progress and, at the seeded moments,
 * kills the rater, fails Redis (a restart, a SIGKILL, a cluster master's failover, a freeze) and
 * the broker, and restarts a rater that exited or stalled, until everything is committed.
 */
import type { Admin } from 'kafkajs';
import { killMaster, startClusterNode, waitForFailover } from '../stack/redis-cluster-faults';
import { clusterSeedPort, pauseService, restart } from '../stack/stack';
import type { ChaosOptions, ChaosReport } from './chaos-types';
import { isAlive, RaterProcess, startRater, stopRater } from './rater-process';
import { groupProgress } from './topics';

export const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

/** When each fault happens, in records committed, and the draws that place the kills. */
export interface FaultSchedule {
  random: () => number;
  killAt: number[];
  redisAt: number;
  kafkaAt: number;
  freezeSeconds: number;
  freezeAt: number;
}

interface DriverSetup {
  options: ChaosOptions;
  runId: string;
  env: Record<string, string>;
  admin: Admin;
  usageTopic: string;
  schedule: FaultSchedule;
  started: number;
  log: (line: string) => void;
}

export class ChaosDriver {
  rater: RaterProcess | undefined;
  private generation = 0;
  readonly unplanned = { exits: 0, stalls: 0 };
  readonly restarts = { redis: 0, kafka: 0 };
  kills = 0;
  failover: ChaosReport['failover'];
  freezes = 0;
  private killedMaster: { name: string; at: number } | undefined;
  private committed = 0;
  private end = 0;
  private committedAtStart = 0;
  private lastProgressAt = Date.now();
  private lastLogAt = 0;
  private readonly redisCluster: boolean;
  private readonly clusterDir: string | undefined;
  /** A frozen Redis stops all progress for its freeze: that is waited out, not a stall. */
  private readonly stallMs: number;

  constructor(private readonly setup: DriverSetup) {
    const { options, schedule } = setup;
    this.redisCluster = options.redisCluster === true;
    this.clusterDir = options.stack.redisCluster?.dir;
    this.stallMs = options.stallMs ?? Math.max(90_000, (schedule.freezeSeconds + 60) * 1000);
  }

  async launch(): Promise<void> {
    const { env, runId, options, log } = this.setup;
    for (let attempt = 1; ; attempt++) {
      this.generation += 1;
      this.rater = startRater({ env, name: `${runId}-${this.generation}`, logDir: options.logDir });
      try {
        await this.rater.ready;
        return;
      } catch (error) {
        if (attempt >= 5) throw error;
        log(
          `rater ${this.generation} did not start (${error instanceof Error ? error.message : String(error)}), again`,
        );
      }
    }
  }

  private async restartRater(signal: NodeJS.Signals): Promise<void> {
    if (this.rater) await stopRater(this.rater, signal);
    this.committedAtStart = this.committed;
    await this.launch();
    this.lastProgressAt = Date.now();
  }

  /** Until the stream is written and committed and every planned fault has happened. */
  async drive(progress: { produced: () => boolean; writeError: () => unknown }): Promise<void> {
    const { options, schedule } = this.setup;
    this.lastProgressAt = Date.now();
    for (;;) {
      options.signal?.throwIfAborted();
      if (progress.writeError()) throw progress.writeError();
      await this.readProgress();
      const done =
        progress.produced() &&
        this.committed === this.end &&
        this.end >= options.count &&
        this.kills === schedule.killAt.length &&
        this.restarts.redis === 1 &&
        this.restarts.kafka === 1 &&
        this.freezes === (schedule.freezeSeconds > 0 ? 1 : 0);
      if (done) break;
      await this.nextFault(progress.produced());
      await sleep(200);
    }
  }

  private async readProgress(): Promise<void> {
    const { admin, runId, usageTopic, started, log } = this.setup;
    try {
      const progress = await groupProgress(admin, runId, usageTopic);
      if (progress.committed > this.committed) this.lastProgressAt = Date.now();
      this.committed = progress.committed;
      this.end = progress.end;
    } catch {
      // The broker is restarting: the next round asks again.
    }
    if (Date.now() - this.lastLogAt > 5_000) {
      this.lastLogAt = Date.now();
      log(
        `committed ${this.committed} of ${this.end} written, ${this.kills} kills, ${Math.round((Date.now() - started) / 1000)} s`,
      );
    }
  }

  /** At most one thing a round: the first of the faults due, or a restart of a rater gone wrong. */
  private async nextFault(produced: boolean): Promise<void> {
    const { options, schedule, log } = this.setup;
    const { committed, end, redisCluster } = this;
    if (this.rater && !isAlive(this.rater)) {
      this.unplanned.exits += 1;
      log(`rater ${this.generation} exited by itself; restarting it`);
      await this.restartRater('SIGKILL');
    } else if (
      this.kills < schedule.killAt.length &&
      committed >= schedule.killAt[this.kills]! &&
      // Each kill hits a rater that has done some work, unless there is none left to do.
      (committed > this.committedAtStart || (produced && committed === end))
    ) {
      // A moment later, so the kill lands in the middle of whatever the rater is doing.
      await sleep(Math.floor(schedule.random() * 300));
      this.kills += 1;
      await this.restartRater('SIGKILL');
    } else if (redisCluster && this.killedMaster && Date.now() - this.killedMaster.at >= 5_000) {
      await this.rejoinKilledMaster();
    } else if (redisCluster && this.restarts.redis === 0 && !this.failover && committed >= schedule.redisAt) {
      await this.failOverMaster();
    } else if (!redisCluster && this.restarts.redis === 0 && committed >= schedule.redisAt) {
      log(options.redisKill ? 'killing Redis (SIGKILL) and starting it again' : 'restarting Redis');
      await restart('redis', options.stack.dir, { kill: options.redisKill === true });
      this.restarts.redis += 1;
    } else if (this.restarts.kafka === 0 && committed >= schedule.kafkaAt) {
      log(
        options.brokerKill ? 'killing the broker (SIGKILL) and starting it again' : 'restarting the broker',
      );
      await restart('kafka', options.stack.dir, { kill: options.brokerKill === true });
      this.restarts.kafka += 1;
      this.lastProgressAt = Date.now();
    } else if (this.freezes === 0 && committed >= schedule.freezeAt) {
      await this.freezeRedis();
    } else if (committed < end && Date.now() - this.lastProgressAt > this.stallMs) {
      this.unplanned.stalls += 1;
      log(
        `no progress for ${this.stallMs / 1000} s with ${end - committed} records waiting: restarting the rater`,
      );
      await this.restartRater('SIGKILL');
    }
  }

  /** The run went on on the promoted replica; now the killed node comes back. */
  private async rejoinKilledMaster(): Promise<void> {
    const killedMaster = this.killedMaster!;
    const started = Date.now();
    await startClusterNode(this.clusterDir!, killedMaster.name);
    this.failover!.rejoinedMs = Date.now() - started;
    this.setup.log(
      `${killedMaster.name} started again: a replica now, the cluster healthy after ${this.failover!.rejoinedMs} ms`,
    );
    this.killedMaster = undefined;
    this.restarts.redis += 1;
  }

  private async failOverMaster(): Promise<void> {
    const { options, log } = this.setup;
    const killed = await killMaster(this.clusterDir!, { except: [clusterSeedPort(options.stack)!] });
    log(`killed the Redis Cluster master ${killed.name} (SIGKILL); waiting for its replica`);
    const { promoted, waitedMs } = await waitForFailover(this.clusterDir!, killed);
    // Started again 5 s after the promotion: the run goes on on the promoted replica alone.
    this.killedMaster = { name: killed.name, at: Date.now() };
    this.failover = { killed: killed.name, promoted: promoted.name, promotedMs: waitedMs, rejoinedMs: 0 };
    log(`${promoted.name} promoted to master after ${waitedMs} ms`);
    this.lastProgressAt = Date.now();
  }

  private async freezeRedis(): Promise<void> {
    const { options, schedule, log } = this.setup;
    log(`freezing Redis (SIGSTOP) for ${schedule.freezeSeconds} s`);
    pauseService('redis', true, options.stack.dir);
    try {
      await sleep(schedule.freezeSeconds * 1000);
    } finally {
      pauseService('redis', false, options.stack.dir);
    }
    log('Redis resumed (SIGCONT)');
    this.freezes += 1;
    this.lastProgressAt = Date.now();
  }
}
