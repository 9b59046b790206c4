#!/usr/bin/env bash
# Local services for development and tests, on loopback only, without Docker:
#
#   Apache Kafka (KRaft, single combined broker+controller)  127.0.0.1:9092, controller 127.0.0.1:9093
#   ClickHouse (Debian clickhouse-server package)            127.0.0.1:9000 (native), 127.0.0.1:8123 (HTTP)
#
# Usage: scripts/services.sh up | down [--purge] | purge | status | chdb | topic
#                            | kafka-topics ARG... | kafka-consumer-groups ARG... | kafka-configs ARG...
#                            | kafka-restart | kafka-stop | help
#
#   up       install what is missing (with Kafka's admin tools), start what is not answering,
#            wait until both answer (a service that already answers is left alone), print how
#            to reach them
#   down     stop both (SIGTERM, then SIGKILL after a grace period); data is kept
#   purge    stop both and delete their data (same as: down --purge)
#   status   tell for each service whether it runs and answers (exit 1 unless both answer)
#   kafka-restart  stop the broker (SIGTERM) and start it again with its data (fault tests)
#   kafka-stop     stop the broker only (fault tests; `up` starts it again)
#   chdb     put the embedded ClickHouse engine (npm @chdb/lib-linux-x64-gnu) into
#            .cache/chdb/libchdb.so; the LAST line of stdout is its absolute path:
#              CHDB_LIB=$(scripts/services.sh chdb | tail -n1)
#   topic    make sure the collector's topic exists: create KAFKA_TOPIC (default events) with
#            KAFKA_PARTITIONS (default 3) partitions and KAFKA_REPLICATION_FACTOR (default 1)
#            if it is missing, taking messages of KAFKA_MESSAGE_MAX_BYTES (default 8 MiB, the
#            collector's producer::max_message_bytes); fail if it has fewer than KAFKA_PARTITIONS
#            partitions, warn if it takes smaller messages
#   kafka-topics ARG...           Kafka's kafka-topics.sh (org.apache.kafka.tools.TopicCommand)
#   kafka-consumer-groups ARG...  Kafka's kafka-consumer-groups.sh
#            (org.apache.kafka.tools.consumer.group.ConsumerGroupCommand); both add
#            --bootstrap-server KAFKA_BROKERS unless ARG has one, e.g. the storage tier's lag:
#              scripts/services.sh kafka-consumer-groups --describe --group event-consumer-group
#   kafka-configs ARG...          Kafka's kafka-configs.sh (kafka.admin.ConfigCommand, from the
#            broker's jars), with --bootstrap-server likewise, e.g. a topic's message size:
#              scripts/services.sh kafka-configs --alter --entity-type topics --entity-name events \
#                --add-config max.message.bytes=8388608
#
# All state lives under <repo>/.cache (git-ignored): Kafka jars in .cache/kafka/libs, Kafka's
# admin tools in .cache/kafka/tools, services in .cache/services/{kafka,clickhouse}, chDB in
# .cache/chdb. Progress messages go to stderr.
# Environment: SERVICES_TIMEOUT (seconds to wait for a service to answer, default 90);
# KAFKA_BROKERS (default 127.0.0.1:9092), KAFKA_TOPIC, KAFKA_PARTITIONS, KAFKA_REPLICATION_FACTOR
# for topic and the admin tools, with the meaning they have in the collector's configurations.
set -euo pipefail

SCRIPT_DIR=$(cd -- "$(dirname -- "${BASH_SOURCE[0]}")" && pwd -P)
ROOT=$(cd -- "$SCRIPT_DIR/.." && pwd -P)
CACHE="$ROOT/.cache"
SERVICES="$CACHE/services"
TIMEOUT="${SERVICES_TIMEOUT:-90}"
STOP_GRACE=30

# --- Kafka ---------------------------------------------------------------------------------
KAFKA_HOST=127.0.0.1
KAFKA_PORT=9092
KAFKA_CONTROLLER_PORT=9093
# The largest message the topic takes: the collector's kafka exporter producer::max_message_bytes.
KAFKA_MESSAGE_MAX_BYTES=${KAFKA_MESSAGE_MAX_BYTES:-8388608}
KAFKA_POM="$SCRIPT_DIR/kafka/pom.xml"
KAFKA_VERSION=$(sed -n 's:.*<kafka.version>\(.*\)</kafka.version>.*:\1:p' "$KAFKA_POM")
KAFKA_LIBS="$CACHE/kafka/libs"
KAFKA_LIBS_STAMP="$KAFKA_LIBS/.pom.sha256"
KAFKA_HOME="$SERVICES/kafka"
KAFKA_DATA="$KAFKA_HOME/data"
KAFKA_PROPS="$KAFKA_HOME/server.properties"
KAFKA_PID="$KAFKA_HOME/kafka.pid"
KAFKA_LOG="$KAFKA_HOME/server.log"  # written by log4j2 (scripts/kafka/log4j2.properties)
KAFKA_OUT="$KAFKA_HOME/kafka.out"   # the JVM's own stdout/stderr
KAFKA_CLUSTER_ID_FILE="$KAFKA_HOME/cluster.id"
KAFKA_JAVA=(java -Xms128m -Xmx512m -XX:+UseG1GC -XX:MaxGCPauseMillis=20
  -XX:+ExplicitGCInvokesConcurrent -XX:+ExitOnOutOfMemoryError -Djava.awt.headless=true
  "-Dlog4j2.configurationFile=$SCRIPT_DIR/kafka/log4j2.properties"
  "-Dkafka.logs.dir=$KAFKA_HOME" -cp "$KAFKA_LIBS/*")

