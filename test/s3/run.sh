#!/usr/bin/env bash
# Integration test of the S3 client core (src/core/s3) against two S3 doubles that
# verify SigV4: moto 5.2.1 (auth on, raw-URI launcher) and @20minutes/s3rver 5.
# usage: bash test/s3/run.sh      (needs python3 with moto+flask, node, and
#                                  `npm install` in test/ for s3rver)
# Prints one line per check and ends with "N passed, N failed".
set -u
HERE="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
ROOT="$(cd "$HERE/../.." && pwd)"
make -s -C "$HERE" build/s3drive >/dev/null || { echo "FATAL: cannot build s3drive"; echo "0 passed, 1 failed"; exit 1; }
D="$HERE/build/s3drive"
WORK=$(mktemp -d /tmp/btx-s3-it.XXXXXX)
PASS=0
FAIL=0
S3RVER_PID=
export ASAN_OPTIONS=detect_leaks=1

# shellcheck source=../harness/moto.sh
source "$ROOT/test/harness/moto.sh"

cleanup() {
	moto_stop
	[ -n "$S3RVER_PID" ] && kill "$S3RVER_PID" 2>/dev/null && wait "$S3RVER_PID" 2>/dev/null
	rm -rf "$WORK"
}
trap cleanup EXIT

ok() { PASS=$((PASS + 1)); echo "ok - $1"; }
bad() { FAIL=$((FAIL + 1)); echo "FAIL - $1"; [ -n "${2:-}" ] && sed 's/^/    /' <<<"$2"; }
# check NAME OUTPUT PATTERN...: every grep -E pattern must match OUTPUT
check() {
	local name="$1" out="$2" p
	shift 2
	for p in "$@"; do
		grep -qE -- "$p" <<<"$out" || { bad "$name (missing /$p/)" "$out"; return; }
	done
	ok "$name"
}
sha() { sha256sum "$1" | cut -d' ' -f1; }

KEY='c/dt=2024-01-01/with space é+.txt'
KEY_RE=$(printf '%s' "$KEY" | sed 's/[.+]/\\&/g')
printf 'hello from btexport\n' >"$WORK/small.txt"
head -c 25000000 /dev/urandom >"$WORK/big.bin"
head -c 12000000 /dev/urandom >"$WORK/mid.bin"

# ------------------------------------------------------------------ moto
if ! moto_start "$WORK/moto"; then
	bad "moto started (python3 with moto 5.2.1 and flask is required)"
