#!/usr/bin/env bash
# The integration tests against every OpenSearch version of the matrix, one after the other.
#
#   scripts/test-matrix.sh [VERSION...]     default: MATRIX_VERSIONS in sandbox/versions.env
#
# Each version runs in its own sandbox state (.sandbox/matrix-VERSION), started before its tests
# and stopped after them, so that versions never share data and the default sandbox is left alone.
# Prints the time each version took; exits non-zero when any version failed.
set -uo pipefail
ROOT=$(cd "$(dirname "$0")/.." && pwd)
cd "$ROOT" || exit 1
# shellcheck source=../sandbox/versions.env
. sandbox/versions.env
versions=("$@")
[ ${#versions[@]} -gt 0 ] || read -r -a versions <<<"$MATRIX_VERSIONS"
PYTHON=${OSACCESS_PYTHON:-$ROOT/.venv/bin/python}
failed=()
summary=()
for version in "${versions[@]}"; do
  state=$ROOT/.sandbox/matrix-$version
  export OSACCESS_SANDBOX_VERSION=$version OSACCESS_SANDBOX_STATE=$state
  printf '\n=== OpenSearch %s ===\n' "$version"
  started=$(date +%s)
  status=0
  scripts/sandbox.sh start || status=$?
  if [ "$status" = 0 ]; then
    # as `make test`: the tests that may share the sandbox in parallel, then the serial ones
    "$PYTHON" -m pytest -m "integration and not serial" -n "${TEST_WORKERS:-4}" --dist worksteal \
      -p no:cacheprovider || status=$?
    "$PYTHON" -m pytest -m "integration and serial" -p no:cacheprovider || status=$?
  fi
  scripts/sandbox.sh stop || true
  took=$(( $(date +%s) - started ))
  summary+=("OpenSearch $version: $([ "$status" = 0 ] && echo passed || echo "FAILED ($status)") in ${took}s")
  [ "$status" = 0 ] || failed+=("$version")
done
printf '\n=== matrix ===\n'
printf '%s\n' "${summary[@]}"
[ ${#failed[@]} -eq 0 ] || { echo "failed on: ${failed[*]}"; exit 1; }