# Kafka's admin tools (kafka-topics.sh and friends), in a directory of their own: resolving
# them never touches the jars of a running broker.
KAFKA_TOOLS_POM="$SCRIPT_DIR/kafka/tools-pom.xml"
KAFKA_TOOLS_LIBS="$CACHE/kafka/tools"
KAFKA_TOOLS_STAMP="$KAFKA_TOOLS_LIBS/.stamp"
# A short-lived client: small heap, serial GC, no optimising JIT: it starts sooner.
KAFKA_TOOLS_JAVA=(java -Xms32m -Xmx256m -XX:+UseSerialGC -XX:TieredStopAtLevel=1
  -Djava.awt.headless=true -Dorg.slf4j.simpleLogger.defaultLogLevel=warn
  -cp "$KAFKA_TOOLS_LIBS/*")
KAFKA_BOOTSTRAP="${KAFKA_BROKERS:-$KAFKA_HOST:$KAFKA_PORT}"

# --- ClickHouse ----------------------------------------------------------------------------
CH_HOST=127.0.0.1
CH_TCP_PORT=9000
CH_HTTP_PORT=8123
CH_HOME="$SERVICES/clickhouse"
CH_ETC="$CH_HOME/etc"
CH_PID="$CH_HOME/clickhouse.pid"
CH_LOG="$CH_HOME/log/clickhouse-server.log"
CH_ERR_LOG="$CH_HOME/log/clickhouse-server.err.log"
CH_OUT="$CH_HOME/log/stdout.log"

# --- chDB ----------------------------------------------------------------------------------
CHDB_PKG="@chdb/lib-linux-x64-gnu"
CHDB_VERSION="26.7.3-stable.1"
CHDB_DIR="$CACHE/chdb"
CHDB_LIB="$CHDB_DIR/libchdb.so"
CHDB_STAMP="$CHDB_DIR/libchdb.so.stamp"

# -------------------------------------------------------------------------------------------
log() { printf 'services: %s\n' "$*" >&2; }
die() { printf 'services: ERROR: %s\n' "$*" >&2; exit 1; }
rel() { printf '%s' "${1#"$ROOT"/}"; }

usage() {
  sed -n '2,/^set -euo/{/^set -euo/d;s/^# \{0,1\}//;p}' "${BASH_SOURCE[0]}"
}

as_root() {
  if [[ $EUID -eq 0 ]]; then
    "$@"
  elif command -v sudo >/dev/null 2>&1; then
    sudo "$@"
  else
    die "need root (or sudo) to run: $*"
  fi
}

# Serialise up/down/purge between concurrent invocations. Started services must not inherit
# the lock descriptor (see spawn).
lock_services() {
  mkdir -p "$SERVICES"
  exec 9>"$SERVICES/.lock"
  flock -w 300 9 || die "another scripts/services.sh is still busy (lock $(rel "$SERVICES/.lock"))"
}

# pid_of PIDFILE PATTERN: print the pid if it is alive and its command line contains PATTERN.
pid_of() {
  local pid cmdline
  [[ -s $1 ]] || return 1
  pid=$(<"$1")
  [[ $pid =~ ^[0-9]+$ ]] || return 1
  kill -0 "$pid" 2>/dev/null || return 1
  cmdline=$(tr '\0' ' ' <"/proc/$pid/cmdline" 2>/dev/null) || return 1
  [[ $cmdline == *"$2"* ]] || return 1
  printf '%s' "$pid"
}

# spawn PIDFILE OUTFILE WORKDIR CMD...: start CMD detached (own session, no terminal, stdin
# from /dev/null, output appended to OUTFILE); the process writes its own pid to PIDFILE.
spawn() {
  local pidfile=$1 out=$2 dir=$3 i
  shift 3
  rm -f "$pidfile"
  # shellcheck disable=SC2016 # $$ and $@ are expanded by the inner bash
  (cd "$dir" && exec setsid nohup bash -c 'echo $$ >"$0.tmp" && mv -f "$0.tmp" "$0" && exec "$@"' \
    "$pidfile" "$@" </dev/null >>"$out" 2>&1 9>&-) &
  for ((i = 0; i < 100; i++)); do
    [[ -s $pidfile ]] && return 0
    sleep 0.05
  done
  die "could not start $1 (no pid file $(rel "$pidfile")); see $(rel "$out")"
}

