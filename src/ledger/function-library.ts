import { readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';

/**
 * The ledger's scripts as one Redis Functions library. The sources stay one `.lua` file per
 * atomic operation, named `<operation>-<key count>.lua`, whose `--- @include "includes/<name>"`
 * lines name the shared helpers it uses; a first line `#!lua flags=no-writes` marks an
 * operation that only reads. The library is `commands/library.lua`, then every include once
 * (in an order where each comes after the includes it uses), then each operation registered
 * as a function whose body is the file's text: its helpers are made once when the library
 * loads, not on every call as a script's are.
 *
 * Lua 5.1's limits apply to the whole: the top level holds every include's locals (at most 200;
 * about 105 now) and a function may use at most 60 of them as upvalues (applyUsage about 45):
 * past that, group helpers in a table. FUNCTION LOAD says which function broke a limit.
 *
 * Bump SCRIPTS_VERSION whenever a script's arguments or behaviour change: the library and its
 * functions are named by it, so old and new code never share a name.
 */
export const SCRIPTS_VERSION = 8;
export const COMMANDS_DIR = join(__dirname, 'commands');
export const LIBRARY_NAME = `rater_v${SCRIPTS_VERSION}`;

/** The name an operation is registered under: its function, and the client's command. */
export const scriptCommand = (operation: string) => `${operation}V${SCRIPTS_VERSION}`;

export interface ScriptDefinition {
  operation: string;
  command: string;
  numberOfKeys: number;
  /** Only reads (`no-writes`): called with FCALL_RO. */
  readOnly: boolean;
  /** The operation with its includes resolved in place: what its function runs, to read. */
  lua: string;
}

const INCLUDE = /^--- @include "([\w/-]+)"\s*$/;
const SCRIPT_FILE = /^(\w+)-(\d+)\.lua$/;
const READ_ONLY = '#!lua flags=no-writes';
const HEAD = 'library.lua';

interface SourceFile {
  definition: ScriptDefinition;
  /** The includes the file names, in order. */
  includes: string[];
  /** The file's text without its flags line and include lines. */
  body: string;
}

function includesOf(text: string): string[] {
  return text.split('\n').flatMap((line) => {
    const include = INCLUDE.exec(line);
    return include ? [include[1]!] : [];
  });
}

function withoutDirectives(text: string): string {
  return text
    .split('\n')
    .filter((line, i) => !INCLUDE.test(line) && !(i === 0 && line === READ_ONLY))
    .join('\n');
}

/** `names` and what they include, each once, every include after the ones it uses. */
function includeOrder(
  names: string[],
  dir: string,
  order: string[] = [],
  seen = new Set<string>(),
): string[] {
  for (const name of names) {
    if (seen.has(name)) continue;
    seen.add(name);
    includeOrder(includesOf(readFileSync(join(dir, `${name}.lua`), 'utf8')), dir, order, seen);
    order.push(name);
  }
  return order;
}

const includeText = (name: string, dir: string) =>
  withoutDirectives(readFileSync(join(dir, `${name}.lua`), 'utf8'));

function readSources(dir: string): SourceFile[] {
  return readdirSync(dir)
    .sort()
    .flatMap((file) => {
      const match = SCRIPT_FILE.exec(file);
      if (!match) return [];
      const text = readFileSync(join(dir, file), 'utf8');
      const includes = includesOf(text);
      const operation = match[1]!;
      const lua = [
        ...includeOrder(includes, dir).map((name) => includeText(name, dir)),
        withoutDirectives(text),
      ].join('\n');
      const readOnly = text.split('\n', 1)[0] === READ_ONLY;
      return [
        {
          definition: {
            operation,
            command: scriptCommand(operation),
            numberOfKeys: Number(match[2]),
            readOnly,
            lua,
          },
          includes,
          body: withoutDirectives(text),
        },
      ];
    });
}

export function loadScripts(dir = COMMANDS_DIR): ScriptDefinition[] {
  return readSources(dir).map((source) => source.definition);
}

/** The library's source, for FUNCTION LOAD REPLACE. */
export function buildLibrary(dir = COMMANDS_DIR): string {
  const sources = readSources(dir);
  const includes = includeOrder(
    sources.flatMap((source) => source.includes),
    dir,
  );
  const functions = sources.map(({ definition, body }) =>
    [
      'redis.register_function{',
      `  function_name = '${definition.command}',`,
      `  flags = { ${definition.readOnly ? "'no-writes'" : ''} },`,
      '  callback = function(KEYS, ARGV)',
      'beginCall()',
      body,
      'end,',
      '}',
    ].join('\n'),
  );
  return [
    `#!lua name=${LIBRARY_NAME}`,
    readFileSync(join(dir, HEAD), 'utf8'),
    ...includes.map((name) => includeText(name, dir)),
    ...functions,
  ].join('\n');
}
