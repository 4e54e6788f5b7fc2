// Writes the edge-case fixtures for run.sh into <dir> and prints the case
// list, one per line: name <TAB> extra pqgen options <TAB> extra readers.mjs options
// usage: node gen.mjs <dir>
import { mkdirSync, writeFileSync } from 'node:fs';

const dir = process.argv[2];
mkdirSync(dir, { recursive: true });
const cases = [];
function add(name, columns, rows, pqopts = '', ropts = '') {
  writeFileSync(`${dir}/${name}.json`, JSON.stringify({ columns, rows }));
  cases.push([name, pqopts, ropts].join('\t'));
}
// deterministic PRNG
let seed = 12345;
const rnd = () => { seed = (seed * 1103515245 + 12345) & 0x7fffffff; return seed / 0x80000000; };
const pick = (a) => a[Math.floor(rnd() * a.length)];

const ALL = [
  { name: 'name', type: 'string' }, { name: 'metadata', type: 'json' }, { name: 'created', type: 'timestamp' },
  { name: 'tokens', type: 'int64' }, { name: 'score', type: 'double' }, { name: 'is_root', type: 'boolean' },
  { name: 'tags', type: 'list' },
];

// 1. a plain mixed table
add('basic', ALL, Array.from({ length: 1000 }, (_, i) => [
  pick(['llm', 'task', 'score', 'tool']), JSON.stringify({ model: pick(['gpt-4o', 'claude']), i }),
  String(1700000000000000 + i * 1000003), String(i * 7 - 300), i / 7, i % 3 === 0, i % 5 === 0 ? null : ['a', 't' + (i % 4)],
]));

// 2. nulls everywhere (all-NULL columns)
add('all_nulls', ALL, Array.from({ length: 300 }, () => ALL.map(() => null)));

// 3. sparse nulls in every column, alternating patterns (RLE/bit-packed mix)
add('sparse_nulls', ALL, Array.from({ length: 2000 }, (_, i) => ALL.map((c, k) => {
  if ((i * (k + 3)) % 11 < (k % 4) + 1 || (i > 500 && i < 530)) return null;
  switch (c.type) {
    case 'string': return 's' + (i % 13);
    case 'json': return '{"k":' + (i % 9) + '}';
    case 'timestamp': return String(i * 1000);
    case 'int64': return String(i % 17);
    case 'double': return (i % 23) / 4;
    case 'boolean': return i % 2 === 0;
    case 'list': return i % 3 ? ['x' + (i % 5)] : [];
  }
})));

// 4. empty strings, empty JSON string, empty lists
add('empty_strings', ALL, Array.from({ length: 50 }, (_, i) => [
  '', '""', '0', '0', 0, false, i % 2 ? [] : [''],
]));

// 5. lists: null / empty / null items / all-null items / long lists
add('lists', [{ name: 'id', type: 'int64' }, { name: 'tags', type: 'list' }], [
  ['1', null], ['2', []], ['3', [null]], ['4', ['a']], ['5', ['b', null, 'c']], ['6', [null, null, null]],
  ['7', Array.from({ length: 10000 }, (_, k) => (k % 10 === 0 ? null : 'tag' + (k % 97)))],
  ['8', []], ['9', null], ['10', ['', '', 'z']],
]);

// 6. non-ASCII text, long strings around the 64-byte stats truncation
const longMulti = 'é'.repeat(40) + 'ü'.repeat(40);          // 2-byte chars across the cut
const longEmoji = '🎉'.repeat(30);                           // 4-byte chars across the cut
const highMax = '\u{10FFFF}'.repeat(30);                     // no byte < 0x7F: max omitted
const asciiLong = 'z'.repeat(100);
add('non_ascii', [{ name: 's', type: 'string' }, { name: 'j', type: 'json' }, { name: 'tags', type: 'list' }], [
  ['héllo wörld', '{"ключ":"значение"}', ['日本語', '한국어']],
  ['😀 emoji 🎉', '"\\u00e9 é"', ['🎉']],
  [longMulti, '{"a":"' + longEmoji + '"}', [longMulti, longEmoji]],
  ['Z\u0301\u0302 combining', '[1,2,3]', ['ä']],
  [asciiLong, 'null', [asciiLong]],
]);
add('stats_no_max', [{ name: 's', type: 'string' }], [[highMax], [highMax + 'x'], [null]]);
add('stats_long_ascii', [{ name: 's', type: 'string' }], [['a'.repeat(70)], ['b'.repeat(65) + 'é'], ['~'.repeat(80)]]);

// 7. 1 MB values in every variable-length column
const mb = (ch) => ch.repeat(1 << 20);
add('big_values', [{ name: 's', type: 'string' }, { name: 'j', type: 'json' }, { name: 'tags', type: 'list' }, { name: 'n', type: 'int64' }], [
  ['small', '{}', ['t'], '1'],
  [mb('x'), JSON.stringify({ blob: mb('y') }), [mb('z'), 'short'], '2'],
  ['after', '[]', null, '3'],
  [mb('é').slice(0, 600000), '"' + mb('q') + '"', [mb('🎉').slice(0, 300000)], '4'],
]);

// 8. a single row
add('single_row', ALL, [['one', '{"a":1}', '1', '1', 1.25, true, ['x']]]);

// 9. 100k rows spanning many row groups (small row_group_bytes) and many pages
add('many_row_groups', ALL, Array.from({ length: 100000 }, (_, i) => [
  'span-' + (i % 500), i % 10 === 0 ? null : '{"i":' + i + '}', String(1700000000000000 + i * 1000), String(i),
  i % 97 === 0 ? null : i * 0.5, i % 7 === 0, i % 4 === 0 ? null : ['t' + (i % 3), 'u' + (i % 11)],
]), '--row-group-bytes 262144 --page-rows 3000');
add('row_group_rows_cap', [{ name: 'i', type: 'int64' }, { name: 's', type: 'string' }],
  Array.from({ length: 3 * 1000 + 1 }, (_, i) => [String(i), 'v' + (i % 3)]), '--row-group-rows 1000');