# stop NAME PIDFILE PATTERN: SIGTERM, wait up to STOP_GRACE seconds, then SIGKILL.
stop() {
  local name=$1 pidfile=$2 pattern=$3 pid i
  if ! pid=$(pid_of "$pidfile" "$pattern"); then
    rm -f "$pidfile"
    log "$name is not running (no live pid file)"
    return 0
  fi
  log "stopping $name (pid $pid)"
  kill -TERM "$pid" 2>/dev/null || true
  for ((i = 0; i < STOP_GRACE * 10; i++)); do
    kill -0 "$pid" 2>/dev/null || break
    sleep 0.1
  done
  if kill -0 "$pid" 2>/dev/null; then
    log "$name did not stop within ${STOP_GRACE}s, sending SIGKILL"
    kill -KILL "$pid" 2>/dev/null || true
    for ((i = 0; i < 50; i++)); do
      kill -0 "$pid" 2>/dev/null || break
      sleep 0.1
    done
  fi
  rm -f "$pidfile"
  log "$name stopped"
}

# tail_logs FILE...: show the end of the given logs on stderr.
tail_logs() {
  local f
  for f in "$@"; do
    [[ -s $f ]] || continue
    printf -- '----- last lines of %s -----\n' "$(rel "$f")" >&2
    tail -n 30 "$f" >&2
  done
}

# wait_until NAME CHECK_FN PIDFILE PATTERN LOG...: poll CHECK_FN until it succeeds; fail
# early when the process exits, or after TIMEOUT seconds.
wait_until() {
  local name=$1 check=$2 pidfile=$3 pattern=$4
  shift 4
  local deadline=$((SECONDS + TIMEOUT))
  until "$check"; do
    if ! pid_of "$pidfile" "$pattern" >/dev/null; then
      tail_logs "$@"
      die "$name exited during startup; logs: $(for f in "$@"; do printf '%s ' "$(rel "$f")"; done)"
    fi
    if ((SECONDS >= deadline)); then
      tail_logs "$@"
      die "$name did not answer within ${TIMEOUT}s (still running, pid $(<"$pidfile")); logs: $(for f in "$@"; do printf '%s ' "$(rel "$f")"; done)"
    fi
    sleep 0.25
  done
}

