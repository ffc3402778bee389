#!/usr/bin/env bash
# The osaccess sandbox without Docker: a real OpenSearch node with the security plugin, assembled
# from Maven Central artifacts, plus the local IAM gateway and STS endpoint.
#
#   scripts/sandbox.sh start    fetch (cached), assemble, start, wait until healthy (idempotent)
#   scripts/sandbox.sh stop     stop the gateway and the node
#   scripts/sandbox.sh status   say what runs; exit 0 when all of it answers, 3 otherwise
#   scripts/sandbox.sh reset    stop, wipe the node's data (the security config is re-read), start
#
# Configuration comes from sandbox/ (the same files docker-compose.yml mounts). State, logs and the
# node itself live in .sandbox/ (git-ignored).
set -euo pipefail

ROOT=$(cd "$(dirname "$0")/.." && pwd)
STATE=${OSACCESS_SANDBOX_STATE:-$ROOT/.sandbox}
CONF=$ROOT/sandbox
# shellcheck source=../sandbox/versions.env
. "$CONF/versions.env"
# shellcheck source=../sandbox/sandbox.env
. "$CONF/sandbox.env"
M2=${M2_REPO:-$HOME/.m2/repository}
RUN_AS=osaccess-sandbox
NODE_URL=https://127.0.0.1:9200
GATEWAY_URL=https://127.0.0.1:9201
STS_URL=http://127.0.0.1:9202
PYTHON=${OSACCESS_PYTHON:-$ROOT/.venv/bin/python}
START_TIMEOUT=${OSACCESS_SANDBOX_TIMEOUT:-240}

say() { printf 'sandbox: %s\n' "$*" >&2; }
die() { printf 'sandbox: error: %s\n' "$*" >&2; exit 1; }

node_dir() { # where the node is assembled: .sandbox/node, or a place the node's user can reach
  if [ -L "$STATE/node" ] || [ -d "$STATE/node" ]; then readlink -f "$STATE/node"; return; fi
  if [ "$(id -u)" = 0 ] && ! runuser -u "$RUN_AS" -- test -x "$STATE"; then
    # OpenSearch cannot run as root, and its user cannot traverse the checkout's parents.
    local alt
    alt=/var/tmp/osaccess-sandbox-$(printf '%s' "$ROOT" | sha256sum | cut -c1-12)/node
    mkdir -p "$alt"
    ln -s "$alt" "$STATE/node"
    echo "$alt"
  else
    mkdir -p "$STATE/node"
    echo "$STATE/node"
  fi
}

curl_node() { # curl_node PATH [curl args...]: authenticated as the sandbox admin, TLS verified
  local path=$1; shift
  curl -sS --max-time 10 --cacert "$CONF/certs/ca.pem" -K - "$@" "$NODE_URL$path" <<<"user = \"$OSACCESS_USERNAME:$OSACCESS_PASSWORD\""
}

node_pid() { local f; f=$(node_dir)/opensearch.pid; [ -s "$f" ] && kill -0 "$(cat "$f")" 2>/dev/null && cat "$f"; }
gateway_pid() { [ -s "$STATE/gateway.pid" ] && kill -0 "$(cat "$STATE/gateway.pid")" 2>/dev/null && cat "$STATE/gateway.pid"; }

node_healthy() {
  [ "$(curl_node /_plugins/_security/health -o /dev/null -w '%{http_code}' 2>/dev/null)" = 200 ] &&
    [ "$(curl_node /_cluster/health -o /dev/null -w '%{http_code}' 2>/dev/null)" = 200 ]
}

gateway_answers() { # an unsigned request is refused with 403 by a live gateway
  [ "$(curl -sS --max-time 5 --cacert "$CONF/certs/ca.pem" -o /dev/null -w '%{http_code}' "$GATEWAY_URL/" 2>/dev/null)" = 403 ]
}

port_busy() { (exec 3<>"/dev/tcp/127.0.0.1/$1") 2>/dev/null; }

