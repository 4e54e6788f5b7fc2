#!/usr/bin/env bash
# btexport demo: a local PostgreSQL 15 cluster + a local S3 (moto, signature checks on),
# sample LLM traces, an automation tested and run, the objects in S3 and the run history.
#   bash test/demo.sh          (KEEP=1 leaves the cluster and S3 running afterwards)
set -euo pipefail
ROOT="$(cd "$(dirname "$0")/.." && pwd)"
cd "$ROOT"
# the test suite (test/readme) runs this demo after its own setup: BTX_SKIP_SETUP=1 skips it here
[ "${BTX_SKIP_SETUP:-0}" = 1 ] || bash test/setup.sh
source test/harness/pg.sh
source test/harness/moto.sh
DEMO=$(mktemp -d /tmp/btexport-demo.XXXXXX); chmod 755 "$DEMO"
pg_start "$DEMO/pg" >/dev/null
moto_start "$DEMO/moto" >/dev/null
if [ "${KEEP:-0}" != 1 ]; then trap 'moto_stop; pg_stop; rm -rf "$DEMO"' EXIT; fi
moto_aws s3api create-bucket --bucket your-bucket-name >/dev/null

step() { printf '\n\033[1m== %s\033[0m\n' "$*"; }
sql() { echo "postgres=# $1"; psql -X -v ON_ERROR_STOP=1 -P pager=off -c "$1"; }

step "Install the extension and write sample traces (root, llm, tool and score spans)"
sql "CREATE EXTENSION pg_cron"
sql "CREATE EXTENSION btexport"
sql "SELECT btexport.generate_sample_data('support-bot', traces => 200)"
sql "SELECT span_attributes->>'type' AS type, count(*) FROM btexport.logs GROUP BY 1 ORDER BY 2 DESC"

step "Store the S3 keys as a named credential (the secret can never be read back)"
echo "postgres=# SELECT btexport.create_credential('local-s3', '<access key id>', '<secret>')"
psql -X -q -v ON_ERROR_STOP=1 -c "SELECT btexport.create_credential('local-s3', '$BTX_AKID', '$BTX_SECRET')" >/dev/null
sql "SELECT * FROM btexport.credentials_info"

step "Test the configuration before saving it"
sql "SELECT * FROM btexport.test(name => 'Daily Data Export to S3', project => 'support-bot',
       s3_path => 's3://your-bucket-name/braintrust-exports/', export_type => 'logs_spans',
       endpoint => '$MOTO_ENDPOINT', credential => 'local-s3')"

step "Create the automation (daily) and run it now"
sql "SELECT id, name, export_type, format, s3_path, \"interval\", schedule
       FROM btexport.create_automation(name => 'Daily Data Export to S3', project => 'support-bot',
       s3_path => 's3://your-bucket-name/braintrust-exports/', export_type => 'logs_spans',
       format => 'jsonl', \"interval\" => 'daily', endpoint => '$MOTO_ENDPOINT', credential => 'local-s3')"
sql "SELECT jobname, schedule, command FROM cron.job"
sql "SELECT id, status, rows, bytes, files, started_at, finished_at FROM btexport.run('Daily Data Export to S3')"

step "A trace-level export too, as Parquet (trace_idle 0: export traces without waiting for them to go quiet)"
sql "SELECT id, name, export_type, format FROM btexport.create_automation(name => 'Traces for dashboards',
       project => 'support-bot', s3_path => 's3://your-bucket-name/traces/', export_type => 'logs_traces',
       format => 'parquet', trace_idle => '0 seconds', endpoint => '$MOTO_ENDPOINT', credential => 'local-s3')"
sql "SELECT id, status, rows, bytes, files FROM btexport.run('Traces for dashboards')"

step "New spans arrive; the next run exports only those"
sql "SELECT btexport.generate_sample_data('support-bot', traces => 3, first_trace => 1000)"
sql "SELECT id, status, rows, files FROM btexport.run('Daily Data Export to S3')"
sql "SELECT id, status, rows, files FROM btexport.run('Daily Data Export to S3')"

step "The objects in S3 (read with the AWS CLI)"
echo "\$ aws s3 ls --recursive s3://your-bucket-name/"
moto_aws s3 ls --recursive s3://your-bucket-name/
KEY=$(moto_aws s3 ls --recursive s3://your-bucket-name/braintrust-exports/ | awk 'NR==1{print $4}')
echo "\$ aws s3 cp s3://your-bucket-name/$KEY first.jsonl; head -c 600 first.jsonl"
moto_aws s3 cp "s3://your-bucket-name/$KEY" "$DEMO/first.jsonl" --only-show-errors
head -c 600 "$DEMO/first.jsonl"; echo " ..."
MKEY=$(moto_aws s3 ls --recursive s3://your-bucket-name/braintrust-exports.manifests/ | awk 'NR==1{print $4}')
echo "\$ aws s3 cp s3://your-bucket-name/$MKEY manifest.json   # the run's manifest"
moto_aws s3 cp "s3://your-bucket-name/$MKEY" "$DEMO/manifest.json" --only-show-errors
cat "$DEMO/manifest.json"
PKEY=$(moto_aws s3 ls --recursive s3://your-bucket-name/traces/ | awk 'NR==1{print $4}')
moto_aws s3 cp "s3://your-bucket-name/$PKEY" "$DEMO/traces.parquet" --only-show-errors
echo "\$ duckdb: SELECT id, span_count, metrics->>'total_tokens', scores FROM 'traces.parquet' LIMIT 3"
(cd test && node harness/duckq.mjs "SELECT id, span_count, metrics->>'total_tokens' AS total_tokens, scores::VARCHAR AS scores FROM read_parquet('$DEMO/traces.parquet') LIMIT 3")

step "Run history: did last night's export run, how many rows, which files"
sql "SELECT r.id, a.name, r.trigger, r.status, r.rows, r.bytes, r.files, r.error_message
       FROM btexport.runs r JOIN btexport.automations a ON a.id = r.automation_id ORDER BY r.id"
sql "SELECT run_id, key, rows, bytes, etag FROM btexport.run_files ORDER BY run_id, seq"
sql "SELECT name, status, last_run_status, last_run_rows, last_success, consecutive_failures FROM btexport.status"
[ "${KEEP:-0}" = 1 ] && echo "cluster: PGHOST=$PGHOST PGPORT=$PGPORT; S3: $MOTO_ENDPOINT (left running)"
echo; echo "demo finished"