// 10. dictionary fallback: low cardinality first, then high cardinality (fallback mid-chunk)
add('dict_fallback', [{ name: 'id', type: 'string' }, { name: 'n', type: 'int64' }, { name: 'd', type: 'double' }, { name: 'tags', type: 'list' }],
  Array.from({ length: 30000 }, (_, i) => [
    i < 5000 ? 'low-' + (i % 10) : 'unique-' + i + '-' + 'p'.repeat(i % 40),
    String(i < 5000 ? i % 5 : i * 1000003), i < 5000 ? (i % 3) * 1.5 : i / 3,
    i < 5000 ? ['k' + (i % 4)] : ['u' + i, null],
  ]), '--dict-bytes 65536 --page-rows 2000');
add('single_value_dict', [{ name: 's', type: 'string' }, { name: 'n', type: 'int64' }],
  Array.from({ length: 5000 }, () => ['same', '42']));
add('no_dict', ALL.slice(0, 5), Array.from({ length: 500 }, (_, i) => ['n' + (i % 3), '{"a":' + (i % 2) + '}', String(i), String(i % 4), i % 5]), '--no-dict');

// 11. timestamps before 1970 and far future
add('timestamps', [{ name: 'ts', type: 'timestamp' }], [
  ['0'], ['-1'], ['1'], ['-62135596800000000'] /* 0001-01-01 */, ['253402300799999999'] /* 9999-12-31 23:59:59.999999 */,
  ['-2208988800000000'] /* 1900 */, ['946684800000000'] /* 2000 */, [null], ['4102444800123456'] /* 2100 */,
]);

// 12. int64 extremes
add('int64_extremes', [{ name: 'n', type: 'int64' }], [
  ['-9223372036854775808'], ['9223372036854775807'], ['0'], ['-1'], [null], ['9007199254740993'], ['-9007199254740993'],
]);

// 13. doubles: ±0, NaN, ±inf, extremes (all three readers agree on these)
add('doubles_special', [{ name: 'd', type: 'double' }, { name: 'z', type: 'double' }, { name: 'inf', type: 'double' }], [
  ['nan', '-0', 'inf'], ['-0', '0', '-inf'], ['inf', '-0', '1'], ['-inf', null, null], [5e-324, '-0', 'inf'],
  [1.7976931348623157e308, '0', '-inf'], [-2.5, '-0', '0'], [null, '0', '2'],
]);

// 14. booleans
add('booleans', [{ name: 'all_t', type: 'boolean' }, { name: 'all_f', type: 'boolean' }, { name: 'mix', type: 'boolean' }],
  Array.from({ length: 1001 }, (_, i) => [true, false, i % 5 === 0 ? null : i % 3 === 0]));

// 15. more than 14 columns (long-form Thrift list headers) and key-value metadata
const wide = Array.from({ length: 20 }, (_, k) => ({ name: 'c' + k, type: ['string', 'int64', 'double', 'boolean', 'list'][k % 5] }));
add('wide', wide, Array.from({ length: 100 }, (_, i) => wide.map((c, k) => {
  if ((i + k) % 9 === 0) return null;
  return { string: 'v' + i, int64: String(i * k), double: i + k / 10, boolean: (i + k) % 2 === 0, list: ['e' + k] }[c.type];
})), '--kv btexport.version=1.0 --kv export_id=abc');

// 16. small pages: many pages per chunk with nulls and lists at page edges
add('tiny_pages', ALL, Array.from({ length: 997 }, (_, i) => ALL.map((c) => {
  if (i % 13 === 5) return null;
  return { string: 'p' + (i % 6), json: '{"p":' + (i % 6) + '}', timestamp: String(i), int64: String(i % 6), double: i % 6, boolean: i % 2 === 1, list: i % 3 ? ['a', null] : [] }[c.type];
})), '--page-rows 7');

// 17. JSON annotated as STRING
add('json_as_string', [{ name: 'j', type: 'json' }], [['{"a":1}'], [null], ['[1,"x"]']], '--json-as-string', '--json-as-string');

// 18. random values (seeded)
const rcols = Array.from({ length: 8 }, (_, k) => ({ name: 'r' + k, type: ALL[Math.floor(rnd() * ALL.length)].type }));
const rstr = () => Array.from({ length: Math.floor(rnd() * 20) }, () => pick(['a', 'b', 'é', '🎉', ' ', '"', '\\', '\n', 'z'])).join('');
add('random', rcols, Array.from({ length: 3000 }, () => rcols.map((c) => {
  if (rnd() < 0.2) return null;
  switch (c.type) {
    case 'string': return rstr();
    case 'json': return JSON.stringify({ s: rstr(), n: Math.floor(rnd() * 100) });
    case 'timestamp': return String(Math.floor((rnd() - 0.5) * 2e17));
    case 'int64': return String(BigInt(Math.floor((rnd() - 0.5) * 2 ** 52)) * 1000n);
    case 'double': return (rnd() - 0.5) * 1e6;
    case 'boolean': return rnd() < 0.5;
    case 'list': return rnd() < 0.1 ? [] : Array.from({ length: Math.floor(rnd() * 4) + 1 }, () => (rnd() < 0.2 ? null : rstr()));
  }
})), '--page-rows 211 --row-group-rows 1000');

console.log(cases.join('\n'));
