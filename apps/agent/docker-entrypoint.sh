#!/bin/sh
# Developer stack only: pairs once with the code the control plane wrote at its first start,
# then runs. A real installation pairs by hand (botmox-agent pair) and runs as a service.
set -eu
AGENT="${BOTMOX_AGENT_CMD:-node /app/apps/agent/dist/cli.js}"
BOOTSTRAP="${BOTMOX_BOOTSTRAP_FILE:-/bootstrap/demo.json}"
SERVER="${BOTMOX_SERVER:?BOTMOX_SERVER must name the control plane, e.g. http://control-plane:8080}"

if ! grep -q '"agent_id"' "$BOTMOX_AGENT_HOME/config.json" 2>/dev/null; then
  echo "waiting for $BOOTSTRAP" >&2
  while [ ! -s "$BOOTSTRAP" ]; do sleep 1; done
  CODE=$(node -e 'console.log(JSON.parse(require("fs").readFileSync(process.argv[1], "utf8")).pairing_code)' "$BOOTSTRAP")
  # The stack's own network: the control plane is plain http://control-plane:8080 there.
  until $AGENT pair --allow-http --server "$SERVER" --code "$CODE"; do sleep 2; done
fi
exec $AGENT run
