// Read-back check of the benchmark's btexport Parquet exports (test/bench/bench.py), issue 6's
// acceptance check: every file of a run, read by DuckDB (@duckdb/node-api), arrow-rs
// (parquet-wasm, through the Arrow C data interface in WASM memory) and hyparquet
// (+ hyparquet-compressors), must give exactly the source rows, in the export's order.
//
//   node --max-old-space-size=4096 verify_parquet.mjs --source <dump> --columns <json> --codec <c>
//        [--id <column>] <file.parquet>...
//
// --source: the rows as the export query returned them, dumped from PostgreSQL by bench.py, one
//   JSON array per line in the export's order (_xact_id, id), a value per column:
//     string  text (also uuid and anything else btexport writes as its text output)
//     json    the jsonb/json value's text, as a JSON string
//     timestamp  Unix microseconds as a decimal string (null for +-infinity, as btexport writes)
//     int64   decimal string;  double  PostgreSQL's float8 text (shortest exact; NaN, Infinity)
//     boolean true/false;  list  a JSON array of strings and nulls, or null
// --columns: [{"name", "kind"}] in the query's column order (kind as above).
// --codec: none|snappy|gzip|zstd: every column chunk must use it.
// The files are given in the run's order (btexport.run_files: run_id, seq); the source is walked
// alongside them once, so a missing, extra, duplicated or reordered row anywhere is a difference.
//
// How values are compared, per column kind:
//   string, json: exact text. JSON is compared as text, not as parsed values: btexport promises
//     the JSON text of jsonb's output (JsonbToCString, the same text as ::text and as its JSON
//     Lines), none of the three readers rewrites it, and text equality implies JSON equality, while
//     parsed equality would hide changes (number digits beyond double precision, key order,
//     duplicate keys, spacing).
//   timestamp: exact microseconds (bigint); int64: bigint; double: Object.is (NaN = NaN, -0 != +0);
//   boolean: ===; list: null list, empty list and null element are all distinct, elements exact.
//
// Memory: one row group at a time (btexport's row groups are at most 64 MB before compression):
// each reader reads it and is compared with the source's rows of that group, then dropped, so
// memory is the file's bytes + a row group per reader + the source's rows of the group; the
// source is read from disk as the comparison goes.
//
// Prints one JSON line (rows, files, row groups, per-reader seconds and mismatch counts) on stdout;
// on any difference prints the first ones on stderr and exits 1.
import { closeSync, openSync, readFileSync, readSync } from 'node:fs';
import { DuckDBInstance } from '@duckdb/node-api';
import { parquetMetadata, parquetRead } from 'hyparquet';
import { compressors } from 'hyparquet-compressors';
import { readParquet, wasmMemory } from 'parquet-wasm';

const argv = process.argv.slice(2);
const opt = (name, dflt) => {
  const i = argv.indexOf(name);
  if (i < 0) { if (dflt === undefined) throw new Error(`missing ${name}`); return dflt; }
  const v = argv[i + 1];
  argv.splice(i, 2);
  return v;
};
const sourcePath = opt('--source');
const cols = JSON.parse(opt('--columns'));
const codec = opt('--codec');
const idName = opt('--id', 'id');
const files = argv;
const KINDS = ['string', 'json', 'timestamp', 'int64', 'double', 'boolean', 'list'];
for (const c of cols) if (!KINDS.includes(c.kind)) throw new Error(`column ${c.name}: unknown kind ${c.kind}`);
const idCol = cols.findIndex((c) => c.name === idName);
if (idCol < 0) throw new Error(`no column ${idName}`);
const wantCodec = { none: 'UNCOMPRESSED', snappy: 'SNAPPY', gzip: 'GZIP', zstd: 'ZSTD' }[codec];
if (!wantCodec) throw new Error(`unknown codec ${codec}`);
const READERS = ['duckdb', 'arrow-rs', 'hyparquet'];

