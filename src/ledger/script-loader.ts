import { readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import type { Cluster, Redis } from 'ioredis';
import { guarded, interpret, LedgerError, Refusal, ResultCode } from './result-codes';

/**
 * Ledger scripts: one `.lua` file per atomic operation, named `<operation>-<key count>.lua`.
 * `--- @include "includes/<name>"` lines are replaced by that file (each included once).
 * They are registered once with ioredis under a versioned name; bump the version whenever a
 * script's arguments or behaviour change, so old and new code never share a name.
 */
export const SCRIPTS_VERSION = 7;
export const COMMANDS_DIR = join(__dirname, 'commands');

/** The name a script is registered under on the client (and its pipelines). */
export const scriptCommand = (operation: string) => `${operation}V${SCRIPTS_VERSION}`;

export interface ScriptDefinition {
  operation: string;
  command: string;
  numberOfKeys: number;
  lua: string;
}

const INCLUDE = /^--- @include "([\w/-]+)"\s*$/;
const SCRIPT_FILE = /^(\w+)-(\d+)\.lua$/;

function resolveIncludes(file: string, dir: string, seen: Set<string>): string {
  return readFileSync(file, 'utf8')
    .split('\n')
    .map((line) => {
      const include = INCLUDE.exec(line);
      if (!include) return line;
      const name = include[1]!;
      if (seen.has(name)) return `-- (${name} already included)`;
      seen.add(name);
      return resolveIncludes(join(dir, `${name}.lua`), dir, seen);
    })
    .join('\n');
}

export function loadScripts(dir = COMMANDS_DIR): ScriptDefinition[] {
  return readdirSync(dir)
    .flatMap((file) => {
      const match = SCRIPT_FILE.exec(file);
      return match ? [{ file, operation: match[1]!, numberOfKeys: Number(match[2]) }] : [];
    })
    .map(({ file, operation, numberOfKeys }) => ({
      operation,
      command: scriptCommand(operation),
      numberOfKeys,
      lua: resolveIncludes(join(dir, file), dir, new Set()),
    }));
}

/** Registers every script on the client (and, for a cluster, on each node it talks to). */
export function registerScripts(
  redis: Redis | Cluster,
  scripts = loadScripts(),
): Map<string, ScriptDefinition> {
  const byOperation = new Map<string, ScriptDefinition>();
  for (const script of scripts) {
    redis.defineCommand(script.command, { numberOfKeys: script.numberOfKeys, lua: script.lua });
    byOperation.set(script.operation, script);
  }
  return byOperation;
}

type ScriptCall = (...args: (string | number)[]) => Promise<unknown[]>;

/**
 * Every script call goes through here: keys first, then arguments; the reply's code
 * interpreted (refusals as values, the unexpected thrown), a transient Redis failure thrown
 * as LedgerUnavailableError.
 */
export async function runScript(
  redis: Redis | Cluster,
  operation: string,
  keys: string[],
  args: (string | number)[],
): Promise<{ code: number; reply: unknown[] } | Refusal> {
  const call = (redis as unknown as Record<string, ScriptCall>)[scriptCommand(operation)];
  if (!call) throw new LedgerError(operation, ResultCode.BAD_ARGUMENT, 'no such script');
  const reply = await guarded(operation, () => call.call(redis, ...keys, ...args));
  return interpret(operation, reply);
}
