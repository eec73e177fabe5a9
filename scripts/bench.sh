#!/usr/bin/env bash
# Benchmarks (see README): builds first, then runs test/bench/bench.ts. Pass --json for one JSON line.
set -euo pipefail
cd "$(dirname "$0")/.."
bash scripts/setup.sh >&2
exec node --import tsx test/bench/bench.ts "$@"