// ---------------------------------------------------------------- failures
const MAX_SHOWN = 12;
const problems = [];                  // shown on stderr, first MAX_SHOWN per reader (+ general ones)
const shownPer = new Map();
const mismatches = Object.fromEntries(READERS.map((r) => [r, 0]));
const general = [];                   // not tied to one reader's values: counts, ids, schema, codec
function problem(reader, msg) {
  if (reader) {
    mismatches[reader]++;
    const k = shownPer.get(reader) ?? 0;
    shownPer.set(reader, k + 1);
    if (k < MAX_SHOWN) problems.push(`${reader}: ${msg}`);
    else if (k === MAX_SHOWN) problems.push(`${reader}: ... (more differences not shown)`);
  } else {
    if (general.length < MAX_SHOWN) problems.push(msg);
    general.push(msg);
  }
}
const show = (v) => {
  const s = typeof v === 'bigint' ? v + 'n' : Object.is(v, -0) ? '-0' : v === undefined ? 'undefined' : JSON.stringify(v);
  return s.length > 100 ? s.slice(0, 97) + '...' : s;
};
function showDiff(a, b) {
  if (typeof a === 'string' && typeof b === 'string') {
    let i = 0;
    while (i < a.length && i < b.length && a[i] === b[i]) i++;
    const from = Math.max(0, i - 20);
    return `strings of ${a.length} and ${b.length} chars differ at char ${i}: got ${show(a.slice(from, i + 40))},` +
      ` expected ${show(b.slice(from, i + 40))}`;
  }
  return `got ${show(a)}, expected ${show(b)}`;
}

// ---------------------------------------------------------------- the source, streamed
class LineReader {
  constructor(path) {
    this.fd = openSync(path, 'r');
    this.buf = Buffer.allocUnsafe(32 << 20);
    this.start = 0;
    this.end = 0;
    this.eof = false;
  }
  next() {                            // the next line (without '\n'), or null at the end
    for (;;) {
      const nl = this.buf.indexOf(10, this.start);
      if (nl >= 0 && nl < this.end) {
        const line = this.buf.toString('utf8', this.start, nl);
        this.start = nl + 1;
        return line;
      }
      if (this.eof) {
        if (this.start < this.end) throw new Error('source dump: last line has no newline');
        return null;
      }
      if (this.start > 0) {           // keep the partial line, refill behind it
        this.buf.copy(this.buf, 0, this.start, this.end);
        this.end -= this.start;
        this.start = 0;
      }
      if (this.end === this.buf.length) {
        const b = Buffer.allocUnsafe(this.buf.length * 2);
        this.buf.copy(b, 0, 0, this.end);
        this.buf = b;
      }
      const n = readSync(this.fd, this.buf, this.end, this.buf.length - this.end, null);
      if (n === 0) this.eof = true;
      this.end += n;
    }
  }
  close() { closeSync(this.fd); }
}
function parseDouble(s) {
  switch (s) {
    case 'NaN': return NaN;
    case 'Infinity': return Infinity;
    case '-Infinity': return -Infinity;
  }
  return Number(s);
}
function typedSource(line, where) {
  const a = JSON.parse(line);
  if (!Array.isArray(a) || a.length !== cols.length) throw new Error(`source dump: ${where}: not ${cols.length} values`);
  for (let c = 0; c < cols.length; c++) {
    const v = a[c];
    if (v === null) continue;
    switch (cols[c].kind) {
      case 'timestamp': case 'int64': a[c] = BigInt(v); break;
      case 'double': a[c] = parseDouble(v); break;
    }
  }
  return a;
}

// ---------------------------------------------------------------- comparison
function same(kind, a, b) {
  if (a === null || b === null) return a === b;
  switch (kind) {
    case 'double': return Object.is(a, b);
    case 'list':
      if (!Array.isArray(a) || a.length !== b.length) return false;
      for (let i = 0; i < a.length; i++) if (a[i] !== b[i]) return false;
      return true;
    default: return a === b;
  }
}
// got: columns (got[c][r]) of one row group; exp: the source rows of that group (exp[r][c])
function compare(reader, got, exp, file, rowBase, globalBase) {
  for (let c = 0; c < cols.length; c++) {
    const g = got[c], kind = cols[c].kind;
    if (g.length !== exp.length) {
      problem(reader, `${file}: rows ${rowBase}..: column ${cols[c].name} has ${g.length} values, expected ${exp.length}`);
      continue;
    }
    for (let r = 0; r < exp.length; r++) {
      if (!same(kind, g[r], exp[r][c]))
        problem(reader, `${file} row ${rowBase + r} (row ${globalBase + r} of the run, source id ${show(exp[r][idCol])})` +
          ` column ${cols[c].name}: ${showDiff(g[r], exp[r][c])}`);
    }
  }
}

