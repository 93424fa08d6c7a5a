#!/usr/bin/env bash
# The whole test suite: static checks, then unit and integration tests against a real local
# stack (Kafka, Redis, schema registry) that the suite starts and stops itself.
set -euo pipefail
cd "$(dirname "$0")/.."
source scripts/bootstrap.sh

export RATER_TEST_STACK_DIR="${RATER_TEST_STACK_DIR:-$PWD/.stack/test}"
export RATER_FAULT_STACK_DIR="${RATER_FAULT_STACK_DIR:-$PWD/.stack/fault}"
already_running=0
[ -f "$RATER_TEST_STACK_DIR/stack.json" ] && npx tsx tools/cli.ts stack status --dir "$RATER_TEST_STACK_DIR" >/dev/null 2>&1 && already_running=1
# Jest's global teardowns stop the stacks; this is the safety net for an interrupted run.
cleanup() {
  [ "$already_running" = 1 ] || npx tsx tools/cli.ts stack down --dir "$RATER_TEST_STACK_DIR" >/dev/null 2>&1 || true
  npx tsx tools/cli.ts stack down --dir "$RATER_FAULT_STACK_DIR" >/dev/null 2>&1 || true
  [ -f .stack/fault-chaos/stack.json ] && npx tsx tools/cli.ts stack down --dir .stack/fault-chaos >/dev/null 2>&1 || true
  [ -f .stack/cluster-failover/cluster.json ] && npx tsx tools/cli.ts stack down --dir .stack/cluster-failover >/dev/null 2>&1 || true
  [ -f .stack/secured-cluster/stack.json ] && npx tsx tools/cli.ts stack down --dir .stack/secured-cluster >/dev/null 2>&1 || true
}
trap cleanup EXIT

echo "== static checks: types, lint, format, layer rules"
npx tsc -p tsconfig.json --noEmit
npm run --silent lint

echo "== tests"
mkdir -p .cache
status=0
npx jest --ci --maxWorkers=2 --json --outputFile=.cache/jest-results.json "$@" || status=$?
node -e '
  const r = require("./.cache/jest-results.json");
  const skipped = r.numPendingTests + r.numTodoTests;
  console.log(`jest: ${r.numPassedTests} passed, ${r.numFailedTests} failed, ${skipped} skipped`);
' || true
exit "$status"
