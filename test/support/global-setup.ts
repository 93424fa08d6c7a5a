import { join } from 'node:path';
import { isStackRunning, readStack, up } from '../../tools/stack/stack';
import { projectRoot } from '../../tools/stack/toolchain';

/**
 * Starts the real local stack once for all integration tests, in its own state directory.
 * A stack already running there (started by hand to iterate faster) is reused and left up.
 */
export default async function globalSetup(): Promise<void> {
  const dir = process.env.RATER_TEST_STACK_DIR ?? join(projectRoot, '.stack', 'test');
  process.env.RATER_TEST_STACK_DIR = dir;
  const existing = readStack(dir);
  const reuse = existing !== undefined && isStackRunning(existing) && existing.redisCluster !== undefined;
  const started = Date.now();
  await up(dir, { redisCluster: true });
  (globalThis as { raterStackStartedHere?: boolean }).raterStackStartedHere = !reuse;
  if (!reuse) console.log(`\nlocal stack up in ${Date.now() - started} ms (${dir})`);
}