fetch() {
  local dist="$M2/org/opensearch/distribution/integ-test-zip/opensearch/$OPENSEARCH_VERSION/opensearch-$OPENSEARCH_VERSION.zip"
  local sec="$M2/org/opensearch/plugin/opensearch-security/$SECURITY_PLUGIN_VERSION/opensearch-security-$SECURITY_PLUGIN_VERSION.zip"
  local artifact
  for artifact in "org.opensearch.distribution.integ-test-zip:opensearch:$OPENSEARCH_VERSION:zip:$dist" \
                  "org.opensearch.plugin:opensearch-security:$SECURITY_PLUGIN_VERSION:zip:$sec"; do
    local file=${artifact#*:*:*:zip:} coords=${artifact%:"$M2"*}
    if [ ! -s "$file" ]; then
      say "fetching $coords from Maven Central"
      mvn -B -q org.apache.maven.plugins:maven-dependency-plugin:3.6.1:get -Dtransitive=false \
        -Dartifact="$coords" >&2 || die "could not fetch $coords (is Maven Central reachable?)"
    fi
  done
  DIST_ZIP=$dist
  SECURITY_ZIP=$sec
}

config_digest() {
  (cd "$ROOT" && cat sandbox/versions.env sandbox/opensearch.yml sandbox/opensearch-security/*.yml sandbox/certs/*.pem | sha256sum | cut -c1-16)
}

ensure_user() {
  [ "$(id -u)" = 0 ] || return 0
  id "$RUN_AS" >/dev/null 2>&1 || useradd --system --no-create-home --shell /usr/sbin/nologin "$RUN_AS"
}

assemble() { # (re)build the node when the versions or the configuration changed
  local node digest
  node=$(node_dir)
  digest=$(config_digest)
  if [ -f "$node/.osaccess-assembled" ] && [ "$(cat "$node/.osaccess-assembled")" = "$digest" ]; then
    return 0
  fi
  fetch
  say "assembling OpenSearch $OPENSEARCH_VERSION with security $SECURITY_PLUGIN_VERSION in $node"
  find "$node" -mindepth 1 -delete
  unzip -q "$DIST_ZIP" -d "$node.tmp"
  mv "$node.tmp"/opensearch-*/* "$node/"
  rm -rf "$node.tmp"
  chmod +x "$node"/bin/*
  JAVA_HOME=$(java_home) "$node/bin/opensearch-plugin" install --batch "file://$SECURITY_ZIP" >"$STATE/plugin-install.log" 2>&1 ||
    die "installing the security plugin failed; see $STATE/plugin-install.log"
  cp "$CONF/opensearch.yml" "$node/config/opensearch.yml"
  rm -rf "$node/config/opensearch-security"
  cp -r "$CONF/opensearch-security" "$node/config/opensearch-security"
  mkdir -p "$node/config/certs"
  cp "$CONF"/certs/*.pem "$node/config/certs/"
  # The security plugin wants its configuration readable by the node's user alone.
  chmod 700 "$node/config" "$node/config/opensearch-security"
  chmod 600 "$node"/config/opensearch-security/*.yml "$node"/config/certs/*-key.pem
  echo "$digest" >"$node/.osaccess-assembled"
  [ "$(id -u)" = 0 ] && chown -R "$RUN_AS:" "$node"
  return 0
}

java_home() {
  if [ -n "${OPENSEARCH_JAVA_HOME:-}" ]; then echo "$OPENSEARCH_JAVA_HOME"
  elif [ -n "${JAVA_HOME:-}" ]; then echo "$JAVA_HOME"
  else dirname "$(dirname "$(readlink -f "$(command -v java)")")"
  fi
}

start_node() {
  local node t0 waited=0
  node=$(node_dir)
  if node_pid >/dev/null; then
    node_healthy && { say "OpenSearch already running (pid $(node_pid))"; return 0; }
  else
    port_busy 9200 && die "port 9200 is taken by another program; stop it (or 'scripts/sandbox.sh stop') and retry"
    say "starting OpenSearch $OPENSEARCH_VERSION (log: $node/logs/osaccess-sandbox.log)"
    t0=$(date +%s)
    local cmd=(env "JAVA_HOME=$(java_home)" "OPENSEARCH_JAVA_OPTS=-Xms512m -Xmx512m"
               "OSACCESS_SANDBOX_HOST=127.0.0.1" "$node/bin/opensearch" -d -p "$node/opensearch.pid")
    if [ "$(id -u)" = 0 ]; then cmd=(runuser -u "$RUN_AS" -- "${cmd[@]}"); fi
    "${cmd[@]}" >"$STATE/node-launch.log" 2>&1 || die "OpenSearch did not start; see $STATE/node-launch.log"
    START_T0=$t0
  fi
  until node_healthy; do
    # The pid file appears only once the daemonised node runs: give it a moment before judging.
    [ "$waited" -ge 10 ] && ! node_pid >/dev/null && die "OpenSearch exited while starting; see $node/logs/osaccess-sandbox.log"
    [ "$waited" -ge "$START_TIMEOUT" ] && die "OpenSearch did not become healthy in ${START_TIMEOUT}s; see $node/logs/osaccess-sandbox.log"
    sleep 2; waited=$((waited + 2))
  done
  if [ -n "${START_T0:-}" ]; then
    say "OpenSearch healthy after $(( $(date +%s) - START_T0 ))s"
  fi
}

start_gateway() {
  if gateway_pid >/dev/null && gateway_answers; then
    say "IAM gateway already running (pid $(gateway_pid))"; return 0
  fi
  [ -x "$PYTHON" ] || die "no Python environment at $PYTHON; run 'make install' first"
  port_busy 9201 && die "port 9201 is taken by another program"
  port_busy 9202 && die "port 9202 is taken by another program"
  say "starting the IAM gateway on $GATEWAY_URL and STS on $STS_URL (log: $STATE/gateway.log)"
  # exec, so that the recorded pid is the gateway's own and `stop` ends it.
  (cd "$ROOT" && exec nohup "$PYTHON" -m osaccess sandbox gateway --listen 127.0.0.1:9201 \
     --upstream "$NODE_URL" --sts-port 9202 >>"$STATE/gateway.log" 2>&1) &
  echo $! >"$STATE/gateway.pid"
  local waited=0
  until gateway_answers; do
    gateway_pid >/dev/null || die "the gateway exited; see $STATE/gateway.log"
    [ "$waited" -ge 60 ] && die "the gateway did not answer in 60s; see $STATE/gateway.log"
    sleep 1; waited=$((waited + 1))
  done
}

write_env() {
  (cd "$ROOT" && "$PYTHON" -m osaccess sandbox profiles --out-dir "$STATE/aws" --sts-url "$STS_URL" >/dev/null)
  cat >"$STATE/env" <<ENV
# Written by scripts/sandbox.sh: source it to talk to the sandbox.
export OSACCESS_SANDBOX_URL=$NODE_URL
export OSACCESS_GATEWAY_URL=$GATEWAY_URL
export OSACCESS_STS_URL=$STS_URL
export OSACCESS_CA_CERTS=$CONF/certs/ca.pem
export OSACCESS_USERNAME=$OSACCESS_USERNAME
export OSACCESS_PASSWORD='$OSACCESS_PASSWORD'
export AWS_CONFIG_FILE=$STATE/aws/config
export AWS_SHARED_CREDENTIALS_FILE=$STATE/aws/credentials
export AWS_REGION=$(sed -n 's/^region: *//p' "$CONF/principals.yml")
ENV
}

memory_mib() { local pid=$1; awk '/VmRSS/ {printf "%d", $2/1024}' "/proc/$pid/status" 2>/dev/null; }

cmd_start() {
  mkdir -p "$STATE"
  ensure_user
  assemble
  start_node
  start_gateway
  write_env
  local npid gpid
  npid=$(node_pid); gpid=$(gateway_pid)
  say "ready:"
  say "  OpenSearch $OPENSEARCH_VERSION  $NODE_URL  (pid $npid, $(memory_mib "$npid") MiB resident)"
  say "  IAM gateway            $GATEWAY_URL  (pid $gpid, SigV4, region $(sed -n 's/^region: *//p' "$CONF/principals.yml"))"
  say "  STS (AssumeRole)       $STS_URL"
  say "  environment            source $STATE/env"
}

cmd_stop() {
  local pid node
  if pid=$(gateway_pid); then
    kill "$pid"
    for _ in $(seq 20); do kill -0 "$pid" 2>/dev/null || break; sleep 0.25; done
    say "gateway stopped"
  fi
  rm -f "$STATE/gateway.pid"
  [ -e "$STATE/node" ] || return 0
  node=$(node_dir)
  if pid=$(node_pid); then
    kill "$pid"
    for _ in $(seq 60); do kill -0 "$pid" 2>/dev/null || break; sleep 0.5; done
    kill -0 "$pid" 2>/dev/null && kill -9 "$pid"
    say "OpenSearch stopped"
  fi
  rm -f "$node/opensearch.pid"
}

cmd_status() {
  local ok=0 pid
  if pid=$(node_pid) && node_healthy; then
    say "OpenSearch $OPENSEARCH_VERSION running at $NODE_URL (pid $pid, $(memory_mib "$pid") MiB resident)"
  else say "OpenSearch not running"; ok=3; fi
  if pid=$(gateway_pid) && gateway_answers; then say "IAM gateway running at $GATEWAY_URL (pid $pid)"
  else say "IAM gateway not running"; ok=3; fi
  return $ok
}

cmd_reset() {
  cmd_stop
  if [ -e "$STATE/node" ]; then rm -rf "$(node_dir)/data"; say "node data wiped"; fi
  cmd_start
}

case "${1:-}" in
  start) cmd_start ;;
  stop) cmd_stop ;;
  status) cmd_status ;;
  reset) cmd_reset ;;
  *) echo "usage: $0 start|stop|status|reset" >&2; exit 64 ;;
esac
