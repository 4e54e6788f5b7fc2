// Independent readers of an Iceberg table written by test/iceberg/driver.c.
//   node read.mjs <root> <table> <expected.json> <entries.json> [--expect-mismatch]
// <root> stands for s3://btx-ice-test/ and is served over a local HTTP server
// (with Range requests).  globalThis.fetch is wrapped: icebird's
// https://btx-ice-test.s3.amazonaws.com/... URLs go to that server, and any
// other request that would leave the machine fails the run.
//  1. icebird (npm) reads the table through version-hint.text and must return
//     exactly the expected rows: one per id, every value equal.
//  2. DuckDB reads every live data and delete file the checker listed
//     (entries.json, from check_table.py --dump): row count = record_count,
//     Parquet field ids = the table's, null counts and min/max within the
//     manifest's bounds.
//  3. The spec's own rule for equality deletes (partition-scoped unless the
//     delete's spec is unpartitioned), applied to the ids DuckDB reads: every
//     expected id lives exactly once.
// Prints "ok"/"FAIL" lines; exits 1 on a failure (with --expect-mismatch:
// exits 0 only if icebird's rows differ from the expected ones).
import http from 'node:http'
import fs from 'node:fs'
import path from 'node:path'
import { icebergRead } from 'icebird'
import { DuckDBInstance } from '@duckdb/node-api'

const [root, table, expectedPath, entriesPath, flag] = process.argv.slice(2)
const expectMismatch = flag === '--expect-mismatch'
let failures = 0
let mismatch = false
const ok = (m) => console.log(`ok   ${m}`)
const fail = (m) => { failures++; console.log(`FAIL ${m}`) }

// ---------- a local HTTP server for the bucket folder ----------
const server = http.createServer((req, res) => {
  const rel = decodeURIComponent(new URL(req.url, 'http://x').pathname)
  const file = path.join(root, path.normalize(rel))
  if (!file.startsWith(path.resolve(root)) || !fs.existsSync(file) || !fs.statSync(file).isFile()) {
    res.writeHead(404); res.end(); return
  }
  const data = fs.readFileSync(file)
  const m = /^bytes=(\d+)-(\d*)$/.exec(req.headers.range || '')
  if (m) {
    const start = Number(m[1])
    const end = m[2] === '' ? data.length - 1 : Math.min(Number(m[2]), data.length - 1)
    res.writeHead(206, { 'Content-Range': `bytes ${start}-${end}/${data.length}`, 'Content-Length': end - start + 1 })
    res.end(data.subarray(start, end + 1))
  } else {
    res.writeHead(200, { 'Content-Length': data.length })
    res.end(data)
  }
})
await new Promise((r) => server.listen(0, '127.0.0.1', r))
const base = `http://127.0.0.1:${server.address().port}`
const realFetch = globalThis.fetch
let requests = 0
let escaped = 0
globalThis.fetch = (input, init) => {
  const url = typeof input === 'string' ? input : input.url
  let local = null
  if (url.startsWith('https://btx-ice-test.s3.amazonaws.com/')) local = base + url.slice('https://btx-ice-test.s3.amazonaws.com'.length)
  else if (url.startsWith(base + '/')) local = url
  if (!local) {
    escaped++
    return Promise.reject(new Error(`request outside the machine refused: ${url}`))
  }
  requests++
  return realFetch(local, init)
}