// ---------------------------------------------------------------- DuckDB: one streamed query per file
const con = await (await DuckDBInstance.create(':memory:')).connect();
const q = (s) => `'${s.replaceAll("'", "''")}'`;
const dq = (s) => '"' + s.replaceAll('"', '""') + '"';
class DuckFile {
  async open(file) {
    const exprs = cols.map((c) => {
      switch (c.kind) {
        case 'json': return `${dq(c.name)}::VARCHAR`;
        case 'timestamp': return `epoch_us(${dq(c.name)})`;
        default: return dq(c.name);
      }
    });
    // file_row_number: the order is checked, not assumed (preserve_insertion_order is on)
    this.res = await con.stream(`SELECT file_row_number, ${exprs.join(', ')} FROM read_parquet(${q(file)}, file_row_number = true)`);
    this.pending = Array.from({ length: cols.length + 1 }, () => []);
    this.done = false;
  }
  async take(n) {                     // columns of the next n rows (fewer at the end)
    while (!this.done && this.pending[0].length < n) {
      const chunk = await this.res.fetchChunk();
      if (!chunk || chunk.rowCount === 0) { this.done = true; break; }
      const cs = chunk.getColumns();
      for (let c = 0; c < cs.length; c++) {
        const dst = this.pending[c], src = cs[c];
        for (let r = 0; r < src.length; r++) dst.push(src[r]);
      }
    }
    // hand out n rows; keep only the rest of the last chunk (less than 2,048 rows)
    const out = this.pending.map((p) => (p.length > n ? p.slice(0, n) : p));
    this.pending = this.pending.map((p) => (p.length > n ? p.slice(n) : []));
    return out;
  }
}
function duckNormalise(raw, rowBase, file) {
  const rn = raw[0];
  for (let r = 0; r < rn.length; r++)
    if (Number(rn[r]) !== rowBase + r) { problem('duckdb', `${file}: row ${rowBase + r} came back as file_row_number ${rn[r]}`); break; }
  return cols.map((c, i) => {
    const v = raw[i + 1];
    switch (c.kind) {
      case 'timestamp': case 'int64': return v.map((x) => (x === null ? null : BigInt(x)));
      case 'list': return v.map((x) => (x === null ? null : Array.from(x.items)));
      default: return v;
    }
  });
}

// ---------------------------------------------------------------- arrow-rs (parquet-wasm)
const ARROW_FORMATS = { string: ['u', 'U'], json: ['u', 'U'], timestamp: ['tsu:UTC', 'tsu:+00:00'], int64: ['l'],
  double: ['g'], boolean: ['b'], list: ['+l', '+L'] };
