#!/bin/bash
# Differential regression suite for the BTQL compiler against a throwaway
# PostgreSQL 15 cluster (user postgres, temp dir, port 56301 unless
# BTQL_TEST_PORT is set).  Prints one line per case and ends with
# "N passed, N failed"; exits non-zero on any failure.
set -euo pipefail
HERE="$(cd "$(dirname "$0")" && pwd)"
ROOT="$(cd "$HERE/../.." && pwd)"
PORT="${BTQL_TEST_PORT:-56301}"
PGBIN="$(pg_config --bindir)"
BUILD="$HERE/build"
mkdir -p "$BUILD"

cc -std=gnu11 -Wall -Wextra -Werror -Wno-unused-parameter -Wno-sign-compare -g \
	-fsanitize=address,undefined -fno-sanitize-recover=all \
	-I"$ROOT/src" -I"$(pg_config --includedir)" \
	-o "$BUILD/btqlc" "$HERE/btqlc.c" "$ROOT"/src/core/btql/*.c "$ROOT/src/core/common/btx_buf.c" \
	-L"$(pg_config --libdir)" -lpq

TMP="$(mktemp -d /tmp/btql-test.XXXXXX)"
chown postgres "$TMP"
as_pg() { if [ "$(id -u)" = 0 ]; then runuser -u postgres -- "$@"; else "$@"; fi; }
cleanup() {
	as_pg "$PGBIN/pg_ctl" -D "$TMP/data" -m immediate stop >/dev/null 2>&1 || true
	rm -rf "$TMP"
}
trap cleanup EXIT
as_pg "$PGBIN/initdb" -D "$TMP/data" -U postgres -A trust --no-sync >/dev/null
as_pg "$PGBIN/pg_ctl" -D "$TMP/data" -w -l "$TMP/log" \
	-o "-p $PORT -c listen_addresses=127.0.0.1 -k $TMP -c fsync=off -c timezone=UTC" start >/dev/null
PSQL=("$PGBIN/psql" -X -q -v ON_ERROR_STOP=1 -h 127.0.0.1 -p "$PORT" -U postgres)
"${PSQL[@]}" -d postgres -c "CREATE DATABASE btql" >/dev/null
"${PSQL[@]}" -d btql -f "$HERE/schema.sql" -f "$HERE/support.sql" -f "$HERE/dataset.sql" -f "$HERE/reference.sql" >/dev/null
# least privilege: the compiled SQL runs as a role that can only read the span store
"${PSQL[@]}" -d btql >/dev/null <<'SQL'
CREATE ROLE btql_reader LOGIN;
GRANT USAGE ON SCHEMA btexport, ref TO btql_reader;
GRANT SELECT ON ALL TABLES IN SCHEMA ref TO btql_reader;
GRANT SELECT ON ALL TABLES IN SCHEMA btexport TO btql_reader;
GRANT EXECUTE ON ALL FUNCTIONS IN SCHEMA btexport TO btql_reader;
SQL
# BTQL_EXEC_DIR=dir: instead of the cases, execute every query file of dir
# (e.g. the fuzzer's corpus) and report SQL that PostgreSQL rejects
if [ -n "${BTQL_EXEC_DIR:-}" ]; then
	find "$BTQL_EXEC_DIR" -type f -print0 | xargs -0 "$BUILD/btqlc" exec "host=127.0.0.1 port=$PORT dbname=btql user=btql_reader"
	exit $?
fi
CASES=("$HERE"/cases/*.txt)
if [ "$#" -gt 0 ]; then CASES=("$@"); fi
OUT="$TMP/out"
rc=0
ASAN_OPTIONS=detect_leaks=1 "$BUILD/btqlc" run "host=127.0.0.1 port=$PORT dbname=btql user=btql_reader" "${CASES[@]}" \
	>"$OUT.cases" || rc=1
# the examples of docs/btql.md must be tested cases
ASAN_OPTIONS=detect_leaks=1 "$BUILD/btqlc" docs "$ROOT/docs/btql.md" "$HERE"/cases/*.txt >"$OUT.docs" || rc=1
grep -v ' passed, .* failed$' "$OUT.cases" "$OUT.docs" --no-filename || true
p=$(( $(tail -1 "$OUT.cases" | awk '{print $1}') + $(tail -1 "$OUT.docs" | awk '{print $1}') ))
f=$(( $(tail -1 "$OUT.cases" | awk '{print $3}') + $(tail -1 "$OUT.docs" | awk '{print $3}') ))
echo "$p passed, $f failed"
[ "$rc" = 0 ] && [ "$f" = 0 ]
