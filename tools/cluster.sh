#!/usr/bin/env bash
# Throwaway PostgreSQL cluster for tests and the demo: a temporary data directory, a
# private port and socket directory, ruvector preloaded. Source this file, then
#   cluster_start [extra postgresql.conf lines...]; ...; cluster_stop
# As root the server runs as the `postgres` user (initdb refuses root).
# Exports PGHOST, PGPORT, PGUSER, PGDATABASE for clients, and CLUSTER_DIR, PGDATA.

PG_BINDIR=${PG_BINDIR:-$(pg_config --bindir)}

cluster_as_owner() {
  if [[ $(id -u) -eq 0 ]]; then
    runuser -u postgres -- "$@"
  else
    "$@"
  fi
}

cluster_free_port() {
  local port
  for port in $(seq "${RUVECTOR_TEST_PORT:-54329}" 54999); do
    if ! (exec 3<>"/dev/tcp/127.0.0.1/$port") 2>/dev/null && [[ ! -e "/tmp/.s.PGSQL.$port" ]]; then
      echo "$port"
      return 0
    fi
  done
  echo "cluster: no free port" >&2
  return 1
}

cluster_start() {
  CLUSTER_DIR=$(mktemp -d /tmp/ruvector-cluster.XXXXXX)
  chmod 755 "$CLUSTER_DIR"
  PGDATA="$CLUSTER_DIR/data"
  mkdir -p "$PGDATA"
  [[ $(id -u) -eq 0 ]] && chown -R postgres:postgres "$CLUSTER_DIR"
  cluster_as_owner "$PG_BINDIR/initdb" -D "$PGDATA" -U postgres -A trust --no-sync \
    -E UTF8 --locale=C >"$CLUSTER_DIR/initdb.log" 2>&1 || {
    cat "$CLUSTER_DIR/initdb.log" >&2
    return 1
  }
  PGPORT=$(cluster_free_port) || return 1
  {
    echo "port = $PGPORT"
    echo "listen_addresses = ''"
    echo "unix_socket_directories = '$CLUSTER_DIR'"
    echo "shared_preload_libraries = 'ruvector'"
    echo "fsync = off"
    echo "max_connections = 40"
    echo "logging_collector = off"
    for line in "$@"; do echo "$line"; done
  } >>"$PGDATA/postgresql.conf"
  cluster_as_owner "$PG_BINDIR/pg_ctl" -D "$PGDATA" -l "$CLUSTER_DIR/server.log" -w -t 60 \
    start >/dev/null || {
    cat "$CLUSTER_DIR/server.log" >&2
    return 1
  }
  export PGHOST="$CLUSTER_DIR" PGPORT PGUSER=postgres PGDATABASE=postgres PGDATA CLUSTER_DIR
}

cluster_stop() {
  [[ -n "${CLUSTER_DIR:-}" && -d "$CLUSTER_DIR" ]] || return 0
  cluster_as_owner "$PG_BINDIR/pg_ctl" -D "$PGDATA" -m fast -w stop >/dev/null 2>&1 ||
    cluster_as_owner "$PG_BINDIR/pg_ctl" -D "$PGDATA" -m immediate -w stop >/dev/null 2>&1 || true
  if [[ -n "${KEEP_CLUSTER:-}" ]]; then
    echo "cluster: kept $CLUSTER_DIR" >&2
  else
    rm -rf "$CLUSTER_DIR"
  fi
  unset CLUSTER_DIR
}

# Several clusters at once, each in its own directory with its own socket directory (so
# all may listen on one port number): sets CLUSTER_DIRS; the last one's variables stay
# exported as cluster_start leaves them. Set `trap clusters_stop EXIT` first.
#   clusters_start N [extra postgresql.conf lines...]; ...; clusters_stop
CLUSTER_DIRS=()
clusters_start() {
  local n=$1 i
  shift
  for ((i = 0; i < n; i++)); do
    cluster_start "$@" || return 1
    CLUSTER_DIRS+=("$CLUSTER_DIR")
  done
}

clusters_stop() {
  local dir
  for dir in "${CLUSTER_DIRS[@]}"; do
    cluster_as_owner "$PG_BINDIR/pg_ctl" -D "$dir/data" -m fast -w stop >/dev/null 2>&1 ||
      cluster_as_owner "$PG_BINDIR/pg_ctl" -D "$dir/data" -m immediate -w stop >/dev/null 2>&1 || true
    rm -rf "$dir"
  done
  CLUSTER_DIRS=()
}
