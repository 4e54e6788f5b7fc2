"""The hostile-input corpus (issue 12; docs/security.md "Hostile input"): values a hostile but
ordinary btexport_user may pass to any text argument of btexport's API, and values aimed at the
arguments that parse something (S3 paths and prefixes, ARNs, ExternalIds, header values, BTQL,
JSON events).  test/integration/test_hostile.py runs every API entry point against them.

Each entry is (label, value).  No value contains NUL (PostgreSQL text cannot); everything else
is fair: control characters, invalid-looking but valid UTF-8, huge strings, deep nesting.
The BTQL sizes are those of issue 12's finding 1 (50000-segment paths took 23.8 GB before the
compiler was bounded)."""

import hashlib

MB = 1 << 20
# 20 KB of hex digits that do not compress (an index entry must hold them whole)
INCOMPRESSIBLE = "".join(hashlib.md5(str(i).encode()).hexdigest() for i in range(625))
BTQL_DEPTH = 10_000
BTQL_SEGMENTS = 50_000

CONTROL = "".join(chr(c) for c in range(1, 32)) + "\x7f"

# any text argument
GENERIC = [
    ("empty", ""),
    ("space", " "),
    ("whitespace", " \t\r\n "),
    ("control characters", "a" + CONTROL + "b"),
    ("newline log forgery", "x\n2026-01-01 00:00:00 UTC [1] LOG:  forged line"),
    ("sql injection quote", "'; DROP TABLE btexport.logs; --"),
    ("sql injection dollar", "$$; DROP TABLE btexport.logs; $$"),
    ("sql injection identifier", '"; DROP TABLE btexport.logs; --'),
    ("format string", "%s%s%s%n%x%p%%"),
    ("backslashes", "\\\\x00\\u0000\\"),
    ("path traversal", "../../../../etc/passwd"),
    ("dot segments", "./a/../b/./"),
    ("unicode rtl override", "evil\u202etxt.exe"),
    ("unicode combining", "e\u0301" * 100),
    ("unicode fullwidth", "\uff41\uff42\uff43"),
    ("unicode emoji", "\U0001F600" * 500),
    ("unicode bom", "\ufeffname"),
    ("unicode nonchar", "\uffff\U0010FFFF"),
    ("number-like", "20"),
    ("negative number-like", "-1"),
    ("huge number-like", "99999999999999999999999999"),
    ("float-like", "1e400"),
    ("uuid-like", "00000000-0000-4000-8000-000000000000"),
    ("uuid-like upper", "ABCDEFAB-0000-4000-8000-000000000000"),
    ("null word", "NULL"),
    ("json", '{"a": [1, 2, {"b": null}]}'),
    ("long 10 KB", "x" * 10_000),
    ("long incompressible 3 KB", INCOMPRESSIBLE[:3000]),
    ("long 1 MB", "y" * MB),
    ("huge 8 MB", "z" * (8 * MB)),
    ("huge multibyte 4 MB", "\u00e9" * (2 * MB)),
]

# arguments that parse an S3 path, an ARN, an ExternalId, a region, an endpoint, a size, a key id
PARSED = [
    ("s3 path traversal", "s3://bucket-one/a/../../b/"),
    ("s3 path dot", "s3://bucket-one/./a/"),
    ("s3 path no bucket", "s3:///prefix/"),
    ("s3 path query string", "s3://bucket-one/p?x=1&y=2#frag"),
    ("s3 path header injection", "s3://bucket-one/p\r\nX-Amz-Acl: public-read\r\n/"),
    ("s3 path percent", "s3://bucket-one/%2e%2e/%00/"),
    ("s3 path userinfo", "s3://user:pass@bucket-one/p/"),
    ("s3 path ip bucket", "s3://192.168.1.1/p/"),
    ("s3 path long prefix", "s3://bucket-one/" + "a/" * 2000),
    ("arn injection", "arn:aws:iam::123456789012:role/x\r\nHost: evil"),
    ("arn unicode", "arn:aws:iam::123456789012:role/\u0440\u043e\u043b\u044c"),
    ("external id unicode", "bt:\u00f6rg:1"),
    ("external id header", "ok\r\nX-Evil: 1"),
    ("external id long", "e" * 1225),
    ("endpoint metadata", "http://169.254.169.254"),
    ("endpoint path", "https://evil.example.com/path"),
    ("endpoint userinfo", "https://user@evil.example.com"),
    ("endpoint file", "file:///etc/passwd"),
    ("endpoint gopher", "gopher://127.0.0.1:25"),
    ("endpoint port", "https://evil.example.com:99999"),
    ("region header", "us-east-1\r\nX-Evil: 1"),
    ("size negative", "-16MB"),
    ("size huge", "9999999999999PB"),
    ("kms key header", "alias/x\r\nX-Evil: 1"),
    ("cron injection", "* * * * *; rm -rf /"),
]

