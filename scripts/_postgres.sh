# Sourced by scripts/test: start the local PostgreSQL cluster, if one is installed, and make a
# role and database for the tests. Exports SOCKDOJO_TEST_POSTGRES_URL when it is ready.
# With CI=true a missing PostgreSQL is an error; elsewhere those tests skip with a reason.
pg_ready=""
if command -v pg_lsclusters >/dev/null 2>&1 && [ "$(id -u)" = 0 ]; then
  cluster="$(pg_lsclusters --no-header 2>/dev/null | head -n 1)"
  if [ -n "$cluster" ]; then
    read -r pg_version pg_name pg_port pg_status _ <<<"$cluster"
    if [ "$pg_status" != "online" ]; then
      pg_ctlcluster --skip-systemctl-redirect "$pg_version" "$pg_name" start
    fi
    as_postgres() { su postgres -c "psql -p $pg_port -v ON_ERROR_STOP=1 -qAtc \"$1\""; }
    for _ in $(seq 1 50); do as_postgres "select 1" >/dev/null 2>&1 && break; sleep 0.2; done
    if [ "$(as_postgres "select 1 from pg_roles where rolname='sockdojo_test'")" != 1 ]; then
      as_postgres "create role sockdojo_test login password 'sockdojo_test' createdb"
    fi
    if [ "$(as_postgres "select 1 from pg_database where datname='sockdojo_test'")" != 1 ]; then
      as_postgres "create database sockdojo_test owner sockdojo_test"
    fi
    export SOCKDOJO_TEST_POSTGRES_URL="postgresql+psycopg://sockdojo_test:sockdojo_test@127.0.0.1:$pg_port/sockdojo_test"
    pg_ready=1
  fi
fi
if [ -z "$pg_ready" ]; then
  if [ "${CI:-}" = "true" ]; then
    echo "scripts/test: CI=true but no PostgreSQL cluster could be started (pg_lsclusters, root)" >&2
    exit 1
  fi
  echo "scripts/test: no local PostgreSQL; the PostgreSQL variants of the tests will be skipped" >&2
fi
