#!/usr/bin/env bash
# Real engines for the store tests, on 127.0.0.1 with throwaway data directories and free ports:
# PostgreSQL, Redis, and a three-node Redis Cluster (no replicas). Installs postgresql and
# redis-server from the OS packages when missing.
#
# Sourced (scripts/test.sh):  source scripts/engines.sh && engines_start
#   exports WEBGATES_PG_URL, WEBGATES_REDIS_URL, WEBGATES_REDIS_CLUSTER_URLS (comma-separated) and
#   WEBGATES_ENGINES_DIR, and traps EXIT so the servers stop even when a later step fails.
# Executed (the fault tests restart engines this way; needs WEBGATES_ENGINES_DIR):
#   scripts/engines.sh start|stop|kill|restart postgres|redis
# Executed with `run CMD...`: starts the engines, runs CMD with the variables set, stops them.

engines_log() { printf 'engines: %s\n' "$*" >&2; }

engines_pg_bin() {
  local d
  d=$(ls -d /usr/lib/postgresql/*/bin 2>/dev/null | sort -V | tail -n 1)
  [ -n "$d" ] && [ -x "$d/initdb" ] && printf '%s\n' "$d"
}

engines_install() {
  local missing=()
  engines_pg_bin >/dev/null || missing+=(postgresql)
  command -v redis-server >/dev/null && command -v redis-cli >/dev/null || missing+=(redis-server)
  [ ${#missing[@]} -eq 0 ] && return 0
  engines_log "installing ${missing[*]}"
  local sudo=()
  [ "$(id -u)" -eq 0 ] || sudo=(sudo)
  "${sudo[@]}" env DEBIAN_FRONTEND=noninteractive apt-get update -qq
  "${sudo[@]}" env DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends \
    "${missing[@]}" >/dev/null
}

# A TCP port nothing listens on (and, for cluster nodes, whose bus port +10000 is free too).
engines_free_port() {
  local port
  for _ in $(seq 1 200); do
    port=$((20000 + RANDOM % 30000))
    if ! (exec 3<>"/dev/tcp/127.0.0.1/$port") 2>/dev/null &&
       ! (exec 3<>"/dev/tcp/127.0.0.1/$((port + 10000))") 2>/dev/null; then
      printf '%s\n' "$port"; return 0
    fi
  done
  engines_log "no free port found"; return 1
}

# PostgreSQL refuses to run as root: run its tools as the `postgres` user then.
engines_as_pg() {
  if [ "$(id -u)" -eq 0 ]; then runuser -u postgres -- "$@"; else "$@"; fi
}

engines_wait() { # what, command...
  local what=$1; shift
  for _ in $(seq 1 300); do
    "$@" >/dev/null 2>&1 && return 0
    sleep 0.1
  done
  engines_log "$what did not become ready"; return 1
}

engines_postgres_start() {
  local dir=$WEBGATES_ENGINES_DIR/postgres bin port
  bin=$(engines_pg_bin)
  if [ ! -d "$dir/data" ]; then
    mkdir -p "$dir"
    [ "$(id -u)" -eq 0 ] && chown postgres "$dir"
    engines_as_pg "$bin/initdb" -D "$dir/data" -U postgres --auth=trust -E UTF8 --locale=C >/dev/null
    engines_free_port >"$WEBGATES_ENGINES_DIR/postgres.port"
  fi
  port=$(cat "$WEBGATES_ENGINES_DIR/postgres.port")
  engines_as_pg "$bin/pg_ctl" -D "$dir/data" -l "$dir/log" -w -t 60 start \
    -o "-p $port -k $dir -c listen_addresses=127.0.0.1 -c max_connections=200" >/dev/null
  engines_wait postgres "$bin/pg_isready" -q -h 127.0.0.1 -p "$port"
}

engines_postgres_stop() { # fast | immediate (a crash: no checkpoint, WAL replay on start)
  local dir=$WEBGATES_ENGINES_DIR/postgres
  [ -f "$dir/data/postmaster.pid" ] || return 0
  engines_as_pg "$(engines_pg_bin)/pg_ctl" -D "$dir/data" -w -m "${1:-fast}" stop >/dev/null || true
}

# One redis-server: name, extra options. Appends every write and fsyncs it before answering,
# so a killed server restarts with every acknowledged write.
engines_redis_node_start() {
  local name=$1; shift
  local dir=$WEBGATES_ENGINES_DIR/$name port
  mkdir -p "$dir"
  [ -f "$WEBGATES_ENGINES_DIR/$name.port" ] || engines_free_port >"$WEBGATES_ENGINES_DIR/$name.port"
  port=$(cat "$WEBGATES_ENGINES_DIR/$name.port")
  redis-server --port "$port" --bind 127.0.0.1 --dir "$dir" --daemonize yes \
    --pidfile "$dir/redis.pid" --logfile "$dir/log" --save "" \
    --appendonly yes --appendfsync always "$@"
  engines_wait "$name" engines_redis_ready "$port"
}

# PONG, not just an answer: a restarted server answers LOADING until its append-only file is read.
engines_redis_ready() { [ "$(redis-cli -p "$1" ping 2>/dev/null)" = PONG ]; }

engines_redis_node_stop() { # name, signal (TERM: clean shutdown, KILL: a crash)
  local pidfile=$WEBGATES_ENGINES_DIR/$1/redis.pid pid
  [ -f "$pidfile" ] || return 0
  pid=$(cat "$pidfile")
  kill "-${2:-TERM}" "$pid" 2>/dev/null || true
  for _ in $(seq 1 100); do kill -0 "$pid" 2>/dev/null || break; sleep 0.1; done
  rm -f "$pidfile"
}

engines_redis_start() { engines_redis_node_start redis; }
engines_redis_stop() { engines_redis_node_stop redis "${1:-TERM}"; }

engines_cluster_start() {
  local nodes=() i port
  for i in 1 2 3; do
    engines_redis_node_start "cluster$i" --cluster-enabled yes --cluster-config-file nodes.conf \
      --cluster-node-timeout 5000
    nodes+=("127.0.0.1:$(cat "$WEBGATES_ENGINES_DIR/cluster$i.port")")
  done
  port=$(cat "$WEBGATES_ENGINES_DIR/cluster1.port")
  if ! redis-cli -p "$port" cluster info | grep -q 'cluster_state:ok'; then
    redis-cli --cluster create "${nodes[@]}" --cluster-replicas 0 --cluster-yes >/dev/null
  fi
  for i in 1 2 3; do
    engines_wait "cluster$i" bash -c \
      "redis-cli -p $(cat "$WEBGATES_ENGINES_DIR/cluster$i.port") cluster info | grep -q cluster_state:ok"
  done
  WEBGATES_REDIS_CLUSTER_URLS=$(printf 'redis://%s,' "${nodes[@]}")
  WEBGATES_REDIS_CLUSTER_URLS=${WEBGATES_REDIS_CLUSTER_URLS%,}
}

engines_cluster_stop() {
  local i
  for i in 1 2 3; do engines_redis_node_stop "cluster$i" TERM; done
}

# Starts everything and exports the variables; stops everything on exit.
engines_start() {
  engines_install
  WEBGATES_ENGINES_DIR=$(mktemp -d /tmp/webgates-engines.XXXXXX)
  chmod 755 "$WEBGATES_ENGINES_DIR"
  export WEBGATES_ENGINES_DIR
  trap engines_stop EXIT
  trap 'exit 130' INT
  trap 'exit 143' TERM
  engines_postgres_start
  engines_redis_start
  engines_cluster_start
  export WEBGATES_PG_URL="postgres://postgres@127.0.0.1:$(cat "$WEBGATES_ENGINES_DIR/postgres.port")/postgres"
  export WEBGATES_REDIS_URL="redis://127.0.0.1:$(cat "$WEBGATES_ENGINES_DIR/redis.port")"
  export WEBGATES_REDIS_CLUSTER_URLS
  engines_log "PostgreSQL $WEBGATES_PG_URL, Redis $WEBGATES_REDIS_URL, Redis Cluster $WEBGATES_REDIS_CLUSTER_URLS"
}

engines_stop() {
  [ -n "${WEBGATES_ENGINES_DIR:-}" ] && [ -d "$WEBGATES_ENGINES_DIR" ] || return 0
  engines_postgres_stop fast
  engines_redis_stop TERM
  engines_cluster_stop
  rm -rf "$WEBGATES_ENGINES_DIR"
}

if [ "${BASH_SOURCE[0]}" = "$0" ]; then
  set -euo pipefail
  case "${1:-}" in
    run)
      shift; engines_start; "$@" ;;
    start|stop|kill|restart)
      : "${WEBGATES_ENGINES_DIR:?set by engines_start}"
      action=$1 engine=${2:?postgres or redis}
      case "$engine:$action" in
        postgres:start) engines_postgres_start ;;
        postgres:stop) engines_postgres_stop fast ;;
        postgres:kill) engines_postgres_stop immediate ;;
        postgres:restart) engines_postgres_stop fast; engines_postgres_start ;;
        redis:start) engines_redis_start ;;
        redis:stop) engines_redis_stop TERM ;;
        redis:kill) engines_redis_stop KILL ;;
        redis:restart) engines_redis_stop TERM; engines_redis_start ;;
        *) echo "unknown engine $engine" >&2; exit 2 ;;
      esac ;;
    *) echo "usage: $0 run CMD... | start|stop|kill|restart postgres|redis" >&2; exit 2 ;;
  esac
fi
