#!/bin/bash
# Differential regression suite for the BTQL compiler against PostgreSQL 15 with this tree's
# btexport installed (CREATE EXTENSION: the span store of the real install script).  The cluster
# comes from the shared harness (test/harness/pg.sh: $PG_BIN, a free port); run by
# test/run-all.sh it uses the run's private install, standalone it makes its own
# (test/harness/install.sh).  Prints one line per case and ends with "N passed, N failed";
# exits non-zero on any failure.
#
# Every valid case runs three times against look-alike objects (plant.sql) for every function,
# operator and type the compiler and its glue can emit, each raising an error when reached:
#   [reader]   as btql_reader, default search_path, look-alikes in public (behind pg_catalog);
#   [hostile]  as btql_hostile, search_path = btql_evil, pg_catalog, public (look-alikes first);
#   [server]   through btexport.query()/explain() as superuser in a session with the hostile
#              search_path: those functions must pin search_path = pg_catalog, pg_temp.
# The compiled SQL must reach none of them (and pass the search_path lint, test/btql/sql_lint.c).
#   bash test/btql/run.sh [case-file ...]
#   BTQL_EXEC_DIR=dir bash test/btql/run.sh    execute every query file of dir (e.g. a fuzz corpus)
set -euo pipefail
HERE="$(cd "$(dirname "$0")" && pwd)"
ROOT="$(cd "$HERE/../.." && pwd)"
BUILD="$HERE/build"
mkdir -p "$BUILD"

