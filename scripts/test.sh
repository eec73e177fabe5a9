#!/usr/bin/env bash
# The whole test suite, from a fresh clone: system packages, npm deps, build, then vitest.
set -euo pipefail
cd "$(dirname "$0")/.."
bash scripts/setup.sh --test
node scripts/build-agent-binary.mjs 2>&1 | grep -v "string offset for section" # postject's harmless ELF notes
report=$(mktemp)
trap 'rm -f "$report"' EXIT
status=0
npx vitest run --reporter=default --reporter=json --outputFile.json="$report" "$@" || status=$?
node -e '
  const r = JSON.parse(require("fs").readFileSync(process.argv[1], "utf8"));
  const skipped = r.numPendingTests + r.numTodoTests;
  console.log(`\n${r.numPassedTests} passed, ${r.numFailedTests} failed` + (skipped ? `, ${skipped} skipped` : ""));
' "$report" 2>/dev/null || true
exit $status
