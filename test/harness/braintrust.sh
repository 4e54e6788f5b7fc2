#!/usr/bin/env bash
# Start the Braintrust API test double (test/harness/braintrust_double.py — a test double: no real
# Braintrust API can run in the tests) on a free loopback port, serving the SDK capture.
# usage: source test/harness/braintrust.sh; btdouble_start <workdir>
#   exports BT_DOUBLE_URL BT_DOUBLE_PID; btdouble_stop stops it.  The double exits by itself when
#   the shell that started it exits.  Tests reset its state through its control API.
BT_HARNESS_DIR="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"

btdouble_start() {
	local dir="$1" events="${BTX_TESTDATA:-$BT_HARNESS_DIR/../data}/sdk-events/events.jsonl" line
	mkdir -p "$dir"
	coproc BTDOUBLE { exec python3 "$BT_HARNESS_DIR/braintrust_double.py" --sdk-events "$events" 2>"$dir/double.log"; }
	BT_DOUBLE_PID=$BTDOUBLE_PID
	read -r -t 30 line <&"${BTDOUBLE[0]}" || { echo "FATAL: the Braintrust API double did not start" >&2; cat "$dir/double.log" >&2; return 1; }
	case "$line" in ready\ *) ;; *) echo "FATAL: the Braintrust API double said: $line" >&2; return 1 ;; esac
	BT_DOUBLE_URL="http://127.0.0.1:${line#ready }"
	export BT_DOUBLE_URL BT_DOUBLE_PID
}

btdouble_stop() {
	[ -n "${BT_DOUBLE_PID:-}" ] && kill "$BT_DOUBLE_PID" 2>/dev/null && wait "$BT_DOUBLE_PID" 2>/dev/null
	BT_DOUBLE_PID=
}