# the compiler's sources wherever the tree keeps them; BTQL_SRC=dir builds btqlc from another copy
# (e.g. an older compiler, to show what the look-alikes catch) while the look-alikes stay this tree's
BTQL_DIR="$(dirname "$(find "$ROOT/src" -name btql_compile.c | head -1)")"
GLUE="$(find "$ROOT/src" -name btql_glue.c | head -1)"
cc -std=gnu11 -Wall -Wextra -Werror -Wno-unused-parameter -Wno-sign-compare -g \
	-fsanitize=address,undefined -fno-sanitize-recover=all \
	-I"$ROOT/src" -I"$HERE" -I"$(pg_config --includedir)" \
	-o "$BUILD/btqlc" "$HERE/btqlc.c" "$HERE/sql_lint.c" "${BTQL_SRC:-$BTQL_DIR}"/*.c "$ROOT/src/core/common/btx_buf.c" \
	-L"$(pg_config --libdir)" -lpq

TMP="$(mktemp -d /tmp/btql-test.XXXXXX)"
chmod 755 "$TMP"
source "$ROOT/test/harness/install.sh"
# standalone: install this tree's build privately (run-all.sh has done so and exported BTX_SO)
if [ -z "${BTX_SO:-}" ]; then
	btx_private_install "$TMP/inst" "$ROOT" || { echo "build failed"; echo "0 passed, 1 failed"; exit 1; }
fi
source "$ROOT/test/harness/pg.sh"
cleanup() { pg_stop || true; rm -rf "$TMP"; }
trap cleanup EXIT
pg_start "$TMP/pg" >"$TMP/pg-start.log" 2>&1 || { cat "$TMP/pg-start.log"; echo "0 passed, 1 failed"; exit 1; }
PSQL=(psql -X -q -v ON_ERROR_STOP=1)
"${PSQL[@]}" -d postgres -c "CREATE DATABASE btql" >/dev/null
"${PSQL[@]}" -d btql -c "CREATE EXTENSION btexport" -f "$HERE/load.sql" -f "$HERE/reference.sql" >/dev/null
# least privilege: the compiled SQL runs as a role that can only read the span store
"${PSQL[@]}" -d btql >/dev/null <<'SQL'
CREATE ROLE btql_reader LOGIN;
GRANT USAGE ON SCHEMA btexport, ref TO btql_reader;
GRANT SELECT ON ALL TABLES IN SCHEMA ref TO btql_reader;
GRANT SELECT ON btexport.logs, btexport.projects TO btql_reader;
GRANT EXECUTE ON FUNCTION btexport.btql_try_jsonb(text) TO btql_reader;
-- row-level security: the reader may read the dataset's projects (docs/security.md "Projects")
SELECT btexport.grant_project(p.id::text, 'btql_reader', 'read') FROM btexport.projects p;
CREATE ROLE btql_hostile LOGIN IN ROLE btql_reader;
ALTER ROLE btql_hostile SET search_path = btql_evil, pg_catalog, public;
SQL
# the look-alikes: every pg_catalog.name and OPERATOR(pg_catalog.op) the compiler and its glue
# write (sql_lint makes sure they write nothing unqualified), planted in btql_evil and public
EMITTERS=("$BTQL_DIR"/*.c "$GLUE")
LITERALS=$(perl -ne 'while (/"((?:[^"\\]|\\.)*)"/g) { print "$1\n" }' "${EMITTERS[@]}")
NAMES=$(echo "$LITERALS" | grep -o 'pg_catalog\.[a-z_][a-z_0-9]*' | sed 's/^pg_catalog\.//' | sort -u)
OPS=$(echo "$LITERALS" | grep -o 'OPERATOR(pg_catalog\.[^)]*)' | sed -E 's/^OPERATOR\(pg_catalog\.(.*)\)$/\1/' | sort -u)
[ -n "$NAMES" ] && [ -n "$OPS" ] || { echo "FAIL no pg_catalog names found in ${EMITTERS[*]}"; echo "0 passed, 1 failed"; exit 1; }
"${PSQL[@]}" -d btql -f "$HERE/plant.sql" >/dev/null
PLANTED=$("${PSQL[@]}" -At -d btql -v names="$NAMES" -v ops="$OPS" <<'SQL'
SELECT format('%s: %s functions, %s aggregates, %s operators, %s types', s, p.functions, p.aggregates,
			  p.operators, p.types)
FROM unnest(ARRAY['btql_evil', 'public']) s,
	 btql_plant.plant_all(s, string_to_array(:'names', E'\n'), string_to_array(:'ops', E'\n'),
						  string_to_array(:'names', E'\n')) p;
SQL
) || { echo "FAIL planting look-alikes"; echo "0 passed, 1 failed"; exit 1; }
echo "look-alikes planted: $(echo $PLANTED | tr '\n' ' ')"
CONN="host=$PGHOST port=$PGPORT dbname=btql user=btql_reader"
HOSTILE="host=$PGHOST port=$PGPORT dbname=btql user=btql_hostile"
SERVER="host=$PGHOST port=$PGPORT dbname=btql user=postgres options='-csearch_path=btql_evil,pg_catalog,public'"
# BTQL_EXEC_DIR=dir: instead of the cases, execute every query file of dir
# (e.g. the fuzzer's corpus) and report SQL that PostgreSQL rejects
if [ -n "${BTQL_EXEC_DIR:-}" ]; then
	find "$BTQL_EXEC_DIR" -type f -print0 | xargs -0 "$BUILD/btqlc" exec "$CONN"
	exit $?
fi
CASES=("$HERE"/cases/*.txt)
if [ "$#" -gt 0 ]; then CASES=("$@"); fi
OUT="$TMP/out"
rc=0
export ASAN_OPTIONS=detect_leaks=1
"$BUILD/btqlc" run --label reader "$CONN" "${CASES[@]}" >"$OUT.1" || rc=1
"$BUILD/btqlc" run --valid-only --label hostile "$HOSTILE" "${CASES[@]}" >"$OUT.2" || rc=1
"$BUILD/btqlc" server --label server "$SERVER" "${CASES[@]}" >"$OUT.3" || rc=1
# the examples of docs/btql.md must be tested cases
"$BUILD/btqlc" docs "$ROOT/docs/btql.md" "$HERE"/cases/*.txt >"$OUT.4" || rc=1
# queries at the limits (limits.py): what compiles must run in PostgreSQL (both modes) and lint clean
n=$(python3 "$HERE/limits.py" "$TMP/limits")
"$BUILD/btqlc" exec "$CONN" "$TMP"/limits/*.btql >"$TMP/limits.out" || rc=1
grep -v 'compiled queries executed' "$TMP/limits.out" || true
done_=$(sed -nE 's/^([0-9]+) compiled queries executed, ([0-9]+) database errors$/\1 \2/p' "$TMP/limits.out")
# every query compiles (in both modes) and runs
if [ -n "$done_" ] && [ "${done_#* }" = 0 ] && [ "${done_% *}" -ge $((2 * n)) ]; then
	echo "ok   limits: ${done_% *} compiled queries at the limits executed" >"$OUT.5"; echo "1 passed, 0 failed" >>"$OUT.5"
else
	echo "FAIL limits: $(tail -1 "$TMP/limits.out") (of $n queries)" >"$OUT.5"; echo "0 passed, 1 failed" >>"$OUT.5"
fi
grep -hv ' passed, .* failed$' "$OUT".[1-5] || true
p=0; f=0
for o in "$OUT".[1-5]; do
	p=$((p + $(tail -1 "$o" | awk '{print $1}'))); f=$((f + $(tail -1 "$o" | awk '{print $3}')))
done
echo "$p passed, $f failed"
[ "$rc" = 0 ] && [ "$f" = 0 ]
