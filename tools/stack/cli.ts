import { Command } from 'commander';
import {
  defaultStackDir,
  down,
  isStackRunning,
  readStack,
  RedisMode,
  restart,
  ServiceName,
  securedStackEnv,
  stackEnv,
  up,
} from './stack';
import { clusterTopology, readCluster, waitForClusterHealthy } from './redis-cluster';
import { killMaster, startClusterNode, waitForFailover } from './redis-cluster-faults';

/** `stack up|down|status|restart`: the local Kafka + Redis + schema registry. */
export function stackCommand(): Command {
  const stack = new Command('stack').description(
    'run the local stack: Kafka (KRaft), Redis, schema registry',
  );
  const dirOption = ['--dir <path>', 'state directory of the stack', defaultStackDir()] as const;

  stack
    .command('up')
    .description('start the stack (or report the one already running) and print its connection details')
    .option(...dirOption)
    .option(
      '--redis-cluster',
      'also start a Redis Cluster: 3 masters, a replica each (with --secured: TLS only, the ACL user)',
    )
    .option(
      '--secured',
      'Kafka with a SASL_SSL listener, Redis with TLS and an ACL user, client certificates required (a CA of its own)',
    )
    .action(
      async ({ dir, redisCluster, secured }: { dir: string; redisCluster?: boolean; secured?: boolean }) => {
        const started = Date.now();
        const info = await up(dir, { redisCluster: redisCluster === true, secured: secured === true });
        const envOf = (mode: RedisMode) =>
          info.secured ? securedStackEnv(info, mode) : stackEnv(info, mode);
        // `clusterEnv`: the same settings with the ledger on the Redis Cluster (TLS when secured).
        const clusterEnv = info.redisCluster ? { clusterEnv: envOf({ redisCluster: true }) } : {};
        console.log(
          JSON.stringify({ ...info, env: envOf({}), ...clusterEnv, upMs: Date.now() - started }, null, 2),
        );
      },
    );

  stack
    .command('down')
    .description('stop everything the stack started and delete its data')
    .option(...dirOption)
    .action(async ({ dir }: { dir: string }) => {
      await down(dir);
      console.log(`stack in ${dir} is down`);
    });

  stack
    .command('status')
    .description('print whether each service is running; exit 1 when not all are')
    .option(...dirOption)
    .action(({ dir }: { dir: string }) => {
      const info = readStack(dir);
      if (!info) {
        console.log(`no stack in ${dir}`);
        process.exitCode = 1;
        return;
      }
      console.log(JSON.stringify({ ...info, env: stackEnv(info), running: isStackRunning(info) }, null, 2));
      if (!isStackRunning(info)) process.exitCode = 1;
    });

  clusterCommands(stack, dirOption);

  stack
    .command('restart <service>')
    .description('restart kafka, redis, schema-registry or stripe-mock on the same port with the same data')
    .option(...dirOption)
    .option('--kill', 'SIGKILL it (a crash) instead of a graceful stop')
    .action(async (service: string, { dir, kill }: { dir: string; kill?: boolean }) => {
      if (!['kafka', 'redis', 'schema-registry', 'stripe-mock'].includes(service)) {
        throw new Error(
          `unknown service "${service}": expected kafka, redis, schema-registry or stripe-mock`,
        );
      }
      await restart(service as ServiceName, dir, { kill: kill === true });
      console.log(`${service} ${kill ? 'killed and started again' : 'restarted'}`);
    });
  return stack;
}

if (require.main === module) {
  stackCommand()
    .parseAsync(process.argv)
    .catch((error: unknown) => {
      console.error(error instanceof Error ? error.message : error);
      process.exit(1);
    });
}

/** The `--dir` option every command takes. */
type DirOption = readonly [string, string, string];

/** `stack cluster nodes|kill-master|start-node|wait-healthy`: the stack's Redis Cluster. */
function clusterCommands(stack: Command, dirOption: DirOption): void {
  const clusterDir = (dir: string) => {
    const cluster = readStack(dir)?.redisCluster?.dir ?? (readCluster(dir) ? dir : undefined);
    if (!cluster) throw new Error(`no Redis Cluster in ${dir}: start the stack with --redis-cluster`);
    return cluster;
  };
  const cluster = stack.command('cluster').description("the stack's Redis Cluster: roles, failovers");
  cluster
    .command('nodes')
    .description('print each node with its role as the cluster sees it now')
    .option(...dirOption)
    .action(async ({ dir }: { dir: string }) => {
      const info = readCluster(clusterDir(dir))!;
      console.log(JSON.stringify(await clusterTopology(info), null, 2));
    });
  cluster
    .command('kill-master')
    .description("SIGKILL a master (the last one, or --port's) and wait until its replica is promoted")
    .option(...dirOption)
    .option('--port <port>', 'the master to kill', Number)
    .action(async ({ dir, port }: { dir: string; port?: number }) => {
      const seed = readStack(dir)?.redisCluster?.nodes[0]?.port;
      const killed = await killMaster(clusterDir(dir), { port, except: seed ? [seed] : [] });
      const { promoted, waitedMs } = await waitForFailover(clusterDir(dir), killed);
      console.log(
        `killed ${killed.name} (port ${killed.port}); ${promoted.name} (port ${promoted.port}) promoted in ${waitedMs} ms`,
      );
    });
  cluster
    .command('start-node <name>')
    .description('start a stopped node again (a killed master rejoins as a replica) and wait for health')
    .option(...dirOption)
    .action(async (name: string, { dir }: { dir: string }) => {
      const started = Date.now();
      await startClusterNode(clusterDir(dir), name);
      console.log(`${name} started; the cluster is healthy after ${Date.now() - started} ms`);
    });
  cluster
    .command('wait-healthy')
    .description('wait until every slot is served and every master has its replica in sync')
    .option(...dirOption)
    .action(async ({ dir }: { dir: string }) => {
      await waitForClusterHealthy(clusterDir(dir));
      console.log('healthy');
    });
}