// ---------- 1. icebird ----------
const expected = JSON.parse(fs.readFileSync(expectedPath, 'utf8'))
const norm = (v) => (v === undefined ? null : v)
function same(col, got, want) {
  got = norm(got)
  if (want === null) return got === null
  if (col === 'created') return got instanceof Date && got.getTime() === Math.floor(want / 1000)
  if (typeof got === 'bigint') return typeof want === 'number' && got === BigInt(want)
  if (col === 'tokens') return got === want
  if (Array.isArray(want)) return Array.isArray(got) && got.length === want.length && got.every((x, i) => x === want[i])
  return got === want
}
try {
  const rows = await icebergRead({ tableUrl: `s3://btx-ice-test/${table}` })
  const byId = new Map()
  let dup = 0
  for (const r of rows) {
    if (byId.has(r.id)) dup++
    byId.set(r.id, r)
  }
  const problems = []
  if (dup) problems.push(`${dup} duplicate ids`)
  if (rows.length !== expected.length) problems.push(`${rows.length} rows, expected ${expected.length}`)
  for (const want of expected) {
    const got = byId.get(want.id)
    if (!got) { problems.push(`${want.id} missing`); continue }
    for (const col of Object.keys(want)) {
      if (!same(col, got[col], want[col])) problems.push(`${want.id}.${col} = ${String(norm(got[col]))}, expected ${JSON.stringify(want[col])}`)
    }
  }
  if (problems.length === 0) {
    if (expectMismatch) fail(`icebird: ${rows.length} rows equal the expected ones, but this table must read differently`)
    else ok(`icebird: ${rows.length} rows, one per id, every value equal`)
  } else {
    mismatch = true
    const msg = `icebird: ${problems.slice(0, 6).join('; ')}${problems.length > 6 ? ` (+${problems.length - 6} more)` : ''}`
    if (expectMismatch) ok(`negative control detected -- ${msg}`)
    else fail(msg)
  }
} catch (e) {
  mismatch = true
  if (expectMismatch) ok(`negative control detected -- icebird: ${e.message}`)
  else fail(`icebird: ${e.message}`)
}

