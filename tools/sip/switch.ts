import { mkdirSync } from 'node:fs';
import { join } from 'node:path';
import { projectRoot } from '../stack/toolchain';
import { isRunning, ManagedProcess, startDaemon, stopProcess, tail, waitUntil } from '../stack/processes';
import { freeUdpPort, sipOptions } from './udp';

/**
 * The prepaid SIP switch: Kamailio with deploy/kamailio/kamailio.cfg on loopback, in the
 * foreground (its own process group), with its pid file, run directory and log in `dir`.
 */

export const SWITCH_CONFIG = join(projectRoot, 'deploy', 'kamailio', 'kamailio.cfg');

export interface SwitchOptions {
  /** The rater's base URL (http://127.0.0.1:port). */
  raterUrl: string;
  /** The bearer token of the sessions API (the operator's token). */
  token: string;
  /** Where answered calls go (sip:127.0.0.1:port); the request URI's host without it. */
  gateway?: string;
  /** Pid file, run directory and log. */
  dir: string;
  /** UDP port; a free one when absent. */
  port?: number;
  /** Seconds before a grant ends when the switch asks for more (RENEW_BEFORE, default 2). */
  renewBefore?: number;
}

export interface SipSwitch {
  port: number;
  /** Kamailio's log (stderr). */
  log: string;
  process: ManagedProcess;
  stop(): Promise<void>;
}

/** A define given to Kamailio with -A: strings are quoted, and may hold no quote themselves. */
function define(name: string, value: string | number): string[] {
  if (typeof value === 'number') return ['-A', `${name}=${value}`];
  if (/["\\\r\n]/.test(value)) throw new Error(`${name} may not hold quotes, backslashes or line breaks`);
  return ['-A', `${name}="${value}"`];
}

/** The kamailio command line for `options` (the binary is KAMAILIO_PATH or kamailio). */
export function switchArgs(options: SwitchOptions & { port: number }): string[] {
  return [
    '-DD',
    '-E',
    '-f',
    SWITCH_CONFIG,
    '-P',
    join(options.dir, 'kamailio.pid'),
    '-Y',
    options.dir,
    '-m',
    '64',
    '-M',
    '8',
    '-l',
    `udp:127.0.0.1:${options.port}`,
    ...define('RATER_URL', options.raterUrl.replace(/\/+$/, '')),
    ...define('RATER_TOKEN', options.token),
    ...(options.gateway ? define('GATEWAY', options.gateway) : []),
    ...(options.renewBefore !== undefined ? define('RENEW_BEFORE', options.renewBefore) : []),
  ];
}

/** Starts the switch and waits until it answers an OPTIONS (under a second when it is well). */
export async function startSwitch(options: SwitchOptions): Promise<SipSwitch> {
  mkdirSync(options.dir, { recursive: true });
  const port = options.port ?? (await freeUdpPort());
  const log = join(options.dir, 'kamailio.log');
  const args = switchArgs({ ...options, port });
  const proc = startDaemon('kamailio', process.env.KAMAILIO_PATH ?? 'kamailio', args, {
    cwd: options.dir,
    log,
    marker: `udp:127.0.0.1:${port}`,
  });
  const stop = () => stopProcess(proc, 5_000);
  try {
    await waitUntil('kamailio', async () => (await sipOptions(port, 300)) === 200, {
      timeoutMs: 10_000,
      proc,
    });
  } catch (error) {
    await stop();
    throw error;
  }
  return { port, log, process: proc, stop };
}

/** Kamailio's last log lines, for a failure message. */
export const switchLogTail = (sipSwitch: SipSwitch, lines = 40) =>
  isRunning(sipSwitch.process) ? tail(sipSwitch.log, lines) : `(stopped)\n${tail(sipSwitch.log, lines)}`;
