// The DuckDB side of btexport's benchmark (test/bench/run.sh).
//
//   node duckdb_parquet.mjs copy <in.jsonl> <out.parquet> <snappy|zstd|gzip|none>
//       The timed peer: JSON Lines -> one Parquet file with the columns and types btexport
//       writes (strings, JSON, TIMESTAMPTZ, LIST<VARCHAR>, BIGINT).  Prints {"rows": N}.
//   node duckdb_parquet.mjs sizes <workdir> <codec> <rows> <file>...
//       For each btexport Parquet file: check it holds <rows> rows in all (DuckDB reads it),
//       then have DuckDB write the very same rows and values with the same codec and print
//       {"file", "rows", "btexport_bytes", "duckdb_bytes"} (one JSON line per file).
// Codec none is DuckDB's COMPRESSION uncompressed.
// Exits 1 on any error or mismatch.
import { DuckDBInstance } from '@duckdb/node-api';
import { statSync, unlinkSync } from 'node:fs';

const COLUMNS = `{id: 'VARCHAR', span_id: 'VARCHAR', trace_id: 'VARCHAR', parent_span_id: 'VARCHAR',
  project_id: 'VARCHAR', created: 'TIMESTAMPTZ', name: 'VARCHAR', type: 'VARCHAR', input: 'JSON',
  output: 'JSON', expected: 'JSON', error: 'JSON', scores: 'JSON', metadata: 'JSON', tags: 'VARCHAR[]',
  metrics: 'JSON', _xact_id: 'BIGINT'}`;
const q = (s) => `'${s.replaceAll("'", "''")}'`;
const duckCodec = (c) => {
  if (!['snappy', 'zstd', 'gzip', 'none'].includes(c)) throw new Error(`unknown codec ${c}`);
  return c === 'none' ? 'uncompressed' : c;
};

const [mode, ...args] = process.argv.slice(2);
const con = await (await DuckDBInstance.create(':memory:')).connect();
const rows = async (sql) => (await con.runAndReadAll(sql)).getRowObjectsJson();
try {
  if (mode === 'copy') {
    const [input, out, codec] = args;
    await con.run(`COPY (SELECT * FROM read_json(${q(input)}, format = 'newline_delimited', columns = ${COLUMNS}))
                   TO ${q(out)} (FORMAT parquet, COMPRESSION ${duckCodec(codec)})`);
    const [r] = await rows(`SELECT count(*) AS n FROM read_parquet(${q(out)})`);
    console.log(JSON.stringify({ rows: Number(r.n) }));
  } else if (mode === 'sizes') {
    const [dir, codec, expect, ...files] = args;
    const [t] = await rows(`SELECT count(*) AS n FROM read_parquet([${files.map(q).join(', ')}])`);
    if (Number(t.n) !== Number(expect))
      throw new Error(`btexport's ${codec} files hold ${t.n} rows, expected ${expect}`);
    for (const file of files) {
      const tmp = `${dir}/duckdb-rewrite.parquet`;
      await con.run(`COPY (SELECT * FROM read_parquet(${q(file)})) TO ${q(tmp)} (FORMAT parquet, COMPRESSION ${duckCodec(codec)})`);
      const [a] = await rows(`SELECT count(*) AS n FROM read_parquet(${q(file)})`);
      const [b] = await rows(`SELECT count(*) AS n FROM read_parquet(${q(tmp)})`);
      if (a.n !== b.n) throw new Error(`row counts differ for ${file}`);
      console.log(JSON.stringify({ file, rows: Number(a.n), btexport_bytes: statSync(file).size,
                                   duckdb_bytes: statSync(tmp).size }));
      unlinkSync(tmp);
    }
  } else throw new Error(`unknown mode ${mode}`);
} catch (e) { console.error(e.message); process.exit(1); }
