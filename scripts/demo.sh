#!/usr/bin/env bash
# The main job on a fresh clone: install, build, start the control plane on the embedded store
# plus a paired agent, show a command round trip, keep both running until Ctrl-C.
set -euo pipefail
cd "$(dirname "$0")/.."
bash scripts/setup.sh
exec node --import tsx scripts/demo.ts "$@"
