#!/usr/bin/env bash
# Iceberg component suite: src/core/iceberg writes a table into a local folder
# (driver.c, ASan/UBSan) over several commits -- appends, updates as equality
# deletes + new rows, a compaction, an expiry, a race of two writers -- and
# after every commit independent readers judge it:
#   check_table.py (python3-avro) validates the Iceberg v2 spec's required
#     fields of metadata, manifest lists, manifests and data-file entries;
#   read.mjs: icebird (npm) must return exactly the expected rows (one per
#     id, values equal), served over a local HTTP server with fetch wrapped so
#     that no request leaves the machine; DuckDB reads every live file and
#     checks counts, field ids and bounds against the manifests.
# Negative controls: an update whose delete is committed after its rows
# (icebird must see a different table), data files with swapped field ids
# (checker, DuckDB and icebird must object), and six mutations of a valid
# table that the checker must reject for the named reason.  The reference
# tables of Java Iceberg, Spark and Athena (test/data/iceberg) must pass.
# Prints one line per test and "N passed, M failed"; exits 1 on a failure.
set -u
HERE=$(cd "$(dirname "$0")" && pwd)
ROOT=$(cd "$HERE/../.." && pwd)
DATA=${BTX_TESTDATA:-$ROOT/test/data}
PY=/usr/bin/python3
"$PY" -c 'import avro' 2>/dev/null || PY=python3
pass=0; fail=0
ok() { echo "PASS $1"; pass=$((pass + 1)); }
ko() { echo "FAIL $1"; [ -n "${2:-}" ] && echo "$2" | head -20 | sed 's/^/     /'; fail=$((fail + 1)); }

if ! "$PY" -c 'import avro' 2>/dev/null; then
	echo "FAIL python3-avro missing: apt-get install python3-avro"; echo "0 passed, 1 failed"; exit 1
fi
if [ ! -d "$ROOT/test/node_modules/icebird" ] || [ ! -d "$ROOT/test/node_modules/@duckdb/node-api" ]; then
	echo "FAIL readers missing: run 'cd test && npm install'"; echo "0 passed, 1 failed"; exit 1
fi
make -s -C "$HERE" build/driver >/dev/null || { echo "FAIL build driver"; echo "0 passed, 1 failed"; exit 1; }
WORK=$(mktemp -d /tmp/btx-iceberg.XXXXXX)
trap 'rm -rf "$WORK"' EXIT
DRIVER=$HERE/build/driver

# run a test: name, then the command; its output is shown on failure
t() {
	local name=$1 out; shift
	if out=$("$@" 2>&1); then ok "$name"; else ko "$name" "$out"; fi
}
# the checker and both readers on table $1
judge() {
	local table=$1 what=$2
	t "$what: check_table.py" "$PY" "$HERE/check_table.py" "$WORK/$table" --ours --root "$WORK" \
		--dump "$WORK/$table.entries.json"
	t "$what: icebird rows and DuckDB files" node "$HERE/read.mjs" "$WORK" "$table" \
		"$WORK/$table.expected.json" "$WORK/$table.entries.json"
}

# 1. the reference tables written by Java Iceberg, Spark and Athena
for ref in java/bunnies spark/bunnies spark/rename_column athena/example; do
	t "checker accepts the reference table $ref" "$PY" "$HERE/check_table.py" "$DATA/iceberg/$ref"
done

# 2. the story, judged after every commit
names=(x "create + append 40 spans over 3 days" "append 30, update 10 (equality deletes)" \
	"update 6 (3 updated twice), append 10" "compaction (replace at the base sequence number)" \
	"update 4 after the compaction" "expire all but 2 snapshots, delete their files" \
	"append 10, update 3")
for step in 1 2 3 4 5 6 7; do
	t "step $step: ${names[$step]}" "$DRIVER" "$WORK" spans step "$step"
	judge spans "step $step"
done
# a crash between data files and commit leaves only unreferenced files: readers see the last commit
mkdir -p "$WORK/spans/data/created_day=2023-12-09"
cp "$WORK/spans/data/created_day=2023-12-09/"run7-0-data.parquet "$WORK/spans/data/created_day=2023-12-09/crashed-run.parquet"
judge spans "after an uncommitted data file"

# 3. two writers commit the same version: exactly one wins, the other retries
t "race: exactly one writer wins v9, the other commits v10" "$DRIVER" "$WORK" spans race
judge spans "race"

# 4. negative controls: the readers must notice
t "neg-seq: delete committed after its new rows" "$DRIVER" "$WORK" negseq neg-seq
t "neg-seq: still a valid table for the checker" "$PY" "$HERE/check_table.py" "$WORK/negseq" --ours
t "neg-seq: icebird sees the updated spans deleted" node "$HERE/read.mjs" "$WORK" negseq \
	"$WORK/negseq.expected.json" "" --expect-mismatch
t "neg-ids: data files with swapped field ids" "$DRIVER" "$WORK" negids neg-ids
t "neg-ids: icebird reads the wrong values" node "$HERE/read.mjs" "$WORK" negids \
	"$WORK/negids.expected.json" "" --expect-mismatch
"$PY" "$HERE/check_table.py" "$WORK/negids" --ours --root "$WORK" --dump "$WORK/negids.entries.json" >/dev/null 2>&1
out=$(node "$HERE/read.mjs" "$WORK" negids "$WORK/negids.expected.json" "$WORK/negids.entries.json" 2>&1)
if grep -q "has field id 10, the table says 9" <<<"$out"; then ok "neg-ids: DuckDB finds the field ids differ from the table's"
else ko "neg-ids: DuckDB finds the field ids differ from the table's" "$out"; fi

# 5. the checker rejects a broken copy of the table, for the right reason
for m in seq eqids existing bound count ids; do
	reason=$("$PY" "$HERE/mutate.py" "$WORK/spans" "$WORK/mut-$m" "$m" 2>&1) || { ko "mutation $m" "$reason"; continue; }
	out=$("$PY" "$HERE/check_table.py" "$WORK/mut-$m" --ours 2>&1)
	if [ $? -ne 0 ] && grep -qF -- "$reason" <<<"$out"; then ok "checker rejects mutation $m ($reason)"
	else ko "checker rejects mutation $m ($reason)" "$out"; fi
done

echo "$pass passed, $fail failed"
[ "$fail" -eq 0 ]