// ---------- 2. DuckDB on every live file ----------
if (entriesPath && !expectMismatch) {
  const dump = JSON.parse(fs.readFileSync(entriesPath, 'utf8'))
  const con = await (await DuckDBInstance.create(':memory:')).connect()
  const q = async (sql) => (await con.runAndReadAll(sql)).getRowObjectsJS()
  const fields = new Map(dump.schema.fields.map((f) => [f.name, f]))
  let files = 0
  for (const e of dump.live) {
    const file = path.join(root, e.file)
    const lit = `'${file.replaceAll("'", "''")}'`
    try {
      const [{ n }] = await q(`SELECT count(*)::BIGINT AS n FROM read_parquet(${lit})`)
      if (Number(n) !== e.record_count) fail(`duckdb ${e.file}: ${n} rows, manifest says ${e.record_count}`)
      if (fs.statSync(file).size !== e.file_size_in_bytes) fail(`${e.file}: ${fs.statSync(file).size} bytes, manifest says ${e.file_size_in_bytes}`)
      // field ids of the columns (DuckDB's parquet_schema, in schema order), by column name; an
      // element's is the element id of the list column just before it
      const schema = await q(`SELECT name, field_id FROM parquet_schema(${lit})`)
      let list
      for (const s of schema.slice(1)) { // [0] is the root
        if (s.name === 'list') continue
        let want
        if (s.name === 'element') want = list?.type['element-id']
        else {
          want = fields.get(s.name)?.id
          list = fields.get(s.name)?.type?.type === 'list' ? fields.get(s.name) : undefined
        }
        if (want === undefined) fail(`${e.file}: column ${s.name} is not in the table schema`)
        else if (Number(s.field_id) !== want) fail(`${e.file}: column ${s.name} has field id ${s.field_id}, the table says ${want}`)
      }
      // metrics by field id against the file's contents
      for (const f of dump.schema.fields) {
        if (e.content === 2 && !e.equality_ids.includes(f.id)) continue
        if (typeof f.type !== 'string') continue
        const c = `"${f.name.replaceAll('"', '""')}"`
        const agg = {
          timestamptz: [`epoch_us(min(${c}))::VARCHAR`, `epoch_us(max(${c}))::VARCHAR`],
          long: [`min(${c})::VARCHAR`, `max(${c})::VARCHAR`],
          double: [`min(${c}) FILTER (WHERE NOT isnan(${c}))`, `max(${c}) FILTER (WHERE NOT isnan(${c}))`],
          boolean: [`min(${c}::INT)`, `max(${c}::INT)`],
          string: [`min(${c})`, `max(${c})`],
        }[f.type]
        const [r] = await q(`SELECT count(*) - count(${c}) AS nulls, ${agg[0]} AS lo, ${agg[1]} AS hi FROM read_parquet(${lit})`)
        const m = e.metrics[f.id]
        if (!m) { fail(`${e.file}: no metrics for field ${f.id}`); continue }
        if (m.null_value_count !== Number(r.nulls)) fail(`${e.file}: ${f.name} has ${r.nulls} nulls, manifest says ${m.null_value_count}`)
        if (m.value_count !== e.record_count) fail(`${e.file}: ${f.name} value count ${m.value_count}, ${e.record_count} rows`)
        if (m.lower === undefined || r.lo === null) continue
        let below, above
        if (f.type === 'string') {
          below = Buffer.compare(Buffer.from(m.lower), Buffer.from(r.lo)) <= 0
          above = Buffer.compare(Buffer.from(m.upper), Buffer.from(r.hi)) >= 0
        } else if (f.type === 'timestamptz' || f.type === 'long') {
          // long bounds are exact: the minimum and maximum themselves
          below = BigInt(m.lower) === BigInt(r.lo)
          above = BigInt(m.upper) === BigInt(r.hi)
        } else {
          below = Number(m.lower) <= Number(r.lo)
          above = Number(m.upper) >= Number(r.hi)
        }
        if (!below || !above) fail(`${e.file}: ${f.name} values ${r.lo}..${r.hi}, manifest bounds ${m.lower}..${m.upper}`)
      }
      files++
    } catch (err) {
      fail(`duckdb ${e.file}: ${err.message.split('\n')[0]}`)
    }
  }
  if (failures === 0) ok(`duckdb: ${files} live files read; row counts, sizes, field ids, null counts and bounds agree with the manifests`)

  // ---------- 3. the spec's scoping of equality deletes, applied literally ----------
  // icebird applies every equality delete to every data file; the spec applies one to a data file
  // only when the delete's data sequence number is greater and the delete's partition (spec id and
  // values) is the data file's, or the delete's spec is unpartitioned (a global delete).  The ids
  // of each live file come from DuckDB; the rows left must be the expected ids, each once.
  const idsOf = async (e) => (await q(`SELECT id FROM read_parquet('${path.join(root, e.file).replaceAll("'", "''")}')`)).map((r) => r.id)
  const deletes = []
  for (const e of dump.live.filter((x) => x.content === 2)) deletes.push({ ...e, ids: new Set(await idsOf(e)) })
  const seen = new Map()
  for (const e of dump.live.filter((x) => x.content === 0)) {
    for (const id of await idsOf(e)) {
      const gone = deletes.some((d) => d.data_sequence_number > e.data_sequence_number && d.ids.has(id) &&
        (d.unpartitioned || (d.spec_id === e.spec_id && JSON.stringify(d.partition) === JSON.stringify(e.partition))))
      if (!gone) seen.set(id, (seen.get(id) || 0) + 1)
    }
  }
  const twice = [...seen].filter(([, n]) => n > 1).map(([id]) => id)
  const missing = expected.filter((r) => !seen.has(r.id)).map((r) => r.id)
  const extra = [...seen.keys()].filter((id) => !expected.some((r) => r.id === id))
  if (twice.length || missing.length || extra.length) {
    fail(`scoped deletes: ${twice.length} ids live more than once (${twice.slice(0, 3)}), ${missing.length} missing, ${extra.length} extra`)
  } else ok(`scoped deletes: ${seen.size} ids live once each, as expected`)
}

server.close()
if (escaped) fail(`${escaped} requests tried to leave the machine`)
else ok(`${requests} requests, all to the local server`)
process.exit(failures ? 1 : 0)
