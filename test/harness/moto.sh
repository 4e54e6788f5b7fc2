#!/usr/bin/env bash
# Start moto (S3 + STS + IAM) with signature checks on, on a free loopback port.
# usage: source test/harness/moto.sh; moto_start <workdir>
#   exports MOTO_PORT MOTO_ENDPOINT MOTO_PID BTX_AKID BTX_SECRET BTX_ROLE_ARN BTX_EXTERNAL_ID
#   and creates the bucket "test-bucket" (plus "other-bucket").
# moto_stop stops it.  Fails loudly when moto or flask is missing.
HARNESS_DIR="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
source "$HARNESS_DIR/python.sh"

free_port() {
	python3 - <<'PY'
import socket
s = socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1]); s.close()
PY
}

moto_start() {
	local dir="$1"
	mkdir -p "$dir"
	"$BTX_MOTO_PYTHON" -c 'import moto, flask' 2>/dev/null || { echo "FATAL: moto 5.2.1 and flask are not importable by $BTX_MOTO_PYTHON (run test/setup.sh)" >&2; return 1; }
	MOTO_PORT=$(free_port)
	"$BTX_MOTO_PYTHON" "$HARNESS_DIR/moto_strict.py" -H 127.0.0.1 -p "$MOTO_PORT" >"$dir/moto.log" 2>&1 &
	MOTO_PID=$!
	local i=0
	until curl -s -o /dev/null "http://127.0.0.1:$MOTO_PORT/moto-api/"; do
		i=$((i + 1)); [ $i -gt 400 ] && { echo "FATAL: moto did not start" >&2; cat "$dir/moto.log" >&2; return 1; }
		kill -0 "$MOTO_PID" 2>/dev/null || { echo "FATAL: moto exited" >&2; cat "$dir/moto.log" >&2; return 1; }
		sleep 0.05
	done
	MOTO_ENDPOINT="http://127.0.0.1:$MOTO_PORT"
	local A="env AWS_DEFAULT_REGION=us-east-1 AWS_EC2_METADATA_DISABLED=true AWS_ACCESS_KEY_ID=boot AWS_SECRET_ACCESS_KEY=boot AWS_CONFIG_FILE=/dev/null AWS_SHARED_CREDENTIALS_FILE=/dev/null /usr/bin/aws --endpoint-url $MOTO_ENDPOINT"
	$A iam create-user --user-name btexport-test >/dev/null
	$A iam create-access-key --user-name btexport-test >"$dir/key.json"
	$A iam put-user-policy --user-name btexport-test --policy-name all --policy-document \
		'{"Version":"2012-10-17","Statement":[{"Effect":"Allow","Action":["s3:*","sts:AssumeRole"],"Resource":"*"}]}'
	BTX_EXTERNAL_ID=btx-ext-123
	$A iam create-role --role-name btexport-writer --assume-role-policy-document \
		"{\"Version\":\"2012-10-17\",\"Statement\":[{\"Effect\":\"Allow\",\"Principal\":{\"AWS\":\"arn:aws:iam::123456789012:user/btexport-test\"},\"Action\":\"sts:AssumeRole\",\"Condition\":{\"StringEquals\":{\"sts:ExternalId\":\"$BTX_EXTERNAL_ID\"}}}]}" >/dev/null
	$A iam put-role-policy --role-name btexport-writer --policy-name s3 --policy-document \
		'{"Version":"2012-10-17","Statement":[{"Effect":"Allow","Action":"s3:*","Resource":"*"}]}'
	$A s3api create-bucket --bucket test-bucket >/dev/null
	$A s3api create-bucket --bucket other-bucket >/dev/null
	curl -s -X POST -H 'Content-Type: text/plain' --data-binary 0 "$MOTO_ENDPOINT/moto-api/reset-auth" >/dev/null
	BTX_AKID=$(python3 -c 'import json,sys;print(json.load(open(sys.argv[1]))["AccessKey"]["AccessKeyId"])' "$dir/key.json")
	BTX_SECRET=$(python3 -c 'import json,sys;print(json.load(open(sys.argv[1]))["AccessKey"]["SecretAccessKey"])' "$dir/key.json")
	BTX_ROLE_ARN="arn:aws:iam::123456789012:role/btexport-writer"
	export MOTO_PORT MOTO_ENDPOINT MOTO_PID BTX_AKID BTX_SECRET BTX_ROLE_ARN BTX_EXTERNAL_ID
}

# aws CLI as the test user (signed requests)
moto_aws() {
	env AWS_DEFAULT_REGION=us-east-1 AWS_EC2_METADATA_DISABLED=true AWS_CONFIG_FILE=/dev/null \
		AWS_SHARED_CREDENTIALS_FILE=/dev/null AWS_ACCESS_KEY_ID="$BTX_AKID" AWS_SECRET_ACCESS_KEY="$BTX_SECRET" \
		/usr/bin/aws --endpoint-url "$MOTO_ENDPOINT" "$@"
}

moto_stop() {
	[ -n "${MOTO_PID:-}" ] && kill "$MOTO_PID" 2>/dev/null && wait "$MOTO_PID" 2>/dev/null
	MOTO_PID=
}
