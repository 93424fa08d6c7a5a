/**
 * The rating curve of the scaling benchmark: bench/rating.ts at each deck size, in a process
 * of its own (pinned to one core where taskset is there, the heap clean of the other decks).
 */
import { spawnSync } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { projectRoot } from '../tools/stack/toolchain';

export interface RatingPoint {
  prefixes: number;
  ratedPerSecond: number;
  lookupsPerSecond: number;
  heapMB: number;
  loadMs: number;
}

const hasTaskset = () => spawnSync('taskset', ['--version']).status === 0;

export function ratingCurve(points: number[]): RatingPoint[] {
  const dir = mkdtempSync(join(tmpdir(), 'rater-bench-rating-'));
  const pin = hasTaskset() ? ['taskset', '-c', '0'] : [];
  try {
    return points.map((prefixes) => {
      console.log(`[rating] ${prefixes.toLocaleString('en')} prefixes`);
      const out = join(dir, `${prefixes}.json`);
      const command = [
        ...pin,
        process.execPath,
        '--expose-gc',
        '--import',
        'tsx',
        join('bench', 'rating.ts'),
      ];
      const run = spawnSync(command[0]!, command.slice(1), {
        cwd: projectRoot,
        env: { ...process.env, BENCH_RATING_PREFIXES: String(prefixes), BENCH_RATING_OUT: out },
        stdio: ['ignore', 'ignore', 'inherit'],
      });
      if (run.status !== 0)
        throw new Error(`bench/rating.ts at ${prefixes} prefixes exited with ${run.status}`);
      const r = JSON.parse(readFileSync(out, 'utf8')) as RatingPoint & { deckPrefixes: number };
      return {
        prefixes: r.deckPrefixes,
        ratedPerSecond: r.ratedPerSecond,
        lookupsPerSecond: r.lookupsPerSecond,
        heapMB: r.heapMB,
        loadMs: r.loadMs,
      };
    });
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}
