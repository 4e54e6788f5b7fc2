// Compare btexport's Parquet sizes with DuckDB's own writer for the same rows.
// usage: node sizecmp.mjs <dir written by `bench ROWS DIR`>
// DuckDB reads spans.jsonl and writes spans.duckdb.<codec>.parquet with its
// defaults; prints both sizes and the ratio (the bar is <= 1.25x).
import { statSync } from 'node:fs';
import { DuckDBInstance } from '@duckdb/node-api';

const dir = process.argv[2];
const con = await (await DuckDBInstance.create(':memory:')).connect();
await con.run(`CREATE TABLE spans AS SELECT id, root_span_id, name, span_type, input::JSON AS input, output::JSON AS output,
  metadata::JSON AS metadata, make_timestamp(created)::TIMESTAMPTZ AS created, prompt_tokens, duration, is_root, tags, xact_id
  FROM read_json('${dir}/spans.jsonl', format='newline_delimited', columns={id:'VARCHAR', root_span_id:'VARCHAR', name:'VARCHAR',
  span_type:'VARCHAR', input:'VARCHAR', output:'VARCHAR', metadata:'VARCHAR', created:'BIGINT', prompt_tokens:'BIGINT',
  duration:'DOUBLE', is_root:'BOOLEAN', tags:'VARCHAR[]', xact_id:'BIGINT'})`);
let worst = 0;
for (const codec of ['snappy', 'zstd', 'gzip', 'uncompressed']) {
  const ours = `${dir}/spans.${codec === 'uncompressed' ? 'none' : codec}.parquet`;
  const theirs = `${dir}/spans.duckdb.${codec}.parquet`;
  await con.run(`COPY spans TO '${theirs}' (FORMAT parquet, COMPRESSION ${codec})`);
  // same content?
  const diff = (await con.runAndReadAll(`SELECT count(*)::INTEGER AS n FROM (SELECT * FROM read_parquet('${ours}') EXCEPT ALL SELECT * FROM read_parquet('${theirs}'))`)).getRowObjectsJS()[0].n;
  const a = statSync(ours).size, b = statSync(theirs).size;
  worst = Math.max(worst, a / b);
  console.log(`${codec.padEnd(12)} btexport ${(a / 1e6).toFixed(1).padStart(7)} MB   duckdb ${(b / 1e6).toFixed(1).padStart(7)} MB   ratio ${(a / b).toFixed(3)}   rows differing ${diff}`);
}
console.log(`worst ratio ${worst.toFixed(3)}`);
