#!/usr/bin/env bash
# npm run test:galera: the MariaDB test project against a local three-node Galera cluster, the
# tests' databases and server processes spread over the nodes. A cluster this script starts is
# stopped afterwards, also when a test fails; one already running is used and left running.
set -euo pipefail
cd "$(dirname "$0")/.."
CLUSTER=scripts/galera-cluster.sh
if "$CLUSTER" status | grep -q Synced; then
  echo "using the cluster already running"
else
  trap '"$CLUSTER" stop' EXIT
  "$CLUSTER" start
fi
TEST_MARIADB_URLS=mysql://root@127.0.0.1:3311,mysql://root@127.0.0.1:3312,mysql://root@127.0.0.1:3313 \
  npx jest --selectProjects mariadb "$@"
