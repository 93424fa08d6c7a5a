#!/usr/bin/env bash
# The main job on the local stack, from a fresh machine: prepares it, then runs the demo.
set -euo pipefail
cd "$(dirname "$0")/.."
source scripts/bootstrap.sh
exec npx tsx tools/demo/main.ts "$@"
