#!/usr/bin/env bash
# The osaccess sandbox without Docker: a real OpenSearch node with the security plugin, assembled
# from Maven Central artifacts, plus the local IAM gateway and STS endpoint.
#
#   scripts/sandbox.sh start    fetch (cached), assemble, start, wait until healthy (idempotent)
#   scripts/sandbox.sh stop     stop the gateway and the node
#   scripts/sandbox.sh status   say what runs; exit 0 when all of it answers, 3 otherwise
#   scripts/sandbox.sh reset    stop, wipe the node's data (the security config is re-read), start
#
#   OSACCESS_SANDBOX_VERSION=3.4.0   which OpenSearch (see SUPPORTED_VERSIONS in sandbox/versions.env;
#                                    default OPENSEARCH_VERSION there); the JDK is chosen to match
#   OSACCESS_SANDBOX_PORT=19200      the node's HTTPS port; the IAM gateway listens on the next port,
#                                    STS on the one after, the node's transport on PORT+100
#   OSACCESS_SANDBOX_JAVA_OPTS=...   the node's JVM options (default: a 512 MiB heap); a running
#                                    node started with other options is restarted
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
VERSION=${OSACCESS_SANDBOX_VERSION:-$OPENSEARCH_VERSION}
SECURITY_VERSION=$VERSION.0
# status and stop look where the sandbox was started unless told otherwise
RECORDED_PORT=$(cat "$STATE/ports" 2>/dev/null || true)
case "${1:-}" in status|stop) PORT=${OSACCESS_SANDBOX_PORT:-${RECORDED_PORT:-9200}} ;; *) PORT=${OSACCESS_SANDBOX_PORT:-9200} ;; esac
case "$PORT" in ''|*[!0-9]*) echo "sandbox: error: OSACCESS_SANDBOX_PORT must be a port number" >&2; exit 64 ;; esac
GATEWAY_PORT=$((PORT + 1))
STS_PORT=$((PORT + 2))
TRANSPORT_PORT=$((PORT + 100))
NODE_URL=https://127.0.0.1:$PORT
GATEWAY_URL=https://127.0.0.1:$GATEWAY_PORT
STS_URL=http://127.0.0.1:$STS_PORT
PYTHON=${OSACCESS_PYTHON:-$ROOT/.venv/bin/python}
START_TIMEOUT=${OSACCESS_SANDBOX_TIMEOUT:-240}
JAVA_OPTS=${OSACCESS_SANDBOX_JAVA_OPTS:--Xms512m -Xmx512m}

say() { printf 'sandbox: %s\n' "$*" >&2; }
die() { printf 'sandbox: error: %s\n' "$*" >&2; exit 1; }

node_dir() { # where the node is assembled: .sandbox/node, or a place the node's user can reach
  if [ -L "$STATE/node" ] || [ -d "$STATE/node" ]; then readlink -f "$STATE/node"; return; fi
  if [ "$(id -u)" = 0 ] && ! runuser -u "$RUN_AS" -- test -x "$STATE"; then
    # OpenSearch cannot run as root, and its user cannot traverse the checkout's parents.
    local alt
    alt=/var/tmp/osaccess-sandbox-$(printf '%s' "$STATE" | sha256sum | cut -c1-12)/node
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

check_version() {
  case " $SUPPORTED_VERSIONS " in
    *" $VERSION "*) ;;
    *) die "OpenSearch $VERSION is not one the sandbox can assemble here (it needs both the integ-test-zip and the security plugin on Maven Central); choose one of: $SUPPORTED_VERSIONS" ;;
  esac
}

maven_zip() { # maven_zip GROUP ARTIFACT VERSION [TYPE]: the cached file's path, fetched when missing
  local group=$1 artifact=$2 version=$3 type=${4:-zip} file
  file="$M2/$(printf '%s' "$group" | tr . /)/$artifact/$version/$artifact-$version.$type"
  if [ ! -s "$file" ]; then
    say "fetching $group:$artifact:$version:$type from Maven Central"
    mvn -B -q org.apache.maven.plugins:maven-dependency-plugin:3.6.1:get -Dtransitive=false \
      -Dartifact="$group:$artifact:$version:$type" >&2 ||
      die "could not fetch $group:$artifact:$version:$type (is Maven Central reachable?)"
  fi
  echo "$file"
}

