#!/usr/bin/env python3
"""Queries at the compiler's limits (btql.h, docs/btql.md "Limits"), one file each in the
directory given: test/btql/run.sh compiles and executes every one that compiles (btqlc exec),
so the SQL the compiler accepts at its limits must also run in PostgreSQL (no "stack depth
limit exceeded", no "target lists can have at most 1664 entries").  Prints the file count."""
import os
import sys

P = "from: project_logs('support-bot')"
Q = {
    "path_256_select": "select: metadata" + ".a" * 255 + " as v | " + P,
    "path_256_index_filter": "select: id | " + P + " | filter: metadata" + "[0]" * 255 + " = 1",
    "path_256_quoted_sql": "SELECT id FROM project_logs('support-bot') WHERE metadata" + '."q"' * 255 + " IS NULL",
    "path_256_traces": "select: id | " + P + " traces | filter: input" + ".messages[0]" * 127 + ".x = 'a'",
    "or_chain_999": "select: id | " + P + " | filter: " + " or ".join(["id = 'r1'"] * 999),
    "and_chain_999_summary": "select: id | " + P + " summary | filter: " + " and ".join(["created > '2000-01-01'"] * 999),
    "sum_chain_999": "select: " + " + ".join(["1"] * 1000) + " as x | " + P,
    "concat_chain_999": "select: " + " - ".join(["metrics.start"] * 1000) + " as x | " + P,
    "parens_119": "select: " + "(" * 118 + "metrics.end" + ")" * 118 + " as x | " + P,
    "not_118": "select: id | " + P + " | filter: " + "NOT " * 118 + "is_root",
    "in_list_256": "select: id | " + P + " | filter: id IN [" + ", ".join("'r%d'" % i for i in range(256)) + "]",
    "not_in_list_256_sql": "SELECT id FROM project_logs('support-bot') WHERE metadata.model NOT IN ("
                           + ", ".join("'m%d'" % i for i in range(256)) + ")",
    "conversions_6": "select: " + "to_number(to_string(" * 6 + "metadata.x" + "))" * 6 + " as v | " + P,
    "paths_in_or_100x200": "select: id | " + P + " | filter: "
                           + " or ".join(["metadata" + ".a" * 199 + " = %d" % i for i in range(100)]),
    "items_1000": "select: " + ", ".join("metrics.m%d as c%d" % (i, i) for i in range(1000)) + " | " + P,
    "dimensions_500": "dimensions: " + ", ".join("metadata.d%d as d%d" % (i, i) for i in range(500))
                      + " | measures: count(1) as n | " + P,
    "coalesce_64": "select: coalesce(" + ", ".join("metadata.c%d" % i for i in range(64)) + ") as v | " + P,
    "concat_64": "select: concat(" + ", ".join("id" for i in range(64)) + ") as v | " + P,
    "any_span_2_deep": "select: id | " + P + " traces | filter: ANY_SPAN(ANY_SPAN(metadata" + ".a" * 255 + " = 1))",
    # 12 unpivots under select *: 22 + 24 columns (no rows: the joins multiply)
    "unpivot_12_star": "select: * | " + P + " | filter: id = 'no-such-span' | unpivot: "
                       + ", ".join("scores as (k%d, v%d)" % (i, i) for i in range(12)),
}
os.makedirs(sys.argv[1], exist_ok=True)
for name, q in Q.items():
    with open(os.path.join(sys.argv[1], name + ".btql"), "w") as f:
        f.write(q)
print(len(Q))