# BTQL text (query / explain / create_automation's query)
BTQL = [
    ("btql empty", ""),
    ("btql garbage", "\x01\x02\x03 | | |"),
    ("btql deep parentheses", "select: * | from: project_logs('p') | filter: " + "(" * BTQL_DEPTH + "1" + ")" * BTQL_DEPTH),
    ("btql deep not", "select: * | from: project_logs('p') | filter: " + "not " * BTQL_DEPTH + "true"),
    ("btql long path", "select: metadata" + ".a" * BTQL_SEGMENTS + " | from: project_logs('p')"),
    ("btql long index chain", "select: metadata" + "[0]" * BTQL_SEGMENTS + " | from: project_logs('p')"),
    ("btql many terms", "select: * | from: project_logs('p') | filter: " + " or ".join(["id = 'x'"] * 2000)),
    ("btql many columns", "select: " + ", ".join(f"id as c{i}" for i in range(900)) + " | from: project_logs('p')"),
    ("btql too many columns", "select: " + ", ".join(f"id as c{i}" for i in range(1001)) + " | from: project_logs('p')"),
    ("btql injection string", "select: * | from: project_logs('p') | filter: id = 'x''; DROP TABLE btexport.logs; --'"),
    ("btql injection identifier", 'select: "a"";DROP TABLE btexport.logs;--" | from: project_logs(\'p\')'),
    ("btql sql syntax injection", "SELECT * FROM project_logs('p') WHERE 1=1; DROP TABLE btexport.logs"),
    ("btql unterminated string", "select: * | from: project_logs('p) | filter: id = 'x"),
    ("btql huge literal", "select: * | from: project_logs('p') | filter: id = '" + "q" * MB + "'"),
    ("btql unicode identifiers", "select: metadata.\u0440\u043e\u043b\u044c | from: project_logs('\u0440')"),
    ("btql other project id", "select: * | from: project_logs('00000000-0000-4000-8000-000000000000')"),
    ("btql huge limit", "select: * | from: project_logs('p') | limit: 999999999999999999999"),
    ("btql negative limit", "select: * | from: project_logs('p') | limit: -1"),
]


def _nest(depth, open_, close, inner="1"):
    return open_ * depth + inner + close * depth


# JSON events (log / log_text)
EVENTS = [
    ("events not json", "{not json"),
    ("events scalar", "42"),
    ("events deep array", _nest(10_000, "[", "]")),
    ("events deep object", '{"id": "d", "metadata": ' + _nest(5_000, '{"a": ', "}") + "}"),
    ("events nul escape", '{"id": "n", "input": "a\\u0000b"}'),
    ("events lone surrogate", '{"id": "s", "input": "\\ud800"}'),
    ("events huge id", '{"id": "' + INCOMPRESSIBLE + '"}'),
    ("events huge root_span_id", '{"id": "r", "root_span_id": "' + INCOMPRESSIBLE + '"}'),
    ("events huge number", '{"id": "h", "metrics": {"start": 1e400}}'),
    ("events tiny number", '{"id": "t", "scores": {"a": 1e-400}}'),
    ("events many keys", "{" + ", ".join(f'"k{i}": {i}' for i in range(20_000)) + "}"),
    ("events duplicate keys", '{"id": "x", "id": "y", "_is_merge": true, "_is_merge": "yes"}'),
    ("events many events", "[" + ", ".join('{"input": %d}' % i for i in range(20_000)) + "]"),
    ("events jsonl garbage", "{}\n\x01\x02\n[\n{\"id\": 1}\n"),
    ("events huge string", '{"id": "b", "input": "' + "w" * (8 * MB) + '"}'),
    ("events unsupported", '{"id": "u", "_object_delete": true, "_parent_id": "p"}'),
    ("events bad created", '{"id": "c", "created": "now"}'),
    ("events created infinity", '{"id": "c", "created": "infinity"}'),
]

# integer / bigint / timestamp / interval arguments
BIGINTS = ["-1", "0", "9223372036854775807", "-9223372036854775808"]
INTS = ["-1", "0", "2147483647", "-2147483648"]
INTERVALS = ["-1 day", "1000000 years", "0"]
TIMESTAMPS = ["infinity", "-infinity", "4713-01-01 BC", "294276-12-31"]
