/**
 * The tenant curve of the scaling benchmark: what a CDR costs, and what the rater costs Redis
 * while it has nothing to do, as the number of tenants grows. One stack for every point; Redis
 * is flushed and the topics are new at each point (the old ones stay: the producer keeps them
 * in its metadata, and the stack goes at the end), and the same number of CDRs is spread over
 * the point's tenants by the load generator's Zipf draw.
 */
import { join } from 'node:path';
import Redis from 'ioredis';
import { Kafka, logLevel, Partitioners } from 'kafkajs';
import { Ledger, openLedger } from '../src/ledger/open-ledger';
import { loadRateBook } from '../src/rating';
import { cdrStream, TenantProfile, tenantProfiles } from '../tools/loadgen/cdr-stream';
import { provisionTenants } from '../tools/loadgen/tenants';
import { writeStream } from '../tools/loadgen/writer';
import { down, up } from '../tools/stack/stack';
import { projectRoot } from '../tools/stack/toolchain';
import { onInterrupt } from './interrupt';
import { buildService, Rater, raterEnv, startRater, stopRater, waitForDrain } from './rater-run';
import { cpuSeconds, seconds, sleep } from './measure';

const PARTITIONS = 12;
/** After the drain, time for the relay to publish what is left and the consumer to go quiet. */
const SETTLE_SECONDS = 5;
const IDLE_SECONDS = Number(process.env.BENCH_SCALE_IDLE_SECONDS ?? 15);

export interface TenantPoint {
  tenants: number;
  cdrs: number;
  /** CPU microseconds per CDR of rater + broker + Redis over the drain. */
  cpuUsPerCdr: number;
  cpuUsPerCdrByProcess: { rater: number; kafka: number; redis: number };
  /** Redis commands per CDR over the drain, as INFO counts them. */
  redisCommandsPerCdr: number;
  /** Script calls (EVALSHA) per CDR over the drain. */
  scriptCallsPerCdr: number;
  /** Redis commands a second with the rater running and no input (the bench's own left out). */
  idleRedisCommandsPerSecond: number;
  /** CPU share of a core each process takes while idle (100 = one core). */
  idleCpuPercent: { rater: number; kafka: number; redis: number };
  cdrsPerSecond: number;
  drainSeconds: number;
  provisionSeconds: number;
  /** used_memory after provisioning, divided by the tenants. */
  redisBytesPerTenant: number;
  raterPeakRssMB: number;
}

const usedMemory = async (redis: Redis) => Number(/used_memory:(\d+)/.exec(await redis.info('memory'))![1]);
const commandsProcessed = async (redis: Redis) =>
  Number(/total_commands_processed:(\d+)/.exec(await redis.info('stats'))![1]);

/** Script calls so far: the ledger's functions (FCALL, FCALL_RO; EVALSHA and EVAL of older builds). */
const scriptCalls = async (redis: Redis) => {
  const stats = await redis.info('commandstats');
  const calls = (command: string) =>
    Number(new RegExp(`cmdstat_${command}:calls=(\\d+)`).exec(stats)?.[1] ?? 0);
  return calls('fcall') + calls('fcall_ro') + calls('evalsha') + calls('eval');
};

/**
 * Takes the events that opening the accounts wrote (funds added) out of the outboxes, as the
 * relay would once the broker had them: the drain then measures CDRs, not relaying those.
 */
async function acknowledgeProvisioningEvents(ledger: Ledger, tenants: TenantProfile[]): Promise<void> {
  let next = 0;
  await Promise.all(
    Array.from({ length: 128 }, async () => {
      for (let tenant = tenants[next++]; tenant; tenant = tenants[next++]) {
        const events = await ledger.outbox.readOutbox(tenant.tenantId);
        await ledger.outbox.acknowledgeOutbox(
          tenant.tenantId,
          events.map((e) => e.streamId),
        );
      }
    }),
  );
}

