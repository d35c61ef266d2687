#!/usr/bin/env bash
# Starts throwaway PostgreSQL and MariaDB servers in a temporary directory (loopback only, no
# fsync) for the test suite. Sourced by scripts/test.sh: defines start_databases / stop_databases
# and exports TEST_PG_URL and TEST_MYSQL_URL.

free_port() { # first free TCP port from $1 upwards
  local p=$1
  while (exec 3<>"/dev/tcp/127.0.0.1/$p") 2>/dev/null; do p=$((p + 1)); done
  echo "$p"
}

start_pg() {
  local bin; bin=$(ls -d /usr/lib/postgresql/*/bin | sort -V | tail -1)
  local port; port=$(free_port 55432)
  install -d -o postgres -g postgres -m 700 "$DB_RUN/pg"
  install -d -o postgres -g postgres "$DB_RUN/pgrun"
  runuser -u postgres -- "$bin/initdb" -D "$DB_RUN/pg" -U postgres --auth=trust -E UTF8 --no-sync >"$DB_RUN/initdb.log" 2>&1
  runuser -u postgres -- "$bin/pg_ctl" -D "$DB_RUN/pg" -l "$DB_RUN/pgrun/pg.log" -w -t 60 \
    -o "-p $port -k $DB_RUN/pgrun -c listen_addresses=127.0.0.1 -c fsync=off -c synchronous_commit=off -c full_page_writes=off -c max_connections=200" \
    start >/dev/null
  runuser -u postgres -- "$bin/createdb" -h 127.0.0.1 -p "$port" -U postgres q2api_test
  echo "postgres://postgres@127.0.0.1:$port/q2api_test" >"$DB_RUN/pg.url"
  echo "$bin" >"$DB_RUN/pg.bin"
}

start_my() {
  local port; port=$(free_port 53306)
  id mysql >/dev/null 2>&1 || useradd --system --no-create-home mysql
  install -d -o mysql -g mysql "$DB_RUN/my"
  mariadb-install-db --user=mysql --datadir="$DB_RUN/my/data" --auth-root-authentication-method=normal \
    --skip-test-db --skip-name-resolve >"$DB_RUN/my-install.log" 2>&1
  mariadbd --no-defaults --user=mysql --datadir="$DB_RUN/my/data" --socket="$DB_RUN/my/mysqld.sock" \
    --pid-file="$DB_RUN/my/mysqld.pid" --port="$port" --bind-address=127.0.0.1 --skip-name-resolve \
    --skip-log-bin --innodb-buffer-pool-size=64M --innodb-flush-log-at-trx-commit=0 \
    >"$DB_RUN/my.log" 2>&1 &
  for _ in $(seq 1 200); do
    mariadb-admin --socket="$DB_RUN/my/mysqld.sock" -uroot ping >/dev/null 2>&1 && break
    sleep 0.05
  done
  mariadb --socket="$DB_RUN/my/mysqld.sock" -uroot -e \
    "CREATE DATABASE q2api_test; CREATE USER 'q2api'@'127.0.0.1' IDENTIFIED BY 'q2api'; GRANT ALL ON *.* TO 'q2api'@'127.0.0.1';"
  echo "mysql://q2api:q2api@127.0.0.1:$port/q2api_test" >"$DB_RUN/my.url"
}

start_databases() {
  DB_RUN=$(mktemp -d /tmp/q2api-db.XXXXXX)
  chmod 755 "$DB_RUN"
  export DB_RUN
  local pg_job="" my_job=""
  if [ -z "${TEST_PG_URL:-}" ]; then start_pg & pg_job=$!; fi
  if [ -z "${TEST_MYSQL_URL:-}" ]; then start_my & my_job=$!; fi
  local ok=0
  if [ -n "$pg_job" ]; then wait "$pg_job" || ok=1; fi
  if [ -n "$my_job" ]; then wait "$my_job" || ok=1; fi
  [ -f "$DB_RUN/pg.url" ] && TEST_PG_URL=$(cat "$DB_RUN/pg.url") && export TEST_PG_URL
  [ -f "$DB_RUN/my.url" ] && TEST_MYSQL_URL=$(cat "$DB_RUN/my.url") && export TEST_MYSQL_URL
  return $ok
}

stop_databases() {
  [ -n "${DB_RUN:-}" ] && [ -d "$DB_RUN" ] || return 0
  wait 2>/dev/null || true
  if [ -f "$DB_RUN/pg.bin" ]; then
    runuser -u postgres -- "$(cat "$DB_RUN/pg.bin")/pg_ctl" -D "$DB_RUN/pg" -m immediate stop >/dev/null 2>&1 || true
  fi
  if [ -f "$DB_RUN/my/mysqld.pid" ]; then
    local pid; pid=$(cat "$DB_RUN/my/mysqld.pid")
    kill "$pid" 2>/dev/null || true
    for _ in $(seq 1 100); do kill -0 "$pid" 2>/dev/null || break; sleep 0.05; done
    kill -9 "$pid" 2>/dev/null || true
  fi
  rm -rf "$DB_RUN"
}
