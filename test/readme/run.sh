#!/usr/bin/env bash
# The README's two commands, as written (issue 16: "a fresh Debian 12 machine runs the README's two
# commands as written").  CI runs this suite on a fresh machine through .ci/run, so there:
#   - the README's "Quick start" block holds exactly two commands, and the second (all tests) is the
#     command .ci/run runs;
#   - the first (the demo) is run here, word for word, and its output is checked: every step ran,
#     btexport.test passed, every run succeeded with rows, the objects are in S3, DuckDB read the
#     trace Parquet file, the run history lists the runs.
# run-all.sh has run test/setup.sh already (BTX_SKIP_SETUP=1 keeps the demo from repeating it) and
# exports PG_BIN: the demo's cluster loads this tree's private build.
set -uo pipefail
ROOT="$(cd "$(dirname "$0")/../.." && pwd)"
cd "$ROOT"
PASS=0
FAIL=0
ok() { if [ "$1" = 0 ]; then PASS=$((PASS + 1)); echo "ok - $2"; else FAIL=$((FAIL + 1)); echo "not ok - $2"; fi; }

# the README's quick-start block: the lines that are commands
CMDS=$(awk '/^## Quick start/{q=1} q&&/^```bash/{b=1;next} q&&b&&/^```/{exit} q&&b&&!/^#/&&NF' README.md)
N=$(printf '%s\n' "$CMDS" | grep -c .)
DEMO_CMD=$(printf '%s\n' "$CMDS" | sed -n 1p)
TEST_CMD=$(printf '%s\n' "$CMDS" | sed -n 2p)
[ "$N" = 2 ]; ok $? "the README's quick start holds two commands ($(echo $CMDS | tr '\n' ';'))"
grep -qxF "$TEST_CMD" .ci/run; ok $? "the second ('$TEST_CMD') is what .ci/run runs"
[ "$DEMO_CMD" = "bash test/demo.sh" ]; ok $? "the first is the demo ('$DEMO_CMD')"

OUT=$(mktemp)
trap 'rm -f "$OUT"' EXIT
BTX_SKIP_SETUP=1 bash -c "$DEMO_CMD" >"$OUT" 2>&1
rc=$?
ok $rc "the demo command exits 0"
tail -1 "$OUT" | grep -qx "demo finished"; ok $? "the demo ran to its end"
[ "$(grep -c '== ' "$OUT")" -ge 7 ]; ok $? "every step printed its heading ($(grep -c '== ' "$OUT"))"
! grep -qE '^(ERROR|FATAL|PANIC):' "$OUT"; ok $? "no error, fatal or panic in the output"
# btexport.test: one line per step, none failed
# btexport.test: "step | ok | detail | hint", every step ok = t
TSTEPS=$(sed -n '/Test the configuration/,/rows)/p' "$OUT" | grep -E '^ [a-z_ ]+ \| [tf] +\|')
[ "$(printf '%s\n' "$TSTEPS" | grep -c '| t ')" -ge 5 ] && ! printf '%s\n' "$TSTEPS" | grep -q '| f '
ok $? "btexport.test passed every step ($(printf '%s\n' "$TSTEPS" | awk '{print $1}' | tr '\n' ' '))"
# the runs: btexport.run(...) rows "id | succeeded | rows | ..."
SUCC=$(grep -cE '^ *[0-9]+ \| succeeded \| +[1-9][0-9]* ' "$OUT")
[ "$SUCC" -ge 3 ]; ok $? "the runs succeeded with rows ($SUCC run lines with rows > 0)"
grep -qE '^ *[0-9]+ \| succeeded \| +0 ' "$OUT"; ok $? "the repeated run exported nothing new (0 rows)"
grep -qE 'braintrust-exports/.*\.jsonl' "$OUT" && grep -qE 'traces/.*\.parquet' "$OUT"; ok $? "the JSON Lines and Parquet objects are listed in S3"
grep -q '"manifest_version"' "$OUT"; ok $? "the run's manifest was read back"
grep -q '^{"id":' "$OUT"; ok $? "the first exported line is a JSON object"
grep -qE 'span_count|total_tokens' "$OUT" && [ "$(grep -cE '│|\|' "$OUT")" -gt 0 ]; ok $? "DuckDB read the trace Parquet file"
grep -q "Daily Data Export to S3 | scheduled\|Daily Data Export to S3 | manual" "$OUT"; ok $? "the run history names the automation and the trigger"
if [ "$FAIL" != 0 ]; then echo "--- demo output (last 60 lines)"; tail -60 "$OUT"; fi
echo "$PASS passed, $FAIL failed"
[ "$FAIL" = 0 ]
