#!/usr/bin/env bash
# The demo on the local sandbox (started by `make demo`):
#  1. who each sandbox IAM principal is to OpenSearch (signed authinfo through the IAM gateway);
#  2. validate, plan and apply mappings/ through the gateway as the master role, SigV4-signed;
#  3. plan again: nothing left to do;
#  4. explain what the analytics role can do now, and why;
#  5. log in as the internal user log-shipper with the password its Secrets Manager source holds.
set -euo pipefail
cd "$(dirname "$0")/.."
# shellcheck disable=SC1091
. .sandbox/env
osaccess=.venv/bin/osaccess
export AWS_PROFILE=sandbox-master
# mappings/sandbox.yaml names the gateway's default port; follow the sandbox wherever it runs
export OSACCESS_ENDPOINT=$OSACCESS_GATEWAY_URL

step() { if [ -t 1 ]; then printf '\n\033[1m== %s\033[0m\n' "$*"; else printf '\n== %s\n' "$*"; fi; }

step "Who each sandbox principal is to OpenSearch (signed GET _plugins/_security/authinfo)"
.venv/bin/python -m sandbox identities

step "osaccess validate mappings/"
$osaccess validate mappings/

step "osaccess plan mappings/   (as $AWS_PROFILE, SigV4 through $OSACCESS_GATEWAY_URL)"
status=0
$osaccess plan mappings/ --detailed-exitcode || status=$?
[ "$status" -le 2 ] || exit "$status"

step "osaccess apply mappings/ --yes"
$osaccess apply mappings/ --yes

step "osaccess plan mappings/ again"
$osaccess plan mappings/ --detailed-exitcode

step "osaccess explain: who has access, and why (agrees with the node's own authinfo)"
$osaccess explain arn:aws:iam::222222222222:role/analytics -c mappings/sandbox.yaml

step "Log in as the internal user log-shipper, with the password from its Secrets Manager source"
.venv/bin/python - <<'PY'
import json, os, boto3, requests
secret = boto3.client("secretsmanager").get_secret_value(SecretId="osaccess/sandbox/log-shipper")
password = json.loads(secret["SecretString"])["password"]
who = requests.get(
    os.environ["OSACCESS_SANDBOX_URL"] + "/_plugins/_security/authinfo",
    auth=("log-shipper", password),
    verify=os.environ["OSACCESS_CA_CERTS"],
    timeout=30,
)
who.raise_for_status()
info = who.json()
print(f"logged in as {info['user_name']}: roles {info['roles']}, backend roles {info['backend_roles']}")
PY
$osaccess explain log-shipper -c mappings/sandbox.yaml | sed -n '1,12p'
echo
echo "Demo done. Try: source .sandbox/env; AWS_PROFILE=sandbox-alice .venv/bin/osaccess plan"
