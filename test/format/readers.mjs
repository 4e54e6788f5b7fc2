// Three-reader differential check of a Parquet file written by btexport.
//
// usage: node readers.mjs file.parquet fixture.json [--codec none|snappy|gzip|zstd] [--json-as-string]
//
// Reads the file with DuckDB (@duckdb/node-api), arrow-rs (parquet-wasm, via
// the Arrow C data interface in WASM memory) and hyparquet (+ compressors),
// and checks that every reader returns exactly the fixture's rows:
//   string/json: same text (hyparquet's JSON parser is overridden to return
//     text; its default JSON parse is checked separately against JSON.parse);
//   timestamp/int64: same 64-bit integer (exact microseconds);
//   double: Object.is equality (NaN == NaN, -0 != +0);
//   boolean; list: same elements, null list vs empty list vs null element.
// Also checks schema/metadata invariants and the chunk statistics reported
// by DuckDB's parquet_metadata against values computed from the fixture.
// Prints one line per failed check; exits 1 on any failure, 0 otherwise.
import { readFileSync, statSync } from 'node:fs';
import { DuckDBInstance } from '@duckdb/node-api';
import { parquetReadObjects, parquetMetadata } from 'hyparquet';
import { compressors } from 'hyparquet-compressors';
import { readParquet, wasmMemory } from 'parquet-wasm';

const args = process.argv.slice(2);
const file = args[0];
const fixture = JSON.parse(readFileSync(args[1], 'utf8'));
const codecArg = args.includes('--codec') ? args[args.indexOf('--codec') + 1] : 'snappy';
const jsonAsString = args.includes('--json-as-string');
const cols = fixture.columns;
const failures = [];
const fail = (msg) => { if (failures.length < 40) failures.push(msg); else if (failures.length === 40) failures.push('...'); };

// ---------- expected values ----------
function expectValue(type, v) {
  if (v === null || v === undefined) return null;
  switch (type) {
    case 'string': case 'json': return v;
    case 'timestamp': case 'int64': return BigInt(v);
    case 'double': return typeof v === 'string' ? parseDoubleString(v) : v;
    case 'boolean': return v;
    case 'list': return v.map((e) => (e === null ? null : e));
  }
  throw new Error('bad type ' + type);
}
function parseDoubleString(s) {
  const t = s.toLowerCase();
  if (t === 'nan') return NaN;
  if (t === 'inf' || t === 'infinity') return Infinity;
  if (t === '-inf' || t === '-infinity') return -Infinity;
  return Number(s);
}
const expected = fixture.rows.map((r) => cols.map((c, i) => expectValue(c.type, r[i])));

function same(type, a, b) {
  if (a === null || b === null) return a === b;
  if (type === 'double') return Object.is(a, b);
  if (type === 'list') {
    if (!Array.isArray(a) || !Array.isArray(b) || a.length !== b.length) return false;
    return a.every((x, i) => x === b[i]);
  }
  return a === b;
}
const show = (v) => {
  const s = typeof v === 'bigint' ? v + 'n' : Object.is(v, -0) ? '-0' : JSON.stringify(v, (k, x) => (typeof x === 'bigint' ? x + 'n' : x));
  return s && s.length > 80 ? s.slice(0, 77) + '...' : s;
};

function compare(reader, rows) {
  if (rows.length !== expected.length) {
    fail(`${reader}: ${rows.length} rows, expected ${expected.length}`);
    return;
  }
  let bad = 0;
  for (let r = 0; r < expected.length && bad < 5; r++) {
    for (let c = 0; c < cols.length; c++) {
      if (!same(cols[c].type, rows[r][c], expected[r][c])) {
        fail(`${reader}: row ${r} column ${cols[c].name}: got ${show(rows[r][c])}, expected ${show(expected[r][c])}`);
        bad++;
      }
    }
  }
}

const bytes = readFileSync(file);