else
	ok "moto started with signature checks ($MOTO_ENDPOINT)"
	export S3_ENDPOINT="$MOTO_ENDPOINT" AWS_ACCESS_KEY_ID="$BTX_AKID" AWS_SECRET_ACCESS_KEY="$BTX_SECRET"
	unset AWS_SESSION_TOKEN

	out=$("$D" --content-type text/plain put test-bucket "$KEY" "$WORK/small.txt" 2>&1)
	check "moto put key with space, =, +, UTF-8" "$out" '^ok etag="[0-9a-f]{32}"'
	out=$("$D" head test-bucket "$KEY" 2>&1)
	check "moto head of that key" "$out" '^ok size=20 etag="'
	moto_aws s3 cp "s3://test-bucket/$KEY" "$WORK/back.txt" >/dev/null 2>&1
	if cmp -s "$WORK/small.txt" "$WORK/back.txt"; then ok "moto read back with the AWS CLI: identical"; else bad "moto read back with the AWS CLI: identical"; fi
	"$D" put test-bucket "c/dt=2024-01-01/a+b=c.txt" "$WORK/small.txt" >/dev/null 2>&1
	"$D" put test-bucket "c/dt=2024-01-02/x.txt" "$WORK/small.txt" >/dev/null 2>&1
	out=$("$D" list test-bucket "c/dt=2024-01-01/" 2>&1)
	check "moto list with prefix c/dt=2024-01-01/" "$out" '^ok keys=2 pages=1' "^key 20 $KEY_RE\$" '^key 20 c/dt=2024-01-01/a\+b=c.txt$'
	out=$("$D" --page-size 1 list test-bucket "c/" 2>&1)
	check "moto list paginates with continuation tokens" "$out" '^ok keys=3 pages=3'
	out=$("$D" delete test-bucket "$KEY" 2>&1)
	check "moto delete" "$out" '^ok status=204'
	out=$("$D" head test-bucket "$KEY" 2>&1)
	check "moto head after delete: not found" "$out" 'class=permanent' 'code=NotFound status=404'

	out=$("$D" upload test-bucket "exports/dt=2024-01-01/part 0.bin" "$WORK/big.bin" 2>&1)
	check "moto 25 MB streaming multipart upload (16 MiB parts)" "$out" '^ok etag="[0-9a-f]{32}-2" bytes=25000000 parts=2' "sha256=$(sha "$WORK/big.bin")"
	moto_aws s3 cp "s3://test-bucket/exports/dt=2024-01-01/part 0.bin" "$WORK/big.back" >/dev/null 2>&1
	if [ -f "$WORK/big.back" ] && [ "$(sha "$WORK/big.back")" = "$(sha "$WORK/big.bin")" ]; then
		ok "moto multipart object read back: bytes and sha256 match"
	else bad "moto multipart object read back: bytes and sha256 match"; fi
	rm -f "$WORK/big.back"

	out=$(AWS_SECRET_ACCESS_KEY="wrong/secret+x" "$D" put test-bucket k1 "$WORK/small.txt" 2>&1)
	check "moto wrong secret: SignatureDoesNotMatch with hint" "$out" 'class=permanent sqlstate=38000 code=SignatureDoesNotMatch status=403 attempts=1' '^hint: Check the secret access key'
	if grep -q 'wrong/secret' <<<"$out"; then bad "secret never printed" "$out"; else ok "secret never printed"; fi
	out=$(AWS_ACCESS_KEY_ID="AKIANOSUCHKEY0000000" "$D" put test-bucket k1 "$WORK/small.txt" 2>&1)
	check "moto unknown key id: InvalidAccessKeyId with hint" "$out" 'code=InvalidAccessKeyId' '^hint: Check the access key id'
	out=$("$D" put no-such-bucket k1 "$WORK/small.txt" 2>&1)
	check "moto missing bucket: NoSuchBucket with hint" "$out" 'code=NoSuchBucket status=404' '^message: could not put object "s3://no-such-bucket/k1"' '^hint: The bucket "no-such-bucket" does not exist'

	"$D" put test-bucket once.txt "$WORK/small.txt" >/dev/null 2>&1
	out=$("$D" --if-none-match put test-bucket once.txt "$WORK/small.txt" 2>&1)
	check "moto If-None-Match PUT on an existing key: precondition failed" "$out" 'class=precondition-failed' 'status=412' 'already exists'
	out=$("$D" --if-none-match put test-bucket fresh.txt "$WORK/small.txt" 2>&1)
	check "moto If-None-Match PUT on a new key succeeds" "$out" '^ok etag='
	"$D" --part-size 5242880 upload test-bucket once-mp.bin "$WORK/mid.bin" >/dev/null 2>&1
	out=$("$D" --if-none-match --part-size 5242880 upload test-bucket once-mp.bin "$WORK/mid.bin" 2>&1)
	check "moto If-None-Match on multipart complete: precondition failed" "$out" 'class=precondition-failed' 'PreconditionFailed \(HTTP 412\)'
	out=$("$D" list-uploads test-bucket 2>&1)
	check "moto failed multipart upload was aborted (none listed)" "$out" '^ok uploads=0'

	out=$("$D" assume-role "$BTX_ROLE_ARN" "$BTX_EXTERNAL_ID" 2>&1)
	check "moto AssumeRole with the right external id" "$out" '^ok akid_prefix=ASIA token=yes expires_in=(89[0-9]|900)'
	out=$("$D" assume-role "$BTX_ROLE_ARN" "wrong-external-id" 2>&1)
	check "moto AssumeRole with a wrong external id: AccessDenied, hint names trust policy and ExternalId" "$out" \
		'^message: could not assume role "arn:aws:iam::123456789012:role/btexport-writer": AccessDenied \(HTTP 403\)' \
		'^hint: The trust policy of role arn:aws:iam::123456789012:role/btexport-writer .*ExternalId'
	out=$(AWS_SECRET_ACCESS_KEY="wrong" "$D" assume-role "$BTX_ROLE_ARN" "$BTX_EXTERNAL_ID" 2>&1)
	check "moto AssumeRole with a wrong secret: SignatureDoesNotMatch" "$out" 'SignatureDoesNotMatch'
	out=$("$D" --assume "$BTX_ROLE_ARN" "$BTX_EXTERNAL_ID" put test-bucket "assumed/obj.txt" "$WORK/small.txt" 2>&1)
	check "moto PutObject with assumed-role credentials (session token signed)" "$out" '^ok etag='
	out=$("$D" --assume "$BTX_ROLE_ARN" "$BTX_EXTERNAL_ID" --part-size 5242880 upload test-bucket "assumed/mp.bin" "$WORK/mid.bin" 2>&1)
	check "moto multipart with assumed-role credentials" "$out" '^ok etag=".*-3" bytes=12000000 parts=3'

	out=$("$D" --sse AES256 put test-bucket sse.txt "$WORK/small.txt" 2>&1)
	check "moto SSE AES256 echoed on PutObject" "$out" '^ok .*sse=AES256'
	out=$("$D" head test-bucket sse.txt 2>&1)
	check "moto SSE AES256 echoed on HeadObject" "$out" 'sse=AES256'
	out=$("$D" --sse AES256 --part-size 5242880 upload test-bucket sse-mp.bin "$WORK/mid.bin" 2>&1)
	out2=$("$D" head test-bucket sse-mp.bin 2>&1)
	check "moto SSE AES256 on a multipart upload" "$out