add_mustache() { # the lang-mustache module (search templates), which the integ-test-zip lacks
  local node=$1 dir jar pom compiler java classname
  dir=$node/modules/lang-mustache
  [ -d "$dir" ] && return 0
  say "adding the lang-mustache module (search templates) from Maven Central"
  jar=$(maven_zip org.opensearch.plugin lang-mustache-client "$VERSION" jar)
  pom=$(maven_zip org.opensearch.plugin lang-mustache-client "$VERSION" pom)
  compiler=$(grep -A2 '<artifactId>compiler</artifactId>' "$pom" | sed -n 's/.*<version>\(.*\)<\/version>.*/\1/p' | head -1)
  [ -n "$compiler" ] || die "cannot tell which mustache compiler lang-mustache $VERSION needs ($pom)"
  # the plugin class: MustachePlugin on 2.x, MustacheModulePlugin on 3.x
  classname=$(unzip -Z1 "$jar" | sed -n 's|^\(org/opensearch/script/mustache/Mustache[A-Za-z]*Plugin\)\.class$|\1|p' | tr / . | head -1)
  [ -n "$classname" ] || die "no plugin class in $jar"
  mkdir -p "$dir"
  cp "$jar" "$dir/"
  cp "$(maven_zip com.github.spullara.mustache.java compiler "$compiler" jar)" "$dir/"
  if [ "$(major)" -ge 3 ]; then java=21; else java=11; fi
  cat >"$dir/plugin-descriptor.properties" <<PROPS
description=Mustache scripting integration for OpenSearch
version=$VERSION
name=lang-mustache
classname=$classname
java.version=$java
opensearch.version=$VERSION
PROPS
  if [ "$(major)" -lt 3 ]; then
    printf 'grant {\n  permission java.lang.RuntimePermission "accessDeclaredMembers";\n  permission java.lang.reflect.ReflectPermission "suppressAccessChecks";\n};\n' >"$dir/plugin-security.policy"
  fi
}

fetch() {
  DIST_ZIP=$(maven_zip org.opensearch.distribution.integ-test-zip opensearch "$VERSION")
  SECURITY_ZIP=$(maven_zip org.opensearch.plugin opensearch-security "$SECURITY_VERSION")
  RULE_FRAMEWORK_ZIP=
  if [ -n "${RULE_FRAMEWORK_FROM:-}" ] && [ "$(major)" -ge 3 ]; then
    RULE_FRAMEWORK_ZIP=$(maven_zip org.opensearch.distribution.integ-test-zip opensearch "$RULE_FRAMEWORK_FROM")
  fi
}

major() { echo "${VERSION%%.*}"; }

