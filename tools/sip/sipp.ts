import { spawn } from 'node:child_process';
import { existsSync, mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { projectRoot } from '../stack/toolchain';
import { ManagedProcess, startDaemon, stopProcess, waitUntil } from '../stack/processes';
import { canBind, freeUdpPort } from './udp';

/**
 * SIPp on loopback with the scenarios of test/sip/: the callee that answers every call
 * (uas.xml) and callers that wait for the switch to cut them (uac-cut.xml), hang up after a
 * pause (uac-hangup.xml); both take a refusal. Each run writes its <log>
 * actions to a file in its directory, read back as call events.
 */

export const SCENARIOS = join(projectRoot, 'test', 'sip');
export const SIPP = () => process.env.SIPP_PATH ?? 'sipp';

/** What a scenario logged about one call; `atMs` is the SIPp process's clock. */
export type CallEvent =
  | { kind: 'answered' | 'bye' | 'hangup'; callId: string; atMs: number }
  | { kind: 'refused'; callId: string; code: number; reason: string };

/** The events of a SIPp log file (lines written by the scenarios' <log> actions). */
export function parseCallEvents(text: string): CallEvent[] {
  const events: CallEvent[] = [];
  for (const line of text.split('\n')) {
    const timed = /^(answered|bye|hangup) (\S+) (\d+)$/.exec(line.trim());
    if (timed) {
      const [, kind = '', callId = '', at = ''] = timed;
      events.push({ kind: kind as 'answered' | 'bye' | 'hangup', callId, atMs: Number(at) });
      continue;
    }
    const refused = /^refused (\S+) (\d{3}) (\S*)$/.exec(line.trim());
    if (refused) {
      const [, callId = '', code = '', reason = ''] = refused;
      events.push({ kind: 'refused', callId, code: Number(code), reason });
    }
  }
  return events;
}

const readEvents = (file: string) => (existsSync(file) ? parseCallEvents(readFileSync(file, 'utf8')) : []);

export interface Callee {
  port: number;
  /** The calls answered and the BYEs received so far. */
  events(): CallEvent[];
  stop(): Promise<void>;
}

/** Starts the callee (uas.xml) on a free port, logging into `dir`. */
export async function startCallee(dir: string): Promise<Callee> {
  mkdirSync(dir, { recursive: true });
  const port = await freeUdpPort();
  const events = join(dir, `callee-${port}-events.log`);
  const args = ['-sf', join(SCENARIOS, 'uas.xml'), '-i', '127.0.0.1', '-p', String(port), '-nostdin'];
  args.push('-trace_logs', '-log_file', events);
  const proc: ManagedProcess = startDaemon('sipp-callee', SIPP(), args, {
    cwd: dir,
    log: join(dir, `callee-${port}.out`),
    marker: String(port),
  });
  try {
    await waitUntil('sipp callee', async () => !(await canBind(port)), { timeoutMs: 5_000, proc });
  } catch (error) {
    await stopProcess(proc, 2_000);
    throw error;
  }
  return { port, events: () => readEvents(events), stop: () => stopProcess(proc, 2_000) };
}

export interface Calls {
  /** The caller's scenario. */
  scenario: 'uac-cut' | 'uac-hangup';
  /** The switch's UDP port on 127.0.0.1. */
  switchPort: number;
  /** Who calls: the calls take these in turn (the X-Tenant header and the From user). */
  callers: { tenant: string; user: string }[];
  /** The dialled number (E.164). */
  callee: string;
  license?: string;
  country?: string;
  /** How many calls, how many at once at most, started how many a second. */
  calls: number;
  concurrent?: number;
  ratePerSecond?: number;
  /** How long uac-hangup stays connected before its BYE. */
  holdMs?: number;
  /** Call-IDs are `<callIdPrefix>-1`, `-2`, ... */
  callIdPrefix: string;
  dir: string;
  /** SIPp gives up (and the run fails) after this long. */
  timeoutSeconds?: number;
}

export interface CallsResult {
  /** SIPp's exit code: 0 when every call went as its scenario expects. */
  exitCode: number;
  events: CallEvent[];
  /** SIPp's own output, for a failure message. */
  output: string;
}

/** Places the calls with SIPp and resolves when SIPp is done with all of them. */
export async function placeCalls(options: Calls): Promise<CallsResult> {
  mkdirSync(options.dir, { recursive: true });
  const events = join(options.dir, `${options.callIdPrefix}-events.log`);
  const injection = join(options.dir, `${options.callIdPrefix}-callers.csv`);
  if (options.callers.length === 0) throw new Error('no callers');
  for (const { tenant, user } of options.callers)
    if (/[;\s]/.test(tenant + user)) throw new Error(`a caller may hold no ';' nor space: ${tenant} ${user}`);
  writeFileSync(
    injection,
    ['SEQUENTIAL', ...options.callers.map(({ tenant, user }) => `${tenant};${user};`)].join('\n') + '\n',
  );
  const keys = {
    callee: options.callee,
    license: options.license ?? 'MCOPSTNPP',
    country: options.country ?? 'US',
  };
  const args = [
    `127.0.0.1:${options.switchPort}`,
    ...['-sf', join(SCENARIOS, `${options.scenario}.xml`), '-i', '127.0.0.1', '-nostdin'],
    ...['-m', String(options.calls), '-l', String(options.concurrent ?? options.calls)],
    ...['-r', String(options.ratePerSecond ?? 10), '-d', String(options.holdMs ?? 1000)],
    ...['-cid_str', `${options.callIdPrefix}-%u`, '-trace_logs', '-log_file', events, '-inf', injection],
    ...['-timeout', `${options.timeoutSeconds ?? 60}s`, '-timeout_error'],
    ...Object.entries(keys).flatMap(([key, value]) => ['-key', key, value]),
  ];
  const child = spawn(SIPP(), args, { cwd: options.dir, stdio: ['ignore', 'pipe', 'pipe'] });
  let output = '';
  child.stdout.on('data', (chunk: Buffer) => (output = (output + chunk.toString()).slice(-20_000)));
  child.stderr.on('data', (chunk: Buffer) => (output = (output + chunk.toString()).slice(-20_000)));
  const exitCode = await new Promise<number>((resolve, reject) => {
    child.once('error', reject);
    child.once('exit', (code, signal) => resolve(code ?? (signal ? 128 : 1)));
  });
  return { exitCode, events: readEvents(events), output };
}

/** Connected seconds of each call in `events`, by Call-ID: from the answer to the BYE or hangup. */
export function callLengths(events: CallEvent[]): Map<string, number> {
  const answered = new Map<string, number>();
  const lengths = new Map<string, number>();
  for (const event of events) {
    if (event.kind === 'answered') answered.set(event.callId, event.atMs);
    else if (event.kind !== 'refused' && answered.has(event.callId))
      lengths.set(event.callId, (event.atMs - answered.get(event.callId)!) / 1000);
  }
  return lengths;
}