function arrowRead(bytes, g, file) {
  const table = readParquet(bytes, { rowGroups: [g], batchSize: 1 << 20 });
  const stream = table.intoFFI();
  try {
    // the WASM memory does not grow while we only read it: one view per row group
    const buf = wasmMemory().buffer;
    const dv = new DataView(buf);
    const u8 = new Uint8Array(buf);
    const B = Buffer.from(buf);
    const u32 = (p) => dv.getUint32(p, true);
    const i64 = (p) => Number(dv.getBigInt64(p, true));
    const cstr = (p) => { let e = p; while (u8[e]) e++; return B.toString('utf8', p, e); };
    const schema = (p) => ({ format: cstr(u32(p)), name: cstr(u32(p + 4)),
      children: Array.from({ length: i64(p + 24) }, (_, i) => schema(u32(u32(p + 32) + 4 * i))) });
    const array = (p) => ({ length: i64(p), offset: i64(p + 16),
      buffers: Array.from({ length: i64(p + 24) }, (_, i) => u32(u32(p + 40) + 4 * i)),
      children: Array.from({ length: i64(p + 32) }, (_, i) => array(u32(u32(p + 44) + 4 * i))) });
    // one whole column of a batch (logical rows 0..length-1), pushed onto out
    const column = (s, a, out) => {
      const v = a.buffers[0];
      const valid = (j) => !v || (u8[v + (j >> 3)] >> (j & 7)) & 1;
      const off = a.offset;
      switch (s.format) {
        case 'u': case 'U': {
          const o = a.buffers[1], d = a.buffers[2], w = s.format === 'u' ? 4 : 8;
          for (let i = 0; i < a.length; i++) {
            const j = i + off;
            if (!valid(j)) { out.push(null); continue; }
            const st = w === 4 ? dv.getInt32(o + 4 * j, true) : Number(dv.getBigInt64(o + 8 * j, true));
            const en = w === 4 ? dv.getInt32(o + 4 * j + 4, true) : Number(dv.getBigInt64(o + 8 * j + 8, true));
            out.push(B.toString('utf8', d + st, d + en));
          }
          return;
        }
        case 'l': case 'tsu:UTC': case 'tsu:+00:00':
          for (let i = 0; i < a.length; i++) { const j = i + off; out.push(valid(j) ? dv.getBigInt64(a.buffers[1] + 8 * j, true) : null); }
          return;
        case 'g':
          for (let i = 0; i < a.length; i++) { const j = i + off; out.push(valid(j) ? dv.getFloat64(a.buffers[1] + 8 * j, true) : null); }
          return;
        case 'b':
          for (let i = 0; i < a.length; i++) { const j = i + off; out.push(valid(j) ? Boolean((u8[a.buffers[1] + (j >> 3)] >> (j & 7)) & 1) : null); }
          return;
        case '+l': case '+L': {
          const elems = [];
          column(s.children[0], a.children[0], elems);   // list offsets index the child's logical elements
          const o = a.buffers[1], w = s.format === '+l' ? 4 : 8;
          for (let i = 0; i < a.length; i++) {
            const j = i + off;
            if (!valid(j)) { out.push(null); continue; }
            const st = w === 4 ? dv.getInt32(o + 4 * j, true) : Number(dv.getBigInt64(o + 8 * j, true));
            const en = w === 4 ? dv.getInt32(o + 4 * j + 4, true) : Number(dv.getBigInt64(o + 8 * j + 8, true));
            out.push(elems.slice(st, en));
          }
          return;
        }
        default: throw new Error('arrow format ' + s.format + ' not handled');
      }
    };
    const sch = schema(stream.schemaAddr());
    if (sch.children.length !== cols.length) problem('arrow-rs', `${file}: ${sch.children.length} columns, expected ${cols.length}`);
    sch.children.forEach((c, i) => {
      if (i >= cols.length) return;
      if (c.name !== cols[i].name) problem('arrow-rs', `${file}: column ${i} named ${c.name}, expected ${cols[i].name}`);
      if (!ARROW_FORMATS[cols[i].kind].includes(c.format)) problem('arrow-rs', `${file}: column ${c.name} has Arrow format ${c.format}`);
    });
    const out = cols.map(() => []);
    for (let k = 0; k < stream.numArrays(); k++) {
      const st = array(stream.arrayAddr(k));
      for (let c = 0; c < cols.length && c < st.children.length; c++) column(sch.children[c], st.children[c], out[c]);
    }
    return out;
  } finally {
    stream.free();
  }
}

// ---------------------------------------------------------------- hyparquet
const dec = new TextDecoder();
const HY_PARSERS = { jsonFromBytes: (b) => (b == null ? b : dec.decode(b)), timestampFromMicroseconds: (v) => BigInt(v) };
async function hyRead(ab, meta, rowStart, rowEnd) {
  let rows;
  await parquetRead({ file: ab, metadata: meta, rowStart, rowEnd, compressors, parsers: HY_PARSERS,
    rowFormat: 'array', onComplete: (r) => { rows = r; } });
  return cols.map((c, i) => rows.map((row) => {
    const v = row[i];
    if (v === undefined || v === null) return null;
    if (c.kind === 'int64' || c.kind === 'timestamp') return BigInt(v);
    return v;
  }));
}

