import { spawn } from 'node:child_process';
import { openSync, readFileSync } from 'node:fs';
import { createServer } from 'node:net';

/** A process the stack started, recorded so that `down` can stop exactly it. */
export interface ManagedProcess {
  name: string;
  pid: number;
  /** A string the process's command line must contain, so a reused PID is never signalled. */
  marker: string;
  log: string;
  /** How it was started, so it can be restarted the same way (same ports, same data). */
  command: string;
  args: string[];
  cwd: string;
}

/** Whether a port can be listened on at 127.0.0.1 just now. */
function canListen(port: number): Promise<boolean> {
  return new Promise((resolve) => {
    const server = createServer();
    server.unref();
    server.once('error', () => resolve(false));
    server.listen(port, '127.0.0.1', () => server.close(() => resolve(true)));
  });
}

/** The lowest port the kernel hands out for bind(0) and outgoing connections. */
function ephemeralLow(): number {
  try {
    return Number(readFileSync('/proc/sys/net/ipv4/ip_local_port_range', 'utf8').trim().split(/\s+/)[0]);
  } catch {
    return 32768;
  }
}

const handedOut = new Set<number>();

/**
 * A free port for a server the stack starts, below the kernel's ephemeral range: a port from
 * that range (what listening on port 0 gives) can be taken by any outgoing connection, or by
 * another bind(0), in the seconds before a slow server (a JVM) binds it. A random pick below
 * it, checked free, never handed out twice by this process.
 */
export function freePort(): Promise<number> {
  return pickPort(canListen, 'TCP');
}

/** A port below the ephemeral range that `usable` says is free, never handed out twice (TCP or UDP). */
export async function pickPort(usable: (port: number) => Promise<boolean>, what: string): Promise<number> {
  const high = Math.min(ephemeralLow(), 65536) - 1;
  const low = Math.max(1024, high - 20_000);
  for (let attempt = 0; attempt < 200; attempt++) {
    const port = low + Math.floor(Math.random() * (high - low + 1));
    if (handedOut.has(port) || !(await usable(port))) continue;
    handedOut.add(port);
    return port;
  }
  throw new Error(`no free ${what} port found in ${low}-${high}`);
}

/** Starts a long-lived server in its own process group, detached from ours, output to a file. */
export function startDaemon(
  name: string,
  command: string,
  args: string[],
  options: { cwd: string; log: string; marker: string; env?: NodeJS.ProcessEnv },
): ManagedProcess {
  const out = openSync(options.log, 'a');
  const child = spawn(command, args, {
    cwd: options.cwd,
    env: options.env ?? process.env,
    detached: true,
    stdio: ['ignore', out, out],
  });
  if (child.pid === undefined) throw new Error(`could not start ${name} (${command})`);
  child.unref();
  return {
    name,
    pid: child.pid,
    marker: options.marker,
    log: options.log,
    command,
    args,
    cwd: options.cwd,
  };
}

export function isRunning(proc: ManagedProcess): boolean {
  try {
    const cmdline = readFileSync(`/proc/${proc.pid}/cmdline`, 'utf8').replace(/\0/g, ' ');
    if (!cmdline.includes(proc.marker)) return false;
    const stat = readFileSync(`/proc/${proc.pid}/stat`, 'utf8');
    return stat.slice(stat.lastIndexOf(')') + 2, stat.lastIndexOf(')') + 3) !== 'Z';
  } catch {
    return false;
  }
}

const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

/** SIGTERM to the process group, then SIGKILL after the grace period. */
export async function stopProcess(proc: ManagedProcess, graceMs = 15_000): Promise<void> {
  if (!isRunning(proc)) return;
  signalGroup(proc.pid, 'SIGTERM');
  const deadline = Date.now() + graceMs;
  while (Date.now() < deadline) {
    if (!isRunning(proc)) return;
    await sleep(100);
  }
  signalGroup(proc.pid, 'SIGKILL');
  while (isRunning(proc)) await sleep(50);
}

/** SIGKILL, no grace: a crash of the server, not a shutdown. */
export async function killProcess(proc: ManagedProcess): Promise<void> {
  if (!isRunning(proc)) return;
  signalGroup(proc.pid, 'SIGKILL');
  while (isRunning(proc)) await sleep(50);
}

/** SIGSTOP or SIGCONT: a server that hangs (it keeps its connections, and answers nothing). */
export function pauseProcess(proc: ManagedProcess, paused: boolean): void {
  if (isRunning(proc)) signalGroup(proc.pid, paused ? 'SIGSTOP' : 'SIGCONT');
}

function signalGroup(pid: number, signal: NodeJS.Signals): void {
  try {
    process.kill(-pid, signal);
  } catch {
    try {
      process.kill(pid, signal);
    } catch {
      /* already gone */
    }
  }
}

/** Polls `probe` until it resolves true; fails early when the process has died. */
export async function waitUntil(
  what: string,
  probe: () => Promise<boolean>,
  options: { timeoutMs: number; proc?: ManagedProcess },
): Promise<void> {
  const deadline = Date.now() + options.timeoutMs;
  let lastError: unknown;
  while (Date.now() < deadline) {
    if (options.proc && !isRunning(options.proc)) {
      throw new Error(`${what}: the process exited; see ${options.proc.log}\n${tail(options.proc.log)}`);
    }
    try {
      if (await probe()) return;
    } catch (error) {
      lastError = error;
    }
    await sleep(200);
  }
  const detail = lastError instanceof Error ? `: ${lastError.message}` : '';
  throw new Error(`${what}: not ready after ${options.timeoutMs} ms${detail}`);
}

export function tail(file: string, lines = 20): string {
  try {
    return readFileSync(file, 'utf8').trimEnd().split('\n').slice(-lines).join('\n');
  } catch {
    return '';
  }
}
