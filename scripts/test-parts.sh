#!/usr/bin/env bash
# The test suite's two parts at the same time, each against a sandbox of its own:
#
#   shared   the tests that may share a node (pytest -m "$1", default "not serial"), in
#            pytest-xdist workers, on the sandbox of OSACCESS_SANDBOX_STATE (default .sandbox),
#            started first if it is not running;
#   serial   the tests marked `serial` (whole-cluster reads, the shipped mappings, a node restart,
#            exact counts), one at a time, on a second sandbox of the same version (state
#            STATE/serial, port PORT+50), started here while the shared part runs, stopped after.
#
#   scripts/test-parts.sh ["not serial" | "integration and not serial"]
#
# Together the two parts are every test the expression and `serial` select. The serial part's
# output is printed after the shared part's; the exit status is non-zero when either failed.
set -uo pipefail
ROOT=$(cd "$(dirname "$0")/.." && pwd)
cd "$ROOT" || exit 1
SHARED=${1:-not serial}
SERIAL=serial
case "$SHARED" in integration*) SERIAL="integration and serial" ;; esac
PYTHON=${OSACCESS_PYTHON:-$ROOT/.venv/bin/python}
STATE=${OSACCESS_SANDBOX_STATE:-$ROOT/.sandbox}
PORT=${OSACCESS_SANDBOX_PORT:-$(cat "$STATE/ports" 2>/dev/null || echo 9200)}
SERIAL_STATE=$STATE/serial
SERIAL_PORT=$((PORT + 50))
mkdir -p "$SERIAL_STATE"
LOG=$SERIAL_STATE/tests.log

OSACCESS_SANDBOX_STATE=$STATE OSACCESS_SANDBOX_PORT=$PORT scripts/sandbox.sh start || exit $?

stop_serial() { OSACCESS_SANDBOX_STATE=$SERIAL_STATE scripts/sandbox.sh stop >/dev/null 2>&1 || true; }
trap stop_serial EXIT

# the serial part: its own sandbox, started while the shared part already runs
(
  export OSACCESS_SANDBOX_STATE=$SERIAL_STATE OSACCESS_SANDBOX_PORT=$SERIAL_PORT
  scripts/sandbox.sh start >"$SERIAL_STATE/start.log" 2>&1 || {
    cat "$SERIAL_STATE/start.log"
    exit 70
  }
  "$PYTHON" -m pytest -m "$SERIAL" -p no:cacheprovider
) >"$LOG" 2>&1 &
serial_pid=$!

OSACCESS_SANDBOX_STATE=$STATE "$PYTHON" -m pytest -n "${TEST_WORKERS:-4}" --dist worksteal \
  -m "$SHARED"
shared=$?

wait "$serial_pid"
serial=$?
printf '\n=== the serial part (tests marked serial, on a sandbox of their own) ===\n'
cat "$LOG"
[ "$serial" = 70 ] && echo "the serial part's sandbox did not start (above)" >&2
[ "$shared" = 0 ] && [ "$serial" = 0 ]
