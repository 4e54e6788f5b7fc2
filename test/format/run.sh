#!/usr/bin/env bash
# Edge-case matrix for the Parquet writer: every case of gen.mjs x every
# codec is written by pqgen (built with ASan/UBSan) and read back by DuckDB,
# arrow-rs (parquet-wasm) and hyparquet via readers.mjs.
# Prints one line per case and "N passed, M failed"; exits 1 on any failure.
# Needs: `cd test && npm install` (fails loudly if the readers are missing).
set -u
HERE=$(cd "$(dirname "$0")" && pwd)
BUILD=$HERE/build
CASES=$BUILD/cases
OUT=$BUILD/out
CODECS=${CODECS:-"none snappy gzip zstd"}

if [ ! -d "$HERE/../node_modules/@duckdb/node-api" ] || [ ! -d "$HERE/../node_modules/hyparquet-compressors" ] \
   || [ ! -d "$HERE/../node_modules/parquet-wasm" ]; then
	echo "FAIL readers missing: run 'cd test && npm install'" >&2
	echo "0 passed, 1 failed"
	exit 1
fi
make -s -C "$HERE" build/pqgen OPT="-O1 -g -fsanitize=address,undefined -fno-sanitize-recover=all" >/dev/null || {
	echo "FAIL build pqgen"; echo "0 passed, 1 failed"; exit 1; }
rm -rf "$OUT"; mkdir -p "$OUT"
node "$HERE/gen.mjs" "$CASES" > "$BUILD/cases.tsv" || { echo "FAIL gen.mjs"; echo "0 passed, 1 failed"; exit 1; }

pass=0; fail=0
while IFS=$'\t' read -r name pqopts ropts; do
	[ -n "$name" ] || continue
	for codec in $CODECS; do
		f=$OUT/$name.$codec.parquet
		extra=""
		[ "$codec" = zstd ] && [ "$name" = basic ] && extra="--level 9"
		# shellcheck disable=SC2086
		if ! gen=$("$BUILD/pqgen" --codec "$codec" $extra $pqopts "$CASES/$name.json" "$f" 2>&1); then
			echo "FAIL $name [$codec] pqgen: $gen"
			fail=$((fail+1)); continue
		fi
		# shellcheck disable=SC2086
		res=$(node "$HERE/readers.mjs" "$f" "$CASES/$name.json" --codec "$codec" $ropts 2>&1); rc=$?
		note=""
		# node 20 occasionally dies inside V8 ("Fatal error ... unreachable code",
		# Deoptimizer) before any check result: rerun once and say so
		if [ $rc -ne 0 ] && grep -q "^# Fatal error in" <<<"$res"; then
			# shellcheck disable=SC2086
			res=$(node "$HERE/readers.mjs" "$f" "$CASES/$name.json" --codec "$codec" $ropts 2>&1); rc=$?
			note=" [reader rerun after a V8 crash]"
		fi
		if [ $rc -eq 0 ]; then
			echo "PASS $name [$codec] ($gen)$note"
			pass=$((pass+1))
		else
			echo "FAIL $name [$codec] ($gen)"
			echo "$res"
			fail=$((fail+1))
		fi
	done
done < "$BUILD/cases.tsv"
echo "$pass passed, $fail failed"
[ "$fail" -eq 0 ]
