import { join } from 'node:path';
import { up } from '../../tools/stack/stack';
import { projectRoot } from '../../tools/stack/toolchain';

/** The fault tests restart Redis and Kafka: they get a stack of their own. */
export default async function faultSetup(): Promise<void> {
  const dir = process.env.RATER_FAULT_STACK_DIR ?? join(projectRoot, '.stack', 'fault');
  process.env.RATER_FAULT_STACK_DIR = dir;
  const started = Date.now();
  await up(dir);
  console.log(`\nfault stack up in ${Date.now() - started} ms (${dir})`);
}