$out2" '^ok etag=.*parts=3' 'sse=AES256'

	out=$("$D" --part-size 5242880 upload-abort test-bucket "aborted/x.bin" "$WORK/mid.bin" 2>&1)
	check "moto upload then abort" "$out" '^ok aborted upload_id=[^(]'
	out=$("$D" list-uploads test-bucket 2>&1)
	cli=$(moto_aws s3api list-multipart-uploads --bucket test-bucket --output json 2>&1)
	if grep -q '^ok uploads=0' <<<"$out" && ! grep -q 'UploadId' <<<"$cli"; then
		ok "moto abort leaves ListMultipartUploads empty (client and AWS CLI)"
	else bad "moto abort leaves ListMultipartUploads empty (client and AWS CLI)" "$out
$cli"; fi
	out=$("$D" head test-bucket "aborted/x.bin" 2>&1)
	check "moto aborted object is not visible" "$out" 'status=404'
	moto_stop
fi

# ------------------------------------------------------------------ network
DEAD=$(free_port)
t0=$(date +%s%N)
out=$(S3_ENDPOINT="http://127.0.0.1:$DEAD" AWS_ACCESS_KEY_ID=AKIDX AWS_SECRET_ACCESS_KEY=secretx \
	"$D" --retries 3 put test-bucket k "$WORK/small.txt" 2>&1)
ms=$((($(date +%s%N) - t0) / 1000000))
check "connection refused: transient network error, 08006, hint" "$out" 'class=transient sqlstate=08006' 'attempts=3' \
	'^message: could not put object "s3://test-bucket/k": connection failed' '^hint: Check the endpoint'
if [ "$ms" -lt 3000 ]; then ok "connection refused fails quickly (${ms} ms with 3 attempts)"; else bad "connection refused fails quickly (${ms} ms)"; fi
out=$(S3_ENDPOINT="https://no-such-host.invalid" AWS_ACCESS_KEY_ID=AKIDX AWS_SECRET_ACCESS_KEY=secretx \
	"$D" --retries 1 put test-bucket k "$WORK/small.txt" 2>&1)