config_digest() {
  (cd "$ROOT" && { echo "$VERSION"; cat sandbox/versions.env sandbox/opensearch.yml sandbox/opensearch-security/*.yml sandbox/certs/*.pem; } | sha256sum | cut -c1-16)
}

assembled_version() { local f; f=$(node_dir)/.osaccess-version; [ -s "$f" ] && cat "$f"; }

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
  say "assembling OpenSearch $VERSION with security $SECURITY_VERSION in $node (no data of another version is kept)"
  find "$node" -mindepth 1 -delete
  unzip -q "$DIST_ZIP" -d "$node.tmp"
  mv "$node.tmp"/opensearch-*/* "$node/"
  rm -rf "$node.tmp"
  chmod +x "$node"/bin/*
  if [ -n "$RULE_FRAMEWORK_ZIP" ] && [ ! -d "$node/modules/rule-framework" ]; then
    # Security 3.3+ extends the rule-framework module, which the 3.x integ-test-zips before
    # 3.5.0 lack and Maven Central does not publish alone: take the module from the
    # $RULE_FRAMEWORK_FROM integ-test-zip and declare it for this version (docs/compatibility.md).
    say "adding the rule-framework module from OpenSearch $RULE_FRAMEWORK_FROM (declared as $VERSION)"
    unzip -q "$RULE_FRAMEWORK_ZIP" "opensearch-$RULE_FRAMEWORK_FROM/modules/rule-framework/*" -d "$node.rf"
    mv "$node.rf/opensearch-$RULE_FRAMEWORK_FROM/modules/rule-framework" "$node/modules/"
    rm -rf "$node.rf"
    sed -i -e "s/^version=.*/version=$VERSION/" -e "s/^opensearch.version=.*/opensearch.version=$VERSION/" \
      "$node/modules/rule-framework/plugin-descriptor.properties"
  fi
  add_mustache "$node"
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
  echo "$VERSION" >"$node/.osaccess-version"
  [ "$(id -u)" = 0 ] && chown -R "$RUN_AS:" "$node"
  return 0
}

java_major() { "$1/bin/java" -version 2>&1 | sed -n 's/.*version "\([0-9]*\).*/\1/p' | head -1; }

java_home() { # a JDK that this version runs on: 2.x needs 11-23 (security manager), 3.x needs 21+
  local candidates=() home want_min want_max v
  if [ "$(major)" -ge 3 ]; then want_min=21; want_max=99; else want_min=11; want_max=23; fi
  [ -n "${OPENSEARCH_JAVA_HOME:-}" ] && candidates+=("$OPENSEARCH_JAVA_HOME")
  [ -n "${JAVA_HOME:-}" ] && candidates+=("$JAVA_HOME")
  command -v java >/dev/null && candidates+=("$(dirname "$(dirname "$(readlink -f "$(command -v java)")")")")
  for home in /usr/lib/jvm/*; do [ -x "$home/bin/java" ] && candidates+=("$home"); done
  for home in "${candidates[@]}"; do
    v=$(java_major "$home")
    if [ -n "$v" ] && [ "$v" -ge "$want_min" ] && [ "$v" -le "$want_max" ]; then echo "$home"; return 0; fi
  done
  die "no JDK for OpenSearch $VERSION (it needs Java $want_min to $want_max); set OPENSEARCH_JAVA_HOME"
}

node_jvm_running() { # is a JVM of the node at $1 running (pid file or not yet)?
  pgrep -f -- "-Dopensearch.path.home=$1( |$)" >/dev/null 2>&1
}

set_ports() { # the node's ports, in its copy of opensearch.yml
  local config
  config=$(node_dir)/config/opensearch.yml
  sed -i -e "s/^http.port: .*/http.port: $PORT/" -e "s/^transport.port: .*/transport.port: $TRANSPORT_PORT/" "$config"
}

start_node() {
  local node t0 waited=0
  node=$(node_dir)
  if node_pid >/dev/null; then
    node_healthy && { say "OpenSearch already running (pid $(node_pid))"; return 0; }
  else
    port_busy "$PORT" && die "port $PORT is taken by another program; stop it (or 'scripts/sandbox.sh stop'), or choose another with OSACCESS_SANDBOX_PORT"
    port_busy "$TRANSPORT_PORT" && die "port $TRANSPORT_PORT (the node's transport, PORT+100) is taken; choose another OSACCESS_SANDBOX_PORT"
    set_ports
    say "starting OpenSearch $VERSION on Java $(java_major "$(java_home)") (log: $node/logs/osaccess-sandbox.log)"
    t0=$(date +%s)
    local cmd=(env "JAVA_HOME=$(java_home)" "OPENSEARCH_JAVA_OPTS=$JAVA_OPTS"
               "OSACCESS_SANDBOX_HOST=127.0.0.1" "$node/bin/opensearch" -d -p "$node/opensearch.pid")
    if [ "$(id -u)" = 0 ]; then cmd=(runuser -u "$RUN_AS" -- "${cmd[@]}"); fi
    "${cmd[@]}" >"$STATE/node-launch.log" 2>&1 || die "OpenSearch did not start; see $STATE/node-launch.log"
    START_T0=$t0
  fi
  until node_healthy; do
    # The pid file appears only once the daemonised node runs, which takes longer than 10 s on
    # a busy machine (3.x on Java 25): the node has exited only when no JVM runs from its home.
    [ "$waited" -ge 10 ] && ! node_pid >/dev/null && ! node_jvm_running "$node" \
      && die "OpenSearch exited while starting; see $node/logs/osaccess-sandbox.log"
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
  port_busy "$GATEWAY_PORT" && die "port $GATEWAY_PORT (the gateway, PORT+1) is taken by another program"
  port_busy "$STS_PORT" && die "port $STS_PORT (STS, PORT+2) is taken by another program"
  say "starting the IAM gateway on $GATEWAY_URL and STS on $STS_URL (log: $STATE/gateway.log)"
  # exec, so that the recorded pid is the gateway's own and `stop` ends it.
  (cd "$ROOT" && exec nohup "$PYTHON" -m sandbox gateway --listen "127.0.0.1:$GATEWAY_PORT" \
     --upstream "$NODE_URL" --sts-port "$STS_PORT" >>"$STATE/gateway.log" 2>&1) &
  echo $! >"$STATE/gateway.pid"
  local waited=0
  until gateway_answers; do
    gateway_pid >/dev/null || die "the gateway exited; see $STATE/gateway.log"
    [ "$waited" -ge 60 ] && die "the gateway did not answer in 60s; see $STATE/gateway.log"
    sleep 1; waited=$((waited + 1))
  done
}

write_env() {
  (cd "$ROOT" && "$PYTHON" -m sandbox profiles --out-dir "$STATE/aws" --sts-url "$STS_URL" >/dev/null)
  cat >"$STATE/env" <<ENV
# Written by scripts/sandbox.sh: source it to talk to the sandbox.
export OSACCESS_SANDBOX_VERSION=$VERSION
export OSACCESS_SANDBOX_PORT=$PORT
export OSACCESS_SANDBOX_STATE=$STATE
export OSACCESS_SANDBOX_URL=$NODE_URL
export OSACCESS_GATEWAY_URL=$GATEWAY_URL
export OSACCESS_STS_URL=$STS_URL
export OSACCESS_CA_CERTS=$CONF/certs/ca.pem
export OSACCESS_USERNAME=$OSACCESS_USERNAME
export OSACCESS_PASSWORD='$OSACCESS_PASSWORD'
export AWS_CONFIG_FILE=$STATE/aws/config
export AWS_SHARED_CREDENTIALS_FILE=$STATE/aws/credentials
export AWS_REGION=$(sed -n 's/^region: *//p' "$CONF/principals.yml")
# The AWS APIs the sandbox serves (moto), for any credentials: profiles and environment keys alike
export AWS_ENDPOINT_URL_STS=$STS_URL
export AWS_ENDPOINT_URL_IAM=$STS_URL
export AWS_ENDPOINT_URL_SECRETS_MANAGER=$STS_URL
export AWS_ENDPOINT_URL_SSM=$STS_URL
export AWS_ENDPOINT_URL_OPENSEARCH=$STS_URL
export AWS_ENDPOINT_URL_ELASTICSEARCH_SERVICE=$STS_URL
ENV
}

memory_mib() { local pid=$1; awk '/VmRSS/ {printf "%d", $2/1024}' "/proc/$pid/status" 2>/dev/null; }

cmd_start() {
  mkdir -p "$STATE"
  check_version
  ensure_user
  if [ -e "$STATE/node" ] && [ -n "$(assembled_version)" ] && [ "$(assembled_version)" != "$VERSION" ]; then
    say "switching from OpenSearch $(assembled_version) to $VERSION"
    cmd_stop
  fi
  if [ -s "$STATE/ports" ] && [ "$(cat "$STATE/ports")" != "$PORT" ]; then
    say "moving the sandbox from port $(cat "$STATE/ports") to $PORT"
    cmd_stop
  fi
  if node_pid >/dev/null && [ "$(cat "$STATE/java-opts" 2>/dev/null)" != "$JAVA_OPTS" ]; then
    say "restarting OpenSearch with the JVM options '$JAVA_OPTS' (it runs with '$(cat "$STATE/java-opts" 2>/dev/null)')"
    cmd_stop
  fi
  assemble
  start_node
  echo "$PORT" >"$STATE/ports"
  printf '%s' "$JAVA_OPTS" >"$STATE/java-opts"
  start_gateway
  write_env
  local npid gpid
  npid=$(node_pid); gpid=$(gateway_pid)
  say "ready:"
  say "  OpenSearch $VERSION  $NODE_URL  (pid $npid, $(memory_mib "$npid") MiB resident)"
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
    say "OpenSearch $(assembled_version) running at $NODE_URL (pid $pid, $(memory_mib "$pid") MiB resident)"
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
