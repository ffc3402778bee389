#!/usr/bin/env bash
# The demo on the local sandbox: who OpenSearch says each sandbox IAM principal is, asked with
# requests signed by each principal's credentials (and by assumed-role sessions) through the gateway.
set -euo pipefail
cd "$(dirname "$0")/.."
# shellcheck disable=SC1091
. .sandbox/env
echo "== Who each sandbox principal is to OpenSearch (signed GET _plugins/_security/authinfo)"
.venv/bin/osaccess sandbox identities
