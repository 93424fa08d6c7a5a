import { Command } from 'commander';
import {
  defaultStackDir,
  down,
  isStackRunning,
  readStack,
  restart,
  ServiceName,
  stackEnv,
  up,
} from './stack';

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
    .option('--redis-cluster', 'also start a 3-master Redis Cluster')
    .action(async ({ dir, redisCluster }: { dir: string; redisCluster?: boolean }) => {
      const started = Date.now();
      const info = await up(dir, { redisCluster: redisCluster === true });
      console.log(JSON.stringify({ ...info, env: stackEnv(info), upMs: Date.now() - started }, null, 2));
    });

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
