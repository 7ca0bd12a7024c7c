#!/usr/bin/env bash
# Run a command with a throwaway PostgreSQL server on 127.0.0.1 (Debian packages; installed if missing).
# Exports CDS_TEST_DATABASE_URL and CDS_TEST_REQUIRE_POSTGRES=1, so the storage and end-to-end tests run against
# PostgreSQL as well as SQLite and fail (not skip) if it is unavailable. Usage: scripts/with-test-postgres.sh make test
set -euo pipefail

pg_bin() { ls -d /usr/lib/postgresql/*/bin 2>/dev/null | sort -V | tail -1; }

if [ -z "$(pg_bin)" ]; then
  echo "with-test-postgres: installing PostgreSQL (apt)" >&2
  export DEBIAN_FRONTEND=noninteractive
  apt-get update -qq
  apt-get install -y -qq --no-install-recommends postgresql >/dev/null
fi
PGBIN="$(pg_bin)"
DATA="$(mktemp -d /tmp/sid-igrt-pg.XXXXXX)"
PORT="$(python3 -c 'import socket; s = socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])')"
AS=()
if [ "$(id -u)" = 0 ]; then
  chown postgres "$DATA"
  AS=(runuser -u postgres --)
fi
"${AS[@]}" "$PGBIN/initdb" -D "$DATA" -A trust -U postgres >/dev/null
"${AS[@]}" "$PGBIN/pg_ctl" -D "$DATA" -o "-h 127.0.0.1 -p $PORT -k $DATA" -l "$DATA/server.log" -w start >/dev/null
cleanup() {
  "${AS[@]}" "$PGBIN/pg_ctl" -D "$DATA" -m fast stop >/dev/null 2>&1 || true
  rm -rf "$DATA"
}
trap cleanup EXIT
"$PGBIN/createdb" -h 127.0.0.1 -p "$PORT" -U postgres sid_igrt_test
echo "with-test-postgres: PostgreSQL $("$PGBIN/postgres" --version | awk '{print $3}') on 127.0.0.1:$PORT" >&2

export CDS_TEST_DATABASE_URL="postgresql://postgres@127.0.0.1:$PORT/sid_igrt_test"
export CDS_TEST_REQUIRE_POSTGRES=1
"$@"
