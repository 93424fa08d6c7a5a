/**
 * Clean-ups to run when a benchmark is interrupted (Ctrl-C, SIGTERM): a `finally` does not
 * run when the process is killed by a signal, so whatever holds a stack or a child process
 * registers here, and the process exits once they have all run.
 */
const cleanups = new Set<() => Promise<void>>();
let interrupted = false;

function interrupt(signal: NodeJS.Signals): void {
  if (interrupted) return;
  interrupted = true;
  console.error(`${signal}: stopping what the benchmark started`);
  void (async () => {
    for (const cleanup of [...cleanups].reverse())
      await cleanup().catch((error: unknown) => console.error(error));
    process.exit(130);
  })();
}

/** Runs `cleanup` on an interrupt until the returned function is called (at the end of a `finally`). */
export function onInterrupt(cleanup: () => Promise<void>): () => void {
  if (cleanups.size === 0) {
    process.on('SIGINT', interrupt);
    process.on('SIGTERM', interrupt);
  }
  cleanups.add(cleanup);
  return () => cleanups.delete(cleanup);
}
