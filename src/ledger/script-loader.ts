import type { Cluster, Redis } from 'ioredis';
import { buildLibrary, loadScripts, type ScriptDefinition } from './function-library';
import { guarded, interpret, LedgerError, Refusal, ResultCode } from './result-codes';

export {
  buildLibrary,
  COMMANDS_DIR,
  LIBRARY_NAME,
  loadScripts,
  SCRIPTS_VERSION,
  scriptCommand,
  type ScriptDefinition,
} from './function-library';

/**
 * The ledger's operations run as Redis Functions (function-library.ts): one library, loaded
 * with FUNCTION LOAD REPLACE on every master the client reaches, each time its connection to
 * it becomes ready (at start, after a restart or a reconnection); the AOF and the replicas
 * carry it. A call that finds its function missing (a Redis restarted empty, a library
 * flushed) loads the library and is tried once more, as EVALSHA's NOSCRIPT was answered.
 */
type Client = Redis | Cluster;
type Send = (...args: (string | number)[]) => Promise<unknown>;

interface Registration {
  library: string;
  byOperation: Map<string, ScriptDefinition>;
  /** The load under way, shared by the calls that found their function missing meanwhile. */
  loading?: Promise<void>;
}

const registered = new WeakMap<Client, Registration>();
let sources: { library: string; scripts: ScriptDefinition[] } | undefined;

function defaultSources() {
  sources ??= { library: buildLibrary(), scripts: loadScripts() };
  return sources;
}

/** True for the reply of an FCALL whose function the server does not have. */
export function isFunctionMissing(error: unknown): boolean {
  return error instanceof Error && /^ERR Function not found/.test(error.message);
}

const isCluster = (redis: Client): redis is Cluster => 'nodes' in redis && typeof redis.nodes === 'function';

async function loadOn(node: Redis, library: string): Promise<void> {
  await node.call('FUNCTION', 'LOAD', 'REPLACE', library);
}

/** Loads the library on the server, or on every master of a cluster. */
async function loadLibrary(redis: Client, registration: Registration): Promise<void> {
  registration.loading ??= (async () => {
    try {
      const nodes = isCluster(redis) ? redis.nodes('master') : [redis];
      await Promise.all(nodes.map((node) => loadOn(node, registration.library)));
    } finally {
      registration.loading = undefined;
    }
  })();
  return registration.loading;
}

/**
 * Each connection that becomes ready loads the library before the commands queued meanwhile
 * go out (ioredis sends them after its `ready` listeners ran). A replica refuses the load
 * (READONLY): its master's library reaches it by replication.
 */
function loadWhenReady(node: Redis, library: string): void {
  const load = () => void loadOn(node, library).catch(() => undefined);
  node.on('ready', load);
  if (node.status === 'ready') load();
}

/**
 * The client's command for an operation (`<operation>V<version>`), on the client and on its
 * pipelines (ioredis copies the commands in `addedBuiltinSet` onto each pipeline): keys
 * first, then arguments, as FCALL (FCALL_RO for a read-only operation). A pipeline whose
 * reply says the function is missing has the library loaded again (its caller retries).
 */
function addCommand(redis: Client, registration: Registration, script: ScriptDefinition): void {
  const call = script.readOnly ? 'fcall_ro' : 'fcall';
  const target = redis as unknown as Record<string, unknown> & { addedBuiltinSet: Set<string> };
  const watched = new WeakSet<object>();
  target[script.command] = function (this: PipelineLike, ...args: (string | number)[]) {
    if (this.isPipeline && this.promise && !watched.has(this)) {
      watched.add(this);
      this.promise.then(
        (replies) => {
          if (replies?.some(([error]) => isFunctionMissing(error)))
            loadLibrary(redis, registration).catch(() => undefined);
        },
        () => undefined,
      );
    }
    return this[call]!(script.command, script.numberOfKeys, ...args);
  };
  target.addedBuiltinSet.add(script.command);
}

type PipelineLike = Record<string, Send> & {
  isPipeline?: boolean;
  promise?: Promise<[Error | null, unknown][] | null>;
};

/** Registers every operation on the client, and loads the library where it connects. */
export function registerScripts(redis: Client): Map<string, ScriptDefinition> {
  const existing = registered.get(redis);
  if (existing) return existing.byOperation;
  const { library, scripts } = defaultSources();
  const registration: Registration = {
    library,
    byOperation: new Map(scripts.map((script) => [script.operation, script])),
  };
  registered.set(redis, registration);
  for (const script of scripts) addCommand(redis, registration, script);
  if (isCluster(redis)) {
    for (const node of redis.nodes('all')) loadWhenReady(node, registration.library);
    redis.on('+node', (node: Redis) => loadWhenReady(node, registration.library));
  } else {
    loadWhenReady(redis, registration.library);
  }
  return registration.byOperation;
}

async function callFunction(
  redis: Client,
  registration: Registration,
  script: ScriptDefinition,
  keys: string[],
  args: (string | number)[],
): Promise<unknown[]> {
  const send = () =>
    (script.readOnly ? redis.fcall_ro : redis.fcall).call(
      redis,
      script.command,
      script.numberOfKeys,
      ...keys,
      ...args,
    ) as Promise<unknown[]>;
  try {
    return await send();
  } catch (error) {
    if (!isFunctionMissing(error)) throw error;
    await loadLibrary(redis, registration);
    return send();
  }
}

/**
 * Every ledger operation goes through here: keys first, then arguments; the reply's code
 * interpreted (refusals as values, the unexpected thrown), a transient Redis failure thrown
 * as LedgerUnavailableError.
 */
export async function runScript(
  redis: Client,
  operation: string,
  keys: string[],
  args: (string | number)[],
): Promise<{ code: number; reply: unknown[] } | Refusal> {
  const registration = registered.get(redis);
  const script = registration?.byOperation.get(operation);
  if (!registration || !script) throw new LedgerError(operation, ResultCode.BAD_ARGUMENT, 'no such script');
  const reply = await guarded(operation, () => callFunction(redis, registration, script, keys, args));
  return interpret(operation, reply);
}

/** Loads the library now (on every master of a cluster): for a caller that must know it is there. */
export async function ensureLibrary(redis: Client): Promise<void> {
  registerScripts(redis);
  await loadLibrary(redis, registered.get(redis)!);
}