export async function tenantCurve(points: number[], cdrs: number): Promise<TenantPoint[]> {
  buildService();
  const stack = await up(join(projectRoot, '.stack', 'bench-scale'));
  const kafka = new Kafka({
    clientId: 'bench-scale',
    brokers: stack.kafka.brokers,
    logLevel: logLevel.NOTHING,
  });
  const admin = kafka.admin();
  const producer = kafka.producer({ createPartitioner: Partitioners.DefaultPartitioner });
  const redis = new Redis(stack.redis.url);
  const book = loadRateBook(join(projectRoot, 'rates'));
  const pidOf = (name: string) => stack.processes.find((p) => p.name === name)!.pid;
  const results: TenantPoint[] = [];
  let rater: Rater | undefined;
  const cleanUp = onInterrupt(async () => {
    if (rater) await stopRater(rater);
    redis.disconnect();
    await down(stack.dir);
  });
  try {
    await admin.connect();
    await producer.connect();
    for (const tenants of points) {
      const run = `scale-${tenants}-${Date.now()}`;
      const topics = {
        usageIn: `${run}.cdr`,
        ratedOut: `${run}.rated`,
        eventsOut: `${run}.events`,
        deadLetter: `${run}.dlq`,
      };
      await redis.flushall();
      await admin.createTopics({
        topics: Object.values(topics).map((topic) => ({ topic, numPartitions: PARTITIONS })),
        waitForLeaders: true,
      });
      const keyPrefix = `${run}:`;
      const ledger = openLedger(redis, { prefix: keyPrefix });

      console.log(`[${tenants.toLocaleString('en')} tenants] provisioning`);
      const memoryBefore = await usedMemory(redis);
      const provisionStarted = process.hrtime.bigint();
      const profiles = tenantProfiles({ seed: 1, tenants });
      await provisionTenants(ledger, book, profiles, 10n ** 12n);
      await acknowledgeProvisioningEvents(ledger, profiles);
      const provisionSeconds = seconds(provisionStarted);
      const redisBytesPerTenant = Math.round(((await usedMemory(redis)) - memoryBefore) / tenants);
      console.log(
        `[${tenants.toLocaleString('en')} tenants] provisioned in ${provisionSeconds.toFixed(1)} s ` +
          `(${redisBytesPerTenant} bytes of Redis a tenant); writing ${cdrs.toLocaleString('en')} CDRs`,
      );
      await writeStream(cdrStream(cdrs, { seed: 1, tenants, idPrefix: `${run}-` }), {
        producer,
        topic: topics.usageIn,
      });

      const groupId = `${run}-rater`;
      rater = await startRater(raterEnv(stack, { topics, groupId, keyPrefix }));
      try {
        const processes = { rater: rater.child.pid!, kafka: pidOf('kafka'), redis: pidOf('redis') };
        const cpu = () =>
          Object.fromEntries(
            Object.entries(processes).map(([name, pid]) => [name, cpuSeconds(pid)]),
          ) as Record<keyof typeof processes, number>;
        const spent = (before: Record<keyof typeof processes, number>, scale: number) => {
          const after = cpu();
          return {
            rater: Math.round((after.rater - before.rater) * scale),
            kafka: Math.round((after.kafka - before.kafka) * scale),
            redis: Math.round((after.redis - before.redis) * scale),
          };
        };

        const drainCpu = cpu();
        const drainCommands = await commandsProcessed(redis);
        const drainScripts = await scriptCalls(redis);
        const { drainSeconds, firstCommitted } = await waitForDrain(
          admin,
          groupId,
          topics.usageIn,
          cdrs,
          () => rater!.sample(),
        );
        const cpuUsPerCdrByProcess = spent(drainCpu, 1e6 / cdrs);
        // What the CDRs cost Redis: commands, and script calls (the ledger's steps: a batch's
        // CDRs of one tenant share one), which grow as the same CDRs spread over more tenants.
        const redisCommandsPerCdr = ((await commandsProcessed(redis)) - drainCommands) / cdrs;
        const scriptCallsPerCdr = ((await scriptCalls(redis)) - drainScripts) / cdrs;
        const cpuUsPerCdr =
          cpuUsPerCdrByProcess.rater + cpuUsPerCdrByProcess.kafka + cpuUsPerCdrByProcess.redis;
        console.log(
          `[${tenants.toLocaleString('en')} tenants] drained in ${drainSeconds.toFixed(1)} s, ` +
            `${cpuUsPerCdr} us of CPU a CDR; idle for ${IDLE_SECONDS} s`,
        );

        await sleep(SETTLE_SECONDS * 1000);
        const idleCpu = cpu();
        const idleStarted = process.hrtime.bigint();
        const commandsBefore = await commandsProcessed(redis);
        await sleep(IDLE_SECONDS * 1000);
        // The count does not include the INFO that reads it, but it does include the first one.
        const commands = (await commandsProcessed(redis)) - commandsBefore - 1;
        const idleSeconds = seconds(idleStarted);
        rater.sample();
        const raterPeakRssMB = Math.round(rater.peakRssMB);

        results.push({
          tenants,
          cdrs,
          cpuUsPerCdr,
          cpuUsPerCdrByProcess,
          redisCommandsPerCdr: Math.round(redisCommandsPerCdr * 100) / 100,
          scriptCallsPerCdr: Math.round(scriptCallsPerCdr * 1000) / 1000,
          idleRedisCommandsPerSecond: Math.round((commands / idleSeconds) * 10) / 10,
          idleCpuPercent: spent(idleCpu, 100 / idleSeconds),
          cdrsPerSecond: Math.round((cdrs - firstCommitted) / drainSeconds),
          drainSeconds: Math.round(drainSeconds * 10) / 10,
          provisionSeconds: Math.round(provisionSeconds * 10) / 10,
          redisBytesPerTenant,
          raterPeakRssMB,
        });
        console.log(
          `[${tenants.toLocaleString('en')} tenants] idle: ${results.at(-1)!.idleRedisCommandsPerSecond} Redis commands/s`,
        );
      } finally {
        await stopRater(rater);
        rater = undefined;
      }
    }
  } finally {
    await producer.disconnect().catch(() => {});
    await admin.disconnect().catch(() => {});
    redis.disconnect();
    await down(stack.dir);
    cleanUp();
  }
  return results;
}