# render TEMPLATE OUTPUT NAME=VALUE...: replace @NAME@ with VALUE.
render() {
  local template=$1 output=$2 kv name value args=()
  shift 2
  for kv in "$@"; do
    name=${kv%%=*}
    value=${kv#*=}
    value=${value//\\/\\\\}
    value=${value//|/\\|}
    value=${value//&/\\&}
    args+=(-e "s|@${name}@|${value}|g")
  done
  sed "${args[@]}" "$template" >"$output.tmp"
  mv -f "$output.tmp" "$output"
}

# --- Kafka ---------------------------------------------------------------------------------

# kafka_metadata: send a Kafka Metadata v4 request (no topics) over bash's /dev/tcp and print
# "<broker count> <cluster id>" from the response. Fails when the broker does not answer.
kafka_metadata() {
  (
    exec 3<>"/dev/tcp/$KAFKA_HOST/$KAFKA_PORT"
    # size=17 | api_key=3 (Metadata) | api_version=4 | correlation_id=42 | client_id="sh"
    # | topics=[] | allow_auto_topic_creation=false
    printf '\x00\x00\x00\x11\x00\x03\x00\x04\x00\x00\x00\x2a\x00\x02sh\x00\x00\x00\x00\x00' >&3
    local size b=() p=0 n i len esc=""
    size=$(timeout 3 head -c 4 <&3 | od -An -tu4 --endian=big | tr -d ' ')
    if ! [[ $size =~ ^[0-9]+$ ]] || ((size < 16 || size > 65535)); then exit 1; fi
    mapfile -t b < <(timeout 3 head -c "$size" <&3 | od -An -v -tu1 -w1)
    ((${#b[@]} == size)) || exit 1
    u16() { echo $((b[p] << 8 | b[p + 1])); }
    u32() { echo $((b[p] << 24 | b[p + 1] << 16 | b[p + 2] << 8 | b[p + 3])); }
    (($(u32) == 42)) || exit 1 # correlation id
    p=8                        # skip correlation id and throttle_time_ms
    n=$(u32)
    p=$((p + 4))
    for ((i = 0; i < n; i++)); do    # brokers: node_id, host, port, rack (nullable)
      p=$((p + 4))
      len=$(u16)
      p=$((p + 2 + len + 4))
      len=$(u16)
      ((len == 65535)) && len=0
      p=$((p + 2 + len))
    done
    len=$(u16) # cluster_id (nullable string, ASCII)
    ((len == 65535)) && len=0
    for ((i = 0; i < len; i++)); do
      esc+=$(printf '\\0%03o' "${b[p + 2 + i]}")
    done
    ((n >= 1)) || exit 1
    printf '%s %b\n' "$n" "$esc"
  ) 2>/dev/null
}

kafka_answers() { kafka_metadata >/dev/null; }

ensure_kafka_libs() {
  local want
  want=$(sha256sum "$KAFKA_POM" | cut -d' ' -f1)
  if [[ -f "$KAFKA_LIBS/kafka_2.13-$KAFKA_VERSION.jar" && -f $KAFKA_LIBS_STAMP &&
    "$(<"$KAFKA_LIBS_STAMP")" == "$want" ]]; then
    return 0
  fi
  command -v mvn >/dev/null 2>&1 || die "mvn (Maven) is needed to fetch the Kafka jars"
  log "resolving Kafka $KAFKA_VERSION jars with Maven into $(rel "$KAFKA_LIBS")"
  local tmp="$KAFKA_LIBS.tmp"
  rm -rf "$tmp"
  mkdir -p "$tmp"
  local mvn_log="$CACHE/kafka/mvn.log"
  if ! mvn -q -B -f "$KAFKA_POM" dependency:copy-dependencies \
    -DoutputDirectory="$tmp" -DincludeScope=runtime >"$mvn_log" 2>&1; then
    tail_logs "$mvn_log"
    die "Maven could not resolve $(rel "$KAFKA_POM"); see $(rel "$mvn_log")"
  fi
  [[ -f "$tmp/kafka_2.13-$KAFKA_VERSION.jar" ]] ||
    die "Maven did not produce kafka_2.13-$KAFKA_VERSION.jar"
  printf '%s\n' "$want" >"$tmp/.pom.sha256"
  rm -rf "$KAFKA_LIBS"
  mv "$tmp" "$KAFKA_LIBS"
}

kafka_cluster_id() {
  if [[ -f "$KAFKA_DATA/meta.properties" ]]; then
    sed -n 's/^cluster\.id=//p' "$KAFKA_DATA/meta.properties"
  elif [[ -s $KAFKA_CLUSTER_ID_FILE ]]; then
    cat "$KAFKA_CLUSTER_ID_FILE"
  fi
}

# kafka_start: start the broker unless it answers already or is starting; sets KAFKA_STATE.
kafka_start() {
  if kafka_answers; then
    KAFKA_STATE="already running"
    return 0
  fi
  if pid_of "$KAFKA_PID" kafka.Kafka >/dev/null; then
    KAFKA_STATE="was starting"
    return 0
  fi
  command -v java >/dev/null 2>&1 || die "java (17+) is needed to run Kafka"
  ensure_kafka_libs
  mkdir -p "$KAFKA_DATA"
  render "$SCRIPT_DIR/kafka/server.properties.in" "$KAFKA_PROPS" \
    "KAFKA_DATA_DIR=$KAFKA_DATA" "HOST=$KAFKA_HOST" "PORT=$KAFKA_PORT" \
    "CONTROLLER_PORT=$KAFKA_CONTROLLER_PORT"
  if [[ ! -f "$KAFKA_DATA/meta.properties" ]]; then
    if [[ ! -s $KAFKA_CLUSTER_ID_FILE ]]; then
      "${KAFKA_JAVA[@]}" kafka.tools.StorageTool random-uuid >"$KAFKA_CLUSTER_ID_FILE.tmp" ||
        die "kafka.tools.StorageTool random-uuid failed"
      mv -f "$KAFKA_CLUSTER_ID_FILE.tmp" "$KAFKA_CLUSTER_ID_FILE"
    fi
    log "formatting Kafka storage $(rel "$KAFKA_DATA") (cluster id $(<"$KAFKA_CLUSTER_ID_FILE"))"
    "${KAFKA_JAVA[@]}" kafka.tools.StorageTool format --standalone \
      -t "$(<"$KAFKA_CLUSTER_ID_FILE")" -c "$KAFKA_PROPS" >&2 ||
      die "kafka.tools.StorageTool format failed; see $(rel "$KAFKA_LOG")"
  fi
  log "starting Kafka $KAFKA_VERSION on $KAFKA_HOST:$KAFKA_PORT"
  spawn "$KAFKA_PID" "$KAFKA_OUT" "$KAFKA_HOME" "${KAFKA_JAVA[@]}" kafka.Kafka "$KAFKA_PROPS"
  KAFKA_STATE="started"
}

# kafka_tools_ready: the admin tools of the broker's Kafka version are in KAFKA_TOOLS_LIBS.
kafka_tools_ready() {
  [[ -f "$KAFKA_TOOLS_LIBS/kafka-tools-$KAFKA_VERSION.jar" && -f $KAFKA_TOOLS_STAMP &&
    "$(<"$KAFKA_TOOLS_STAMP")" == "$KAFKA_VERSION $(sha256sum "$KAFKA_TOOLS_POM" | cut -d' ' -f1)" ]]
}

# ensure_kafka_tools: resolve kafka-tools (same version as the broker) and its runtime
# dependencies with Maven, under a lock of its own (the tools run without the services lock).
ensure_kafka_tools() {
  kafka_tools_ready && return 0
  local lock_fd
  mkdir -p "$CACHE/kafka"
  exec {lock_fd}>"$CACHE/kafka/.tools.lock"
  flock -w 300 "$lock_fd" || die "another scripts/services.sh is still fetching Kafka's tools"
  if ! kafka_tools_ready; then
    command -v mvn >/dev/null 2>&1 || die "mvn (Maven) is needed to fetch Kafka's admin tools"
    log "resolving Kafka $KAFKA_VERSION admin tools (kafka-tools) with Maven into $(rel "$KAFKA_TOOLS_LIBS")"
    local tmp="$KAFKA_TOOLS_LIBS.tmp" mvn_log="$CACHE/kafka/mvn-tools.log"
    rm -rf "$tmp"
    mkdir -p "$tmp"
    if ! mvn -q -B -f "$KAFKA_TOOLS_POM" dependency:copy-dependencies -Dkafka.version="$KAFKA_VERSION" \
      -DoutputDirectory="$tmp" -DincludeScope=runtime >"$mvn_log" 2>&1; then
      tail_logs "$mvn_log"
      die "Maven could not resolve $(rel "$KAFKA_TOOLS_POM"); see $(rel "$mvn_log")"
    fi
    [[ -f "$tmp/kafka-tools-$KAFKA_VERSION.jar" ]] ||
      die "Maven did not produce kafka-tools-$KAFKA_VERSION.jar"
    printf '%s %s\n' "$KAFKA_VERSION" "$(sha256sum "$KAFKA_TOOLS_POM" | cut -d' ' -f1)" >"$tmp/.stamp"
    rm -rf "$KAFKA_TOOLS_LIBS"
    mv "$tmp" "$KAFKA_TOOLS_LIBS"
  fi
  exec {lock_fd}>&-
}

# kafka_tool CLASS ARG...: run one of Kafka's admin tools with the machine's Java against
# KAFKA_BOOTSTRAP, unless ARG names its own --bootstrap-server.
kafka_tool() {
  command -v java >/dev/null 2>&1 || die "java (17+) is needed to run Kafka's admin tools"
  ensure_kafka_tools
  run_kafka_tool "${KAFKA_TOOLS_JAVA[@]}" -- "$@"
}

# kafka_broker_tool CLASS ARG...: an admin tool that lives in the broker's own jars.
kafka_broker_tool() {
  command -v java >/dev/null 2>&1 || die "java (17+) is needed to run Kafka's admin tools"
  ensure_kafka_libs
  local java=("${KAFKA_TOOLS_JAVA[@]}")
  java[${#java[@]} - 1]="$KAFKA_LIBS/*"
  run_kafka_tool "${java[@]}" -- "$@"
}

# run_kafka_tool JAVA... -- CLASS ARG...: run CLASS, adding --bootstrap-server unless ARG has one.
run_kafka_tool() {
  local java=() arg
  while [[ $1 != -- ]]; do java+=("$1"); shift; done
  shift
  local class=$1
  shift
  for arg in "$@"; do
    [[ $arg == --bootstrap-server || $arg == --bootstrap-server=* ]] &&
      exec "${java[@]}" "$class" "$@"
  done
  exec "${java[@]}" "$class" --bootstrap-server "$KAFKA_BOOTSTRAP" "$@"
}

# --- ClickHouse ----------------------------------------------------------------------------

ch_server_bin() { command -v clickhouse-server 2>/dev/null || echo /usr/sbin/clickhouse-server; }

ch_installed() {
  [[ "$(dpkg-query -W -f='${Status} ' clickhouse-server clickhouse-client 2>/dev/null)" == \
    "install ok installed install ok installed " ]]
}

ensure_clickhouse_installed() {
  ch_installed && return 0
  log "installing clickhouse-server and clickhouse-client (Debian packages)"
  as_root apt-get update >&2
  as_root env DEBIAN_FRONTEND=noninteractive \
    apt-get install -y --no-install-recommends clickhouse-server clickhouse-client >&2
  ch_installed || die "clickhouse-server/clickhouse-client did not install"
}

ch_ping() { [[ "$(curl -fsS --max-time 2 "http://$CH_HOST:$CH_HTTP_PORT/ping" 2>/dev/null)" == "Ok." ]]; }

ch_version() {
  timeout 5 clickhouse-client --host "$CH_HOST" --port "$CH_TCP_PORT" \
    --query 'SELECT version()' 2>/dev/null
}

ch_answers() { ch_ping && ch_version >/dev/null; }

# clickhouse_start: start the server unless it answers already or is starting; sets CH_STATE.
clickhouse_start() {
  if command -v clickhouse-client >/dev/null 2>&1 && ch_answers; then
    CH_STATE="already running"
    return 0
  fi
  if pid_of "$CH_PID" clickhouse-server >/dev/null; then
    CH_STATE="was starting"
    return 0
  fi
  ensure_clickhouse_installed
  [[ $CH_HOME != *[\&\<\>\"\']* ]] || die "the repository path must not contain & < > \" ' (used in XML)"
  mkdir -p "$CH_ETC" "$CH_HOME/data" "$CH_HOME/log" "$CH_HOME/tmp" "$CH_HOME/user_files" \
    "$CH_HOME/format_schemas"
  render "$SCRIPT_DIR/clickhouse/config.xml" "$CH_ETC/config.xml" "CH_HOME=$CH_HOME" \
    "HOST=$CH_HOST" "TCP_PORT=$CH_TCP_PORT" "HTTP_PORT=$CH_HTTP_PORT"
  cp -f "$SCRIPT_DIR/clickhouse/users.xml" "$CH_ETC/users.xml"
  log "starting ClickHouse on $CH_HOST:$CH_TCP_PORT (native) and $CH_HOST:$CH_HTTP_PORT (HTTP)"
  spawn "$CH_PID" "$CH_OUT" "$CH_HOME" "$(ch_server_bin)" --config-file="$CH_ETC/config.xml"
  CH_STATE="started"
}

# --- commands ------------------------------------------------------------------------------

print_info() {
  local kafka_meta ch_ver
  kafka_meta=$(kafka_metadata || true)
  ch_ver=$(ch_version || true)
  cat <<EOF
Kafka $KAFKA_VERSION (KRaft, combined broker+controller, node 1, cluster id ${kafka_meta#* }): $KAFKA_STATE
  bootstrap servers  $KAFKA_HOST:$KAFKA_PORT (PLAINTEXT)   controller $KAFKA_HOST:$KAFKA_CONTROLLER_PORT
  pid $(pid_of "$KAFKA_PID" kafka.Kafka || echo '-')   config $(rel "$KAFKA_PROPS")   data $(rel "$KAFKA_DATA")
  log $(rel "$KAFKA_LOG")   (JVM output: $(rel "$KAFKA_OUT"))
  admin tools  scripts/services.sh kafka-topics --list
               scripts/services.sh kafka-consumer-groups --describe --group event-consumer-group
ClickHouse $ch_ver: $CH_STATE
  native  $CH_HOST:$CH_TCP_PORT   e.g. clickhouse-client --host $CH_HOST --port $CH_TCP_PORT --query 'SELECT 1'
  http    http://$CH_HOST:$CH_HTTP_PORT/   user default, no password
  pid $(pid_of "$CH_PID" clickhouse-server || echo '-')   config $(rel "$CH_ETC/config.xml")   data $(rel "$CH_HOME/data")
  log $(rel "$CH_LOG")   (errors: $(rel "$CH_ERR_LOG"))
EOF
}

# now_ms: wall clock in milliseconds.
now_ms() { local t=${EPOCHREALTIME/[.,]/}; echo $((t / 1000)); }

cmd_up() {
  local start
  start=$(now_ms)
  lock_services
  KAFKA_STATE="" CH_STATE=""
  kafka_start
  clickhouse_start
  if [[ $KAFKA_STATE != "already running" ]]; then
    wait_until Kafka kafka_answers "$KAFKA_PID" kafka.Kafka "$KAFKA_LOG" "$KAFKA_OUT"
    log "Kafka answers on $KAFKA_HOST:$KAFKA_PORT"
  fi
  if [[ $CH_STATE != "already running" ]]; then
    wait_until ClickHouse ch_answers "$CH_PID" clickhouse-server "$CH_LOG" "$CH_OUT"
    log "ClickHouse answers on $CH_HOST:$CH_TCP_PORT and $CH_HOST:$CH_HTTP_PORT"
  fi
  ensure_kafka_tools
  print_info
  log "up: ready after $(($(now_ms) - start)) ms"
}

cmd_down() {
  local purge=${1:-}
  lock_services
  stop Kafka "$KAFKA_PID" kafka.Kafka
  stop ClickHouse "$CH_PID" clickhouse-server
  if kafka_answers; then
    log "note: something not started by this script still answers on $KAFKA_HOST:$KAFKA_PORT"
  fi
  if ch_ping; then
    log "note: something not started by this script still answers on $CH_HOST:$CH_HTTP_PORT"
  fi
  if [[ $purge == --purge ]]; then
    log "deleting $(rel "$KAFKA_HOME") and $(rel "$CH_HOME")"
    rm -rf "$KAFKA_HOME" "$CH_HOME"
  fi
}

# kafka_stop_for_test: stop the broker (SIGTERM, as an operator would) and
# fail unless it stopped answering: a fault test must not pass with the
# broker still up, e.g. one that another checkout's scripts started (its pid
# file is not here).
kafka_stop_for_test() {
  stop Kafka "$KAFKA_PID" kafka.Kafka
  if kafka_answers; then
    die "Kafka still answers on $KAFKA_HOST:$KAFKA_PORT after the stop: it was not started from this checkout ($(rel "$KAFKA_PID") names no live broker)"
  fi
}

# cmd_kafka_restart: stop the broker and start it again, keeping its data;
# for the fault tests (test/e2e).
cmd_kafka_restart() {
  lock_services
  kafka_stop_for_test
  KAFKA_STATE=""
  kafka_start
  wait_until Kafka kafka_answers "$KAFKA_PID" kafka.Kafka "$KAFKA_LOG" "$KAFKA_OUT"
  log "Kafka answers again on $KAFKA_HOST:$KAFKA_PORT"
}

cmd_status() {
  local ok=0 pid meta ver
  if pid=$(pid_of "$KAFKA_PID" kafka.Kafka); then pid="running (pid $pid)"; else pid="not running"; fi
  if meta=$(kafka_metadata); then
    echo "kafka:      $pid, answers on $KAFKA_HOST:$KAFKA_PORT (brokers ${meta%% *}, cluster id ${meta#* })"
  else
    echo "kafka:      $pid, NOT answering on $KAFKA_HOST:$KAFKA_PORT   log $(rel "$KAFKA_LOG")"
    ok=1
  fi
  if pid=$(pid_of "$CH_PID" clickhouse-server); then pid="running (pid $pid)"; else pid="not running"; fi
  if ch_ping && ver=$(ch_version); then
    echo "clickhouse: $pid, answers on $CH_HOST:$CH_TCP_PORT and $CH_HOST:$CH_HTTP_PORT (version $ver)"
  else
    echo "clickhouse: $pid, NOT answering on $CH_HOST:$CH_TCP_PORT / $CH_HOST:$CH_HTTP_PORT   log $(rel "$CH_LOG")"
    ok=1
  fi
  return "$ok"
}

# cmd_topic: create the collector's topic if it is missing, with the partition count its
# configuration needs, rather than leave it to the broker's auto-creation (num.partitions),
# and messages as large as the kafka exporter's producer::max_message_bytes (the largest
# operation the API accepts: KAFKA_MESSAGE_MAX_BYTES).
cmd_topic() {
  local topic=${KAFKA_TOPIC:-events} want=${KAFKA_PARTITIONS:-3} rf=${KAFKA_REPLICATION_FACTOR:-1}
  local out have state=exists
  [[ $want =~ ^[1-9][0-9]*$ ]] || die "KAFKA_PARTITIONS must be a positive integer, not '$want'"
  [[ $rf =~ ^[1-9][0-9]*$ ]] || die "KAFKA_REPLICATION_FACTOR must be a positive integer, not '$rf'"
  # The admin client retries an unreachable broker for a minute; the local one is checked at once.
  if [[ -z ${KAFKA_BROKERS:-} ]] && ! kafka_answers; then
    die "Kafka does not answer on $KAFKA_HOST:$KAFKA_PORT; start it with: make services"
  fi
  ensure_kafka_tools
  if ! out=$("${KAFKA_TOOLS_JAVA[@]}" org.apache.kafka.tools.TopicCommand \
    --bootstrap-server "$KAFKA_BOOTSTRAP" --create --if-not-exists --topic "$topic" \
    --partitions "$want" --replication-factor "$rf" --config max.message.bytes="$KAFKA_MESSAGE_MAX_BYTES" 2>&1); then
    printf '%s\n' "$out" >&2
    die "could not create topic $topic on $KAFKA_BOOTSTRAP"
  fi
  [[ $out == *"Created topic"* ]] && state="created"
  if ! out=$("${KAFKA_TOOLS_JAVA[@]}" org.apache.kafka.tools.TopicCommand \
    --bootstrap-server "$KAFKA_BOOTSTRAP" --describe --topic "$topic" 2>&1); then
    printf '%s\n' "$out" >&2
    die "could not describe topic $topic on $KAFKA_BOOTSTRAP"
  fi
  # The summary line is "Topic: NAME<TAB>TopicId: ...<TAB>PartitionCount: N<TAB>..."; --topic
  # is a regular expression, so only the line of exactly this name counts.
  have=$(awk -F'\t' -v name="Topic: $topic" '$1 == name {
      for (i = 2; i <= NF; i++) if (sub(/^PartitionCount: /, "", $i)) print $i }' <<<"$out")
  [[ $have =~ ^[0-9]+$ ]] || {
    printf '%s\n' "$out" >&2
    die "no partition count for topic $topic in the output above"
  }
  echo "topic $topic on $KAFKA_BOOTSTRAP: $have partitions, $state (KAFKA_PARTITIONS=$want)"
  # The largest message the topic takes: the collector's producer sends up to KAFKA_MESSAGE_MAX_BYTES.
  local maxbytes
  maxbytes=$(awk -F'\t' -v name="Topic: $topic" '$1 == name {
      for (i = 2; i <= NF; i++) if ($i ~ /^Configs: /) {
        n = split(substr($i, 10), kv, ","); for (j = 1; j <= n; j++) if (sub(/^max\.message\.bytes=/, "", kv[j])) print kv[j] } }' <<<"$out")
  if [[ -z $maxbytes ]]; then
    log "note: topic $topic sets no max.message.bytes: the broker's message.max.bytes applies; it must be at least" \
      "$KAFKA_MESSAGE_MAX_BYTES (the collector's producer::max_message_bytes), or set it on the topic:" \
      "scripts/services.sh kafka-configs --alter --entity-type topics --entity-name $topic --add-config max.message.bytes=$KAFKA_MESSAGE_MAX_BYTES"
  elif ((maxbytes < KAFKA_MESSAGE_MAX_BYTES)); then
    log "warning: topic $topic takes messages of at most $maxbytes bytes, less than the $KAFKA_MESSAGE_MAX_BYTES the collector's" \
      "producer sends (the largest events would get 500); raise it: scripts/services.sh kafka-configs --alter" \
      "--entity-type topics --entity-name $topic --add-config max.message.bytes=$KAFKA_MESSAGE_MAX_BYTES"
  fi
  if ((have < want)); then
    die "topic $topic has $have partitions, fewer than KAFKA_PARTITIONS=$want. Either run the" \
      "collector with KAFKA_PARTITIONS=$have, or add partitions while the ingest tier is stopped" \
      "and the storage tier's lag is 0 (more partitions send some event ids to another" \
      "partition, and an id must not be in two partitions while records of it wait):" \
      "scripts/services.sh kafka-topics --alter --topic $topic --partitions $want"
  fi
  if ((have > want)); then
    log "note: topic $topic has $have partitions, more than KAFKA_PARTITIONS=$want; run the collector with KAFKA_PARTITIONS=$have to use them all"
  fi
}

chdb_ready() {
  local spec size
  [[ -f $CHDB_LIB && -f $CHDB_STAMP ]] || return 1
  { read -r spec && read -r size; } <"$CHDB_STAMP" || return 1
  [[ $spec == "$CHDB_PKG@$CHDB_VERSION" && $size == "$(stat -c %s "$CHDB_LIB")" ]]
}

cmd_chdb() {
  if ! chdb_ready; then
    mkdir -p "$CHDB_DIR"
    exec 8>"$CHDB_DIR/.lock"
    flock -w 900 8 || die "another scripts/services.sh chdb is still busy"
    if ! chdb_ready; then
      command -v npm >/dev/null 2>&1 || die "npm is needed to fetch $CHDB_PKG"
      local tmp tgz=() size
      tmp=$(mktemp -d "$CHDB_DIR/.tmp.XXXXXX")
      # shellcheck disable=SC2064 # expand $tmp now
      trap "rm -rf '$tmp'" EXIT
      log "fetching $CHDB_PKG@$CHDB_VERSION with npm pack (about 180 MB download, 566 MB unpacked)"
      (cd "$tmp" && npm pack --silent "$CHDB_PKG@$CHDB_VERSION" >&2) ||
        die "npm pack $CHDB_PKG@$CHDB_VERSION failed"
      tgz=("$tmp"/*.tgz)
      [[ ${#tgz[@]} -eq 1 && -f ${tgz[0]} ]] || die "npm pack produced no single tarball in $tmp"
      tar -xzf "${tgz[0]}" -C "$tmp" package/package.json package/libchdb.so ||
        die "the tarball has no package/libchdb.so"
      rm -f "${tgz[0]}"
      grep -q "\"version\": *\"$CHDB_VERSION\"" "$tmp/package/package.json" ||
        die "unexpected version in $CHDB_PKG package.json (want $CHDB_VERSION)"
      size=$(stat -c %s "$tmp/package/libchdb.so")
      rm -f "$CHDB_STAMP"
      mv -f "$tmp/package/libchdb.so" "$CHDB_LIB"
      printf '%s\n%s\n' "$CHDB_PKG@$CHDB_VERSION" "$size" >"$CHDB_STAMP"
      rm -rf "$tmp"
      trap - EXIT
      log "chDB engine $CHDB_VERSION ready ($size bytes)"
    fi
  fi
  printf '%s\n' "$CHDB_LIB"
}

main() {
  local cmd=${1:-help}
  [[ $# -gt 0 ]] && shift
  case $cmd in
    up) cmd_up ;;
    down)
      [[ $# -eq 0 || ($# -eq 1 && $1 == --purge) ]] || die "usage: $0 down [--purge]"
      cmd_down "${1:-}"
      ;;
    purge) cmd_down --purge ;;
    status) cmd_status ;;
    kafka-restart) cmd_kafka_restart ;;
    kafka-stop)
      lock_services
      kafka_stop_for_test
      ;;
    chdb) cmd_chdb ;;
    topic)
      [[ $# -eq 0 ]] || die "usage: $0 topic (settings come from KAFKA_TOPIC, KAFKA_PARTITIONS, ...)"
      cmd_topic
      ;;
    kafka-topics) kafka_tool org.apache.kafka.tools.TopicCommand "$@" ;;
    kafka-consumer-groups) kafka_tool org.apache.kafka.tools.consumer.group.ConsumerGroupCommand "$@" ;;
    kafka-configs) kafka_broker_tool kafka.admin.ConfigCommand "$@" ;;
    help | -h | --help) usage ;;
    *)
      usage >&2
      exit 2
      ;;
  esac
}

main "$@"
