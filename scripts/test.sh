#!/usr/bin/env bash
# Runs the whole test suite: installs missing system packages (as root on Debian), starts throwaway
# PostgreSQL and MariaDB unless TEST_PG_URL / TEST_MYSQL_URL are given, runs `bun test`, and ends with
# the line "N passed, N failed" (bun prints " N pass" / " N fail" on stderr). Keeps bun's exit code.
set -uo pipefail
cd "$(dirname "$0")/.."
export SCARF_ANALYTICS=false
bash scripts/system-deps.sh || { echo "0 passed, 1 failed"; exit 1; }
# shellcheck source=scripts/databases.sh
. scripts/databases.sh
trap stop_databases EXIT
if [ -z "${TEST_PG_URL:-}" ] || [ -z "${TEST_MYSQL_URL:-}" ]; then
  start_databases || { echo "could not start the test databases (logs in $DB_RUN)" >&2; echo "0 passed, 1 failed"; exit 1; }
fi
BUN=${BUN:-./node_modules/.bin/bun}
log=$(mktemp)
"$BUN" test --timeout 30000 "$@" 2>&1 | tee "$log"
rc=${PIPESTATUS[0]}
pass=$(grep -E '^ *[0-9]+ pass$' "$log" | tail -1 | tr -dc 0-9)
fail=$(grep -E '^ *[0-9]+ fail$' "$log" | tail -1 | tr -dc 0-9)
rm -f "$log"
if [ -z "$pass$fail" ]; then pass=0; fail=1; fi # bun died before printing a summary
pass=${pass:-0}; fail=${fail:-0}
if [ "$rc" -ne 0 ] && [ "$fail" -eq 0 ]; then fail=1; fi
echo "${pass} passed, ${fail} failed"
exit "$rc"
