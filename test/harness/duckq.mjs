// usage: node duckq.mjs "SQL" ...   -> prints each statement's rows as JSON lines (exit 1 on error)
// DuckDB (@duckdb/node-api) as an independent reader of btexport's files.
import { DuckDBInstance } from '@duckdb/node-api';
const con = await (await DuckDBInstance.create(':memory:')).connect();
try {
  for (const sql of process.argv.slice(2))
    for (const row of (await con.runAndReadAll(sql)).getRowObjectsJson()) console.log(JSON.stringify(row));
} catch (e) { console.error(e.message); process.exit(1); }