// ---------- DuckDB ----------
const con = await (await DuckDBInstance.create(':memory:')).connect();
const q = async (sql) => (await con.runAndReadAll(sql)).getRowObjectsJS();
const fq = file.replace(/'/g, "''");
try {
  const exprs = cols.map((c) => {
    const n = '"' + c.name.replace(/"/g, '""') + '"';
    switch (c.type) {
      case 'json': return `${n}::VARCHAR`;
      case 'timestamp': return `epoch_us(${n})::VARCHAR`;
      case 'int64': return `${n}::VARCHAR`;
      default: return n;
    }
  });
  const res = await con.runAndReadAll(
    `SELECT ${exprs.join(', ')} FROM read_parquet('${fq}', file_row_number=true) ORDER BY file_row_number`);
  const rows = res.getRowsJS().map((row) => row.map((v, i) => {
    const t = cols[i].type;
    if (v === null) return null;
    if (t === 'timestamp' || t === 'int64') return BigInt(v);
    if (t === 'list') return Array.from(v);
    return v;
  }));
  compare('duckdb', rows);

  // schema as DuckDB types
  const want = { string: 'VARCHAR', json: jsonAsString ? 'VARCHAR' : 'JSON', timestamp: 'TIMESTAMP WITH TIME ZONE',
    int64: 'BIGINT', double: 'DOUBLE', boolean: 'BOOLEAN', list: 'VARCHAR[]' };
  const desc = await q(`DESCRIBE SELECT * FROM read_parquet('${fq}')`);
  desc.forEach((d, i) => {
    if (d.column_name !== cols[i].name) fail(`duckdb schema: column ${i} named ${d.column_name}`);
    if (d.column_type !== want[cols[i].type]) fail(`duckdb schema: ${d.column_name} is ${d.column_type}, expected ${want[cols[i].type]}`);
  });

  // file metadata
  const [fm] = await q(`SELECT * FROM parquet_file_metadata('${fq}')`);
  if (!/^btexport version \d+\.\d+\.\d+( \(build [0-9a-zA-Z]+\))?$/.test(fm.created_by)) fail(`created_by ${fm.created_by}`);
  if (Number(fm.format_version) !== 1) fail(`format_version ${fm.format_version}`);
  if (Number(fm.num_rows) !== expected.length) fail(`num_rows ${fm.num_rows}`);

  // chunk metadata invariants and statistics
  const md = await q(`SELECT * FROM parquet_metadata('${fq}') ORDER BY row_group_id, column_id`);
  const size = statSync(file).size;
  const footerLen = bytes.readUInt32LE(size - 8);
  let prevEnd = 4;
  const rgRows = new Map();
  for (const m of md) rgRows.set(Number(m.row_group_id), Number(m.row_group_num_rows));
  let rowSum = 0; for (const n of rgRows.values()) { if (n <= 0) fail('empty row group'); rowSum += n; }
  if (rowSum !== expected.length) fail(`row groups hold ${rowSum} rows`);
  const rgStart = []; { let s = 0; for (const [g, n] of [...rgRows.entries()].sort((a, b) => a[0] - b[0])) { rgStart[g] = s; s += n; } }
  const wantCodec = { none: 'UNCOMPRESSED', snappy: 'SNAPPY', gzip: 'GZIP', zstd: 'ZSTD' }[codecArg];
  for (const m of md) {
    const where = `rg ${m.row_group_id} ${m.path_in_schema}`;
    const dictOff = m.dictionary_page_offset === null ? null : Number(m.dictionary_page_offset);
    const dataOff = Number(m.data_page_offset);
    const start = dictOff ?? dataOff;
    const len = Number(m.total_compressed_size);
    if (dictOff !== null && !(dictOff < dataOff)) fail(`${where}: dictionary_page_offset ${dictOff} >= data_page_offset ${dataOff}`);
    if (start !== prevEnd) fail(`${where}: chunk starts at ${start}, previous ended at ${prevEnd}`);
    prevEnd = start + len;
    if (prevEnd > size - 8 - footerLen) fail(`${where}: chunk runs into the footer`);
    if (m.compression !== wantCodec) fail(`${where}: codec ${m.compression}, expected ${wantCodec}`);
    const encs = String(m.encodings).split(',').map((s) => s.trim());
    if (dictOff !== null && !encs.includes('RLE_DICTIONARY') && !encs.includes('PLAIN')) fail(`${where}: encodings ${m.encodings}`);
    // statistics vs the fixture
    const ci = cols.findIndex((c) => c.name === String(m.path_in_schema).split(',')[0].trim());
    const col = cols[ci];
    const g = Number(m.row_group_id);
    const slice = expected.slice(rgStart[g], rgStart[g] + rgRows.get(g)).map((r) => r[ci]);
    const st = expectedStats(col.type, slice);
    if (Number(m.stats_null_count) !== st.nulls) fail(`${where}: null_count ${m.stats_null_count}, expected ${st.nulls}`);
    if (Number(m.num_values) !== st.entries) fail(`${where}: num_values ${m.num_values}, expected ${st.entries}`);
    const gotMin = m.stats_min_value, gotMax = m.stats_max_value;
    if (st.min === undefined) {
      if (gotMin !== null || gotMax !== null) fail(`${where}: unexpected min/max ${gotMin}/${gotMax}`);
    } else if (col.type === 'double') {
      // DuckDB does not report infinite double statistics; hyparquet's raw metadata check below covers them
      if (!Number.isFinite(st.min) || !Number.isFinite(st.max)) continue;
      if (gotMin === null || !Object.is(Number(gotMin), st.min) && !(Number(gotMin) === 0 && st.min === 0)) fail(`${where}: min ${gotMin}, expected ${st.min}`);
      if (gotMax === null || Number(gotMax) !== st.max) fail(`${where}: max ${gotMax}, expected ${st.max}`);
    } else if (col.type === 'timestamp') {
      // DuckDB renders timestamp stats as text: convert back to microseconds
      const toUs = async (t) => (t === null ? null : BigInt((await q(`SELECT epoch_us('${String(t)}'::TIMESTAMPTZ)::VARCHAR AS u`))[0].u));
      const mn = await toUs(gotMin), mx = await toUs(gotMax);
      if (mn !== st.min || mx !== st.max) fail(`${where}: min/max ${show(mn)}/${show(mx)}, expected ${show(st.min)}/${show(st.max)}`);
    } else if (String(gotMin) !== String(st.min) || String(gotMax) !== String(st.max)) {
      fail(`${where}: min/max ${show(gotMin)}/${show(gotMax)}, expected ${show(st.min)}/${show(st.max)}`);
    }
  }
  if (prevEnd !== size - 8 - footerLen) fail(`chunks end at ${prevEnd}, footer starts at ${size - 8 - footerLen}`);
  const co = await q(`SELECT count(*)::INTEGER AS n FROM parquet_schema('${fq}') WHERE type IS NOT NULL`);
  if (co[0].n !== cols.length) fail(`parquet_schema lists ${co[0].n} leaves`);
} catch (e) {
  fail('duckdb: ' + e.message.split('\n')[0]);
}

function expectedStats(type, vals) {
  // per chunk: level entries, nulls (= entries with def < max_def), min/max per parquet.md 3.2
  let entries = 0, nulls = 0;
  const present = [];
  for (const v of vals) {
    if (type === 'list') {
      if (v === null || v.length === 0) { entries++; nulls++; continue; }
      for (const e of v) { entries++; if (e === null) nulls++; else present.push(e); }
    } else {
      entries++;
      if (v === null) nulls++; else present.push(v);
    }
  }
  const out = { entries, nulls };
  if (present.length === 0 || type === 'json' || type === 'boolean') return out;
  if (type === 'double') {
    if (present.some((x) => Number.isNaN(x))) return out;
    let mn = Infinity, mx = -Infinity;
    for (const x of present) { if (x < mn) mn = x; if (x > mx) mx = x; }
    out.min = mn === 0 ? -0 : mn; out.max = mx === 0 ? 0 : mx;
    return out;
  }
  if (type === 'int64' || type === 'timestamp') {
    let mn = present[0], mx = present[0];
    for (const x of present) { if (x < mn) mn = x; if (x > mx) mx = x; }
    out.min = mn; out.max = mx;
    return out;
  }
  // strings: byte-wise order, truncation to 64 bytes
  const bufs = present.map((s) => Buffer.from(s, 'utf8'));
  let mn = bufs[0], mx = bufs[0];
  for (const b of bufs) { if (Buffer.compare(b, mn) < 0) mn = b; if (Buffer.compare(b, mx) > 0) mx = b; }
  if (mn.length > 64) { let cut = 64; while (cut > 0 && (mn[cut] & 0xc0) === 0x80) cut--; mn = mn.subarray(0, cut); }
  if (mx.length > 64) {
    let cut = 64; while (cut > 0 && (mx[cut] & 0xc0) === 0x80) cut--;
    let k = cut; while (k > 0 && mx[k - 1] >= 0x7f) k--;
    if (k === 0) return out;
    mx = Buffer.from(mx.subarray(0, k)); mx[k - 1]++;
  }
  out.min = mn.toString('utf8'); out.max = mx.toString('utf8');
  return out;
}

// ---------- hyparquet ----------
try {
  const ab = bytes.buffer.slice(bytes.byteOffset, bytes.byteOffset + bytes.byteLength);
  const dec = new TextDecoder();
  const objs = await parquetReadObjects({
    file: ab, compressors,
    parsers: { jsonFromBytes: (b) => b && dec.decode(b), timestampFromMicroseconds: (v) => BigInt(v) },
  });
  compare('hyparquet', objs.map((o) => cols.map((c) => {
    const v = o[c.name];
    if (v === undefined || v === null) return null;
    if (c.type === 'int64') return BigInt(v);
    return v;
  })));
  // default JSON parsing: values must equal JSON.parse of the source text
  const jsonCols = cols.filter((c) => c.type === 'json');
  if (jsonCols.length && !jsonAsString) {
    const parsed = await parquetReadObjects({ file: ab, compressors, columns: jsonCols.map((c) => c.name) });
    const jidx = jsonCols.map((c) => cols.indexOf(c));
    let bad = 0;
    for (let r = 0; r < expected.length && bad < 3; r++) {
      for (let k = 0; k < jsonCols.length; k++) {
        const e = expected[r][jidx[k]];
        const got = parsed[r][jsonCols[k].name];
        const want = e === null ? null : JSON.parse(e);
        if (JSON.stringify(got ?? null) !== JSON.stringify(want)) {
          fail(`hyparquet json: row ${r} ${jsonCols[k].name}: got ${show(got)}, expected ${show(want)}`);
          bad++;
        }
      }
    }
  }
  const meta = parquetMetadata(ab);
  if (Number(meta.num_rows) !== expected.length) fail(`hyparquet: num_rows ${meta.num_rows}`);
  // raw double statistics: exact values incl. -0/+0 normalisation and infinities
  let start = 0;
  for (const [g, rg] of meta.row_groups.entries()) {
    const n = Number(rg.num_rows);
    rg.columns.forEach((cc, k) => {
      if (cols[k].type !== 'double') return;
      const st = expectedStats('double', expected.slice(start, start + n).map((r) => r[k]));
      const s = cc.meta_data.statistics || {};
      if (!Object.is(s.min_value, st.min) || !Object.is(s.max_value, st.max))
        fail(`hyparquet stats rg ${g} ${cols[k].name}: min/max ${show(s.min_value)}/${show(s.max_value)}, expected ${show(st.min)}/${show(st.max)}`);
      if (Number(s.null_count) !== st.nulls) fail(`hyparquet stats rg ${g} ${cols[k].name}: null_count ${s.null_count}`);
    });
    start += n;
  }
} catch (e) {
  fail('hyparquet: ' + e.message.split('\n')[0]);
}

// ---------- arrow-rs (parquet-wasm) via the Arrow C data interface ----------
function arrowRows() {
  const table = readParquet(new Uint8Array(bytes));
  const stream = table.intoFFI();
  const out = [];
  try {
    // wasm memory does not grow while we only read it: one view for the whole decode
    const buf = wasmMemory().buffer;
    const dv = new DataView(buf);
    const u8 = new Uint8Array(buf);
    const td = new TextDecoder();
    const u32 = (p) => dv.getUint32(p, true);
    const i64 = (p) => Number(dv.getBigInt64(p, true));
    const cstr = (p) => { let e = p; while (u8[e]) e++; return td.decode(u8.subarray(p, e)); };
    const schema = (p) => ({ format: cstr(u32(p)), name: cstr(u32(p + 4)), children: Array.from({ length: i64(p + 24) }, (_, i) => schema(u32(u32(p + 32) + 4 * i))) });
    const array = (p) => ({ length: i64(p), offset: i64(p + 16), buffers: Array.from({ length: i64(p + 24) }, (_, i) => u32(u32(p + 40) + 4 * i)), children: Array.from({ length: i64(p + 32) }, (_, i) => array(u32(u32(p + 44) + 4 * i))) });
    const sch = schema(stream.schemaAddr());
    const valid = (a, i) => { const v = a.buffers[0]; if (!v) return true; const b = i + a.offset; return (u8[v + (b >> 3)] >> (b & 7)) & 1; };
    const decode = (s, a, i) => {
      if (!valid(a, i)) return null;
      const j = i + a.offset;
      switch (s.format) {
        case 'u': { const o = a.buffers[1]; const st = dv.getInt32(o + 4 * j, true), en = dv.getInt32(o + 4 * j + 4, true); return td.decode(u8.subarray(a.buffers[2] + st, a.buffers[2] + en)); }
        case 'U': { const o = a.buffers[1]; const st = Number(dv.getBigInt64(o + 8 * j, true)), en = Number(dv.getBigInt64(o + 8 * j + 8, true)); return td.decode(u8.subarray(a.buffers[2] + st, a.buffers[2] + en)); }
        case 'l': case 'tsu:UTC': case 'tsu:+00:00': return dv.getBigInt64(a.buffers[1] + 8 * j, true);
        case 'g': return dv.getFloat64(a.buffers[1] + 8 * j, true);
        case 'b': return Boolean((u8[a.buffers[1] + (j >> 3)] >> (j & 7)) & 1);
        case '+l': { const o = a.buffers[1]; const st = dv.getInt32(o + 4 * j, true), en = dv.getInt32(o + 4 * j + 4, true); const r = []; for (let k = st; k < en; k++) r.push(decode(s.children[0], a.children[0], k - a.children[0].offset)); return r; }
        default: throw new Error('arrow format ' + s.format + ' not handled');
      }
    };
    const wantFmt = { string: ['u', 'U'], json: ['u', 'U'], timestamp: ['tsu:UTC', 'tsu:+00:00'], int64: ['l'], double: ['g'], boolean: ['b'], list: ['+l'] };
    sch.children.forEach((c, i) => {
      if (c.name !== cols[i].name) fail(`arrow-rs schema: column ${i} named ${c.name}`);
      if (!wantFmt[cols[i].type].includes(c.format)) fail(`arrow-rs schema: ${c.name} has format ${c.format}`);
      if (cols[i].type === 'list' && !['u', 'U'].includes(c.children[0].format)) fail(`arrow-rs schema: ${c.name} element format ${c.children[0].format}`);
    });
    for (let k = 0; k < stream.numArrays(); k++) {
      const st = array(stream.arrayAddr(k));
      for (let r = 0; r < st.length; r++) out.push(sch.children.map((cs, ci) => decode(cs, st.children[ci], r)));
    }
  } finally {
    stream.free();
  }
  return out;
}
try {
  compare('arrow-rs', arrowRows());
} catch (e) {
  fail('arrow-rs: ' + e.message.split('\n')[0]);
}

if (failures.length) {
  for (const f of failures) console.log('  ' + f);
  process.exit(1);
}
