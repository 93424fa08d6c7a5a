#!/usr/bin/env bash
# Runs a command once the machine is ready (scripts/bootstrap.sh: Node 22+, npm dependencies,
# redis-server), so that `npm run bench` and `npm run chaos` work on a fresh clone too.
set -euo pipefail
cd "$(dirname "$0")/.."
source scripts/bootstrap.sh
exec "$@"
