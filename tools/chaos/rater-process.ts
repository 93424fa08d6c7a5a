import { ChildProcess, spawn } from 'node:child_process';
import { createWriteStream, existsSync, mkdirSync } from 'node:fs';
import { join } from 'node:path';
import { projectRoot } from '../stack/toolchain';

/** A rater running as a process of its own, to be killed at any moment. */
export interface RaterProcess {
  name: string;
  child: ChildProcess;
  /** Resolves once the process printed its ready line; rejects if it exits first. */
  ready: Promise<void>;
  exited: Promise<{ code: number | null; signal: NodeJS.Signals | null }>;
}

export interface RaterLaunch {
  /** Environment on top of this process's own: the service's configuration (docs/operating.md). */
  env: Record<string, string>;
  /** Name of the instance: its log file is `<logDir>/<name>.log`. */
  name: string;
  logDir: string;
  /** Node arguments: a script and its arguments; default the `serve` command of the CLI. */
  script?: string[];
  /** Text on stdout that says the service is up (default the `rater started` log line). */
  readyMarker?: string;
}

/**
 * The `serve` command of the command line, from the build when this runs from the build, or
 * from source through tsx.
 */
export function serveCommand(): string[] {
  const built = join(projectRoot, 'dist', 'cli.js');
  if (__filename.endsWith('.js') && existsSync(built)) return [built, 'serve'];
  return ['--require', 'tsx/cjs', join(projectRoot, 'src', 'cli.ts'), 'serve'];
}

/** Starts a rater child process; stdout and stderr go to its log file. */
export function startRater(launch: RaterLaunch): RaterProcess {
  mkdirSync(launch.logDir, { recursive: true });
  const marker = launch.readyMarker ?? 'rater started';
  const child = spawn(process.execPath, launch.script ?? serveCommand(), {
    cwd: projectRoot,
    env: { ...process.env, ...launch.env },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  const log = createWriteStream(join(launch.logDir, `${launch.name}.log`), { flags: 'a' });
  child.stderr!.pipe(log);
  const exited = new Promise<{ code: number | null; signal: NodeJS.Signals | null }>((resolve) =>
    child.once('exit', (code, signal) => resolve({ code, signal })),
  );
  let seen = '';
  const ready = new Promise<void>((resolve, reject) => {
    child.stdout!.on('data', (chunk: Buffer) => {
      log.write(chunk);
      // The marker may straddle two chunks: a short tail of the output is kept.
      seen = (seen + chunk.toString()).slice(-4096);
      if (seen.includes(marker)) resolve();
    });
    void exited.then(({ code, signal }) =>
      reject(new Error(`rater ${launch.name} exited (${signal ?? code}) before it was ready`)),
    );
  });
  // A rater killed before it was ready is not an unhandled rejection.
  ready.catch(() => undefined);
  return { name: launch.name, child, ready, exited };
}

/** Signals the rater's own process (by its PID) and waits for it to exit. */
export async function stopRater(rater: RaterProcess, signal: NodeJS.Signals = 'SIGKILL'): Promise<void> {
  if (rater.child.exitCode === null && rater.child.signalCode === null) rater.child.kill(signal);
  await rater.exited;
}

export const isAlive = (rater: RaterProcess) =>
  rater.child.exitCode === null && rater.child.signalCode === null;