// ---------------------------------------------------------------- main
const secs = Object.fromEntries(READERS.map((r) => [r, 0]));
let sourceSecs = 0, compareSecs = 0, total = 0;
const fileInfo = [];
const ids = new Set();
const src = new LineReader(sourcePath);
const t0 = performance.now();
try {
  for (const file of files) {
    const bytes = readFileSync(file);
    const ab = bytes.byteOffset === 0 && bytes.byteLength === bytes.buffer.byteLength
      ? bytes.buffer : bytes.buffer.slice(bytes.byteOffset, bytes.byteOffset + bytes.byteLength);
    const meta = parquetMetadata(ab);
    const schemaNames = meta.schema.slice(1).filter((e) => e.num_children === undefined || e.num_children === 0);
    if (meta.row_groups.some((rg) => rg.columns.length !== cols.length))
      problem(null, `${file}: row groups do not have ${cols.length} column chunks`);
    const wrongCodec = meta.row_groups.flatMap((rg, g) => rg.columns.filter((cc) => cc.meta_data.codec !== wantCodec)
      .map((cc) => `row group ${g} ${cc.meta_data.path_in_schema.join('.')}: ${cc.meta_data.codec}`));
    if (wrongCodec.length)
      problem(null, `${file}: ${wrongCodec.length} column chunks not ${wantCodec}, first ${wrongCodec[0]}`);
    if (schemaNames.length !== cols.length) problem(null, `${file}: ${schemaNames.length} leaf columns, expected ${cols.length}`);
    const duck = new DuckFile();
    let t = performance.now();
    await duck.open(file);
    secs.duckdb += (performance.now() - t) / 1000;
    let rowBase = 0;
    for (const [g, rg] of meta.row_groups.entries()) {
      const n = Number(rg.num_rows);
      t = performance.now();
      const exp = [];
      for (let r = 0; r < n; r++) {
        const line = src.next();
        if (line === null) break;
        exp.push(typedSource(line, `line ${total + r + 1}`));
      }
      sourceSecs += (performance.now() - t) / 1000;
      if (exp.length < n)
        problem(null, `${file} row group ${g}: holds ${n} rows but the source ends after ${exp.length} more:` +
          ` the files hold rows that the source does not (extra or duplicated rows)`);
      for (const reader of READERS) {
        t = performance.now();
        let got;
        try {
          if (reader === 'duckdb') got = duckNormalise(await duck.take(n), rowBase, file);
          else if (reader === 'arrow-rs') got = arrowRead(bytes, g, file);
          else got = await hyRead(ab, meta, rowBase, rowBase + n);
        } catch (e) {
          problem(reader, `${file} row group ${g}: ${e.message.split('\n')[0]}`);
          got = null;
        }
        secs[reader] += (performance.now() - t) / 1000;
        t = performance.now();
        if (got) {
          if (got[0].length !== n) problem(reader, `${file} row group ${g}: ${got[0].length} rows, metadata says ${n}`);
          compare(reader, got, exp, file, rowBase, total);
          if (reader === 'duckdb')
            for (const id of got[idCol]) {
              if (ids.has(id)) problem(null, `${file}: id ${show(id)} occurs more than once in the run's files`);
              ids.add(id);
            }
        }
        compareSecs += (performance.now() - t) / 1000;
      }
      rowBase += n;
      total += exp.length;
    }
    t = performance.now();
    const rest = await duck.take(1);
    secs.duckdb += (performance.now() - t) / 1000;
    if (rest[0].length) problem('duckdb', `${file}: DuckDB returns more rows than the metadata's ${rowBase}`);
    if (Number(meta.num_rows) !== rowBase) problem(null, `${file}: num_rows ${meta.num_rows}, row groups hold ${rowBase}`);
    fileInfo.push({ file, rows: rowBase, row_groups: meta.row_groups.length, bytes: bytes.length });
  }
  let missing = 0, firstMissing = null;
  for (let line; (line = src.next()) !== null; missing++) if (firstMissing === null) firstMissing = typedSource(line, 'after the files')[idCol];
  if (missing) problem(null, `the files miss ${missing} source rows, from id ${show(firstMissing)} on`);
} finally {
  src.close();
}
const wall = (performance.now() - t0) / 1000;
const summary = {
  codec, rows: total, files: fileInfo,
  readers: Object.fromEntries(READERS.map((r) => [r, { s: secs[r], mismatches: mismatches[r], equal: mismatches[r] === 0 && general.length === 0 }])),
  general_problems: general.length, source_s: sourceSecs, compare_s: compareSecs, wall_s: wall,
  max_rss_mb: process.resourceUsage().maxRSS / 1024,
};
console.log(JSON.stringify(summary));
if (problems.length) {
  for (const p of problems) console.error(p);
  process.exit(1);
}
