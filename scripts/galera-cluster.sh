#!/usr/bin/env bash
# A local three-node MariaDB Galera cluster on loopback, for `npm run test:galera` and the
# benchmark. It never touches the system MariaDB: own ports (3311-3313), data, sockets and pid files
# under GALERA_DIR, and --defaults-file so /etc/mysql is not read. Root connects over TCP, no password.
#   scripts/galera-cluster.sh start|stop|status
set -euo pipefail

DIR="${GALERA_DIR:-${TMPDIR:-/tmp}/plk-galera}"
NODES=3
PROVIDER=/usr/lib/galera/libgalera_smm.so

sql_port() { echo $((3310 + $1)); }
cnf() { echo "$DIR/node$1/my.cnf"; }
pid_of() { cat "$DIR/node$1/mariadbd.pid" 2>/dev/null || true; }
alive() { local pid; pid=$(pid_of "$1"); [ -n "$pid" ] && kill -0 "$pid" 2>/dev/null; }

write_config() {
  local n=$1 base="$DIR/node$1" peers
  peers=$(seq -s, -f "127.0.0.1:4567%g" 1 "$NODES")
  mkdir -p "$base/data"
  cat >"$(cnf "$n")" <<CNF
[mariadbd]
datadir = $base/data
socket = $base/mariadbd.sock
pid-file = $base/mariadbd.pid
log-error = $base/error.log
port = $(sql_port "$n")
bind-address = 127.0.0.1
user = mysql
skip-name-resolve
binlog_format = ROW
default_storage_engine = InnoDB
innodb_autoinc_lock_mode = 2
innodb_buffer_pool_size = 64M
innodb_flush_log_at_trx_commit = 2
wsrep_on = ON
wsrep_provider = $PROVIDER
wsrep_cluster_name = plk_galera
wsrep_cluster_address = gcomm://$peers
wsrep_node_address = 127.0.0.1:4567$n
wsrep_node_name = node$n
wsrep_provider_options = "gmcast.listen_addr=tcp://127.0.0.1:4567$n;ist.recv_addr=127.0.0.1:4568$n;gcache.size=64M"
wsrep_sst_method = rsync
wsrep_sst_receive_address = 127.0.0.1:4569$n
CNF
  chown -R mysql:mysql "$base"
}

node_sql() { mariadb --defaults-file=/dev/null --protocol=socket -S "$DIR/node$1/mariadbd.sock" -uroot -N -e "$2"; }

wait_synced() {
  local n=$1 launcher=$2
  for _ in $(seq 1 120); do
    if [ "$(node_sql "$n" "SHOW STATUS LIKE 'wsrep_local_state_comment'" 2>/dev/null | cut -f2)" = Synced ]; then
      return 0
    fi
    kill -0 "$launcher" 2>/dev/null || break
    sleep 0.5
  done
  echo "node $n did not reach Synced; see $DIR/node$n/error.log" >&2
  tail -n 30 "$DIR/node$n/error.log" >&2 || true
  return 1
}

start_node() {
  local n=$1
  shift
  /usr/sbin/mariadbd --defaults-file="$(cnf "$n")" "$@" >>"$DIR/node$n/stdout.log" 2>&1 &
  wait_synced "$n" $!
}

start() {
  [ -f "$PROVIDER" ] || { echo "galera-4 is not installed ($PROVIDER missing)" >&2; exit 1; }
  if alive 1; then echo "already running under $DIR"; return 0; fi
  rm -rf "$DIR"
  mkdir -p "$DIR"
  chmod 755 "$DIR"
  # A start that fails half-way stops the nodes it started.
  trap 'stop' ERR
  for n in $(seq 1 "$NODES"); do write_config "$n"; done
  mariadb-install-db --defaults-file="$(cnf 1)" --auth-root-authentication-method=socket \
    >"$DIR/node1/install.log" 2>&1
  start_node 1 --wsrep-new-cluster
  node_sql 1 "CREATE USER 'root'@'127.0.0.1'; GRANT ALL ON *.* TO 'root'@'127.0.0.1' WITH GRANT OPTION;"
  # Joiners start empty and receive node 1's data (and the TCP root) by rsync SST.
  for n in $(seq 2 "$NODES"); do start_node "$n"; done
  trap - ERR
  echo "Galera cluster of $NODES nodes up: $(for n in $(seq 1 "$NODES"); do printf 'mysql://root@127.0.0.1:%s ' "$(sql_port "$n")"; done)"
}

stop() {
  # Joiners first, node 1 last, each by the pid in its own pid file.
  for n in $(seq "$NODES" -1 1); do
    local pid
    pid=$(pid_of "$n")
    [ -n "$pid" ] || continue
    kill "$pid" 2>/dev/null || true
    for _ in $(seq 1 60); do kill -0 "$pid" 2>/dev/null || break; sleep 0.5; done
    kill -0 "$pid" 2>/dev/null && kill -9 "$pid" 2>/dev/null || true
  done
  rm -rf "$DIR"
}

status() {
  for n in $(seq 1 "$NODES"); do
    if alive "$n"; then
      echo "node $n :$(sql_port "$n") $(node_sql "$n" "SHOW STATUS LIKE 'wsrep_local_state_comment'" | cut -f2)"
    else
      echo "node $n down"
    fi
  done
}

case "${1:-}" in
  start) start ;;
  stop) stop ;;
  status) status ;;
  *) echo "usage: $0 start|stop|status" >&2; exit 2 ;;
esac
