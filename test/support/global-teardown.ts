import { down } from '../../tools/stack/stack';

/** Stops the stack if this run started it, so a test run leaves no java or redis-server behind. */
export default async function globalTeardown(): Promise<void> {
  const dir = process.env.RATER_TEST_STACK_DIR;
  if (dir && (globalThis as { raterStackStartedHere?: boolean }).raterStackStartedHere) await down(dir);
}