check "DNS failure: transient, hint" "$out" 'class=transient sqlstate=08006' 'could not resolve host' '^hint: Check the endpoint host name'

# ------------------------------------------------------------------ s3rver 5
if [ ! -d "$ROOT/test/node_modules/@20minutes/s3rver" ]; then
	bad "s3rver 5 installed (run: (cd test && npm install))"
else
	SPORT=$(free_port)
	S3_KEYS='AKIDTEST:se/cr+et=1' node "$ROOT/test/harness/start-s3rver5.js" "$WORK/s3rver" "$SPORT" test-bucket \
		>"$WORK/s3rver.log" 2>&1 &
	S3RVER_PID=$!
	i=0
	until grep -q 'listening' "$WORK/s3rver.log" 2>/dev/null; do
		i=$((i + 1)); [ $i -gt 200 ] && break
		kill -0 "$S3RVER_PID" 2>/dev/null || break
		sleep 0.05
	done
	if ! grep -q 'listening' "$WORK/s3rver.log"; then
		bad "s3rver 5 started" "$(cat "$WORK/s3rver.log")"
	else
		ok "s3rver 5 started (127.0.0.1:$SPORT)"
		export S3_ENDPOINT="http://127.0.0.1:$SPORT" AWS_ACCESS_KEY_ID=AKIDTEST AWS_SECRET_ACCESS_KEY='se/cr+et=1'
		S3AWS() { env AWS_DEFAULT_REGION=us-east-1 AWS_EC2_METADATA_DISABLED=true AWS_CONFIG_FILE=/dev/null \
			AWS_SHARED_CREDENTIALS_FILE=/dev/null /usr/bin/aws --endpoint-url "$S3_ENDPOINT" "$@"; }
		out=$("$D" put test-bucket "$KEY" "$WORK/small.txt" 2>&1)
		check "s3rver put key with space, =, +, UTF-8" "$out" '^ok etag='
		out=$("$D" head test-bucket "$KEY" 2>&1)
		check "s3rver head" "$out" '^ok size=20'
		S3AWS s3 cp "s3://test-bucket/$KEY" "$WORK/back2.txt" >/dev/null 2>&1
		if cmp -s "$WORK/small.txt" "$WORK/back2.txt"; then ok "s3rver read back with the AWS CLI: identical"; else bad "s3rver read back with the AWS CLI: identical"; fi
		out=$("$D" list test-bucket "c/dt=2024-01-01/" 2>&1)
		check "s3rver list with prefix" "$out" '^ok keys=1' "^key 20 $KEY_RE\$"
		out=$("$D" upload test-bucket "exports/part 0.bin" "$WORK/big.bin" 2>&1)
		check "s3rver 25 MB streaming multipart upload" "$out" '^ok .*bytes=25000000 parts=2' "sha256=$(sha "$WORK/big.bin")"
		S3AWS s3 cp "s3://test-bucket/exports/part 0.bin" "$WORK/big.back2" >/dev/null 2>&1
		if [ -f "$WORK/big.back2" ] && [ "$(sha "$WORK/big.back2")" = "$(sha "$WORK/big.bin")" ]; then
			ok "s3rver multipart object read back: sha256 matches"
		else bad "s3rver multipart object read back: sha256 matches"; fi
		out=$(AWS_SECRET_ACCESS_KEY='wrong' "$D" put test-bucket k "$WORK/small.txt" 2>&1)
		check "s3rver wrong secret: SignatureDoesNotMatch" "$out" 'code=SignatureDoesNotMatch' '^hint: Check the secret access key'
		out=$(AWS_SECRET_ACCESS_KEY='wrong' "$D" list test-bucket "c/" 2>&1)
		check "s3rver wrong secret on list: SignatureDoesNotMatch" "$out" 'code=SignatureDoesNotMatch'
		out=$("$D" delete test-bucket "$KEY" 2>&1)
		check "s3rver delete" "$out" '^ok status=204'
	fi
fi

echo "$PASS passed, $FAIL failed"
[ "$FAIL" -eq 0 ]
