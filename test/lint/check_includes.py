#!/usr/bin/env python3
"""Include-graph lint of btexport's source tree (src/), run by test/lint/run.sh.

The folders under src/ are the architecture; every project #include is
path-qualified from the one include root, src/ ("core/s3/sigv4.h").

Layers, lowest first, and what each may include (besides system headers):

  core/      plain-C cores (common, s3, format, btql, ...): core only.
             Never a PostgreSQL header (postgres.h or anything from the
             server include directory): cores report errors as values and
             are built without PostgreSQL into unit tests and fuzz targets.
  adapters/  turn cores into PostgreSQL objects and errors (object store,
             format writer, BTQL glue, automation decoding, GUCs, _PG_init):
             core, adapters.
  run/       one export run (launch, worker, export loop, keys, history,
             cleanup): core, adapters, run.
  api/       the SQL-callable surface: everything.

Rules checked (each a separate check in the summary):
  (a) no PostgreSQL header in src/core/**
  (b) no upward include: a file includes only its own layer and the layers
      below it, as listed above; every file lives in one of the layers
  (c) no include cycle between files
  (d) every PostgreSQL-facing .c file (adapters, run, api) includes
      "adapters/btexport.h" first: postgres.h and the PostgreSQL >= 15 guard
  (e) every project include is path-qualified from src/ (no bare "sigv4.h"
      that only resolves through an extra -I or the including file's folder)

usage: check_includes.py [--src DIR]       check a tree, exit 1 on a violation
       check_includes.py --self-test DIR   negative controls on fake trees, then
                                           check DIR; prints "N passed, N failed"
"""
import os
import re
import subprocess
import sys
import tempfile

LAYERS = ["core", "adapters", "run", "api"]
ALLOWED = {
    "core": {"core"},
    "adapters": {"core", "adapters"},
    "run": {"core", "adapters", "run"},
    "api": {"core", "adapters", "run", "api"},
}
GUARD = "adapters/btexport.h"
# PostgreSQL server headers, also when pg_config is not at hand
PG_TOP = {"postgres.h", "postgres_fe.h", "postgres_ext.h", "c.h", "fmgr.h", "funcapi.h",
          "miscadmin.h", "pgstat.h", "pgtime.h", "pg_config.h", "pg_config_manual.h",
          "port.h", "windowapi.h", "plpgsql.h"}
PG_DIRS = {"access", "bootstrap", "catalog", "commands", "common", "datatype", "executor",
           "foreign", "jit", "lib", "libpq", "mb", "nodes", "optimizer", "parser",
           "partitioning", "port", "portability", "postmaster", "regex", "replication",
           "rewrite", "snowball", "statistics", "storage", "tcop", "tsearch", "utils"}
INCLUDE_RE = re.compile(r'^[ \t]*#[ \t]*include[ \t]*([<"])([^>"]+)[>"]', re.M)
COMMENT_RE = re.compile(r'/\*.*?\*/|//[^\n]*', re.S)


def server_include_dir():
    try:
        out = subprocess.run([os.environ.get("PG_CONFIG", "pg_config"), "--includedir-server"],
                             capture_output=True, text=True, check=True).stdout.strip()
        return out if os.path.isdir(out) else None
    except (OSError, subprocess.CalledProcessError):
        return None


def is_pg_header(name, server_dir):
    if name in PG_TOP or ("/" in name and name.split("/")[0] in PG_DIRS):
        return True
    return bool(server_dir) and os.path.isfile(os.path.join(server_dir, name))


def includes_of(path):
    with open(path, encoding="utf-8", errors="replace") as f:
        text = COMMENT_RE.sub(lambda m: "\n" * m.group(0).count("\n"), f.read())
    for m in INCLUDE_RE.finditer(text):
        yield text.count("\n", 0, m.start()) + 1, m.group(1), m.group(2)


def check(src):
    """Returns {rule: [violation, ...]} for the tree under src."""
    src = os.path.abspath(src)
    server_dir = server_include_dir()
    files = []
    for d, _, names in os.walk(src):
        files += [os.path.relpath(os.path.join(d, n), src) for n in names if n.endswith((".c", ".h"))]
    files.sort()
    basenames = {os.path.basename(f) for f in files if f.endswith(".h")}
    v = {r: [] for r in "abcde"}
    graph = {f: [] for f in files}
    for f in files:
        layer = f.split(os.sep)[0] if os.sep in f else None
        if layer not in LAYERS:
            v["b"].append(f"{f}: not in a layer folder ({', '.join(LAYERS)})")
            continue
        first = None
        for line, kind, name in includes_of(os.path.join(src, f)):
            where = f"{f}:{line}: #include {kind}{name}{'>' if kind == '<' else kind}"
            if first is None:
                first = name
            if os.path.isfile(os.path.join(src, name)):
                target = os.path.normpath(name)
                graph[f].append(target)
                tl = target.split(os.sep)[0]
                if tl not in ALLOWED[layer]:
                    v["b"].append(f"{where}: {layer}/ may not include {tl}/ "
                                  f"(allowed: {', '.join(sorted(ALLOWED[layer]))})")
                continue
            if kind == '"' and (os.path.isfile(os.path.join(src, os.path.dirname(f), name))
                                or os.path.basename(name) in basenames):
                v["e"].append(f"{where}: project header not path-qualified from src/")
                continue
            if layer == "core" and is_pg_header(name, server_dir):
                v["a"].append(f"{where}: PostgreSQL header in a core")
        if f.endswith(".c") and layer != "core" and first != GUARD:
            v["d"].append(f'{f}: first #include must be "{GUARD}" (found {first or "none"})')
    v["c"] = [" -> ".join(c + [c[0]]) for c in cycles(graph)]
    return v


def cycles(graph):
    """Strongly connected components with a cycle (Tarjan), each as a file list."""
    index, low, stack, on, out = {}, {}, [], set(), []

    def visit(n):
        index[n] = low[n] = len(index)
        stack.append(n)
        on.add(n)
        for m in graph.get(n, []):
            if m not in index:
                visit(m)
                low[n] = min(low[n], low[m])
            elif m in on:
                low[n] = min(low[n], index[m])
        if low[n] == index[n]:
            comp = []
            while True:
                m = stack.pop()
                on.discard(m)
                comp.append(m)
                if m == n:
                    break
            if len(comp) > 1 or n in graph.get(n, []):
                out.append(sorted(comp))

    sys.setrecursionlimit(10000)
    for n in sorted(graph):
        if n not in index:
            visit(n)
    return out


RULES = {
    "a": "no PostgreSQL header in src/core",
    "b": "no upward include between layers",
    "c": "no include cycle",
    "d": "PostgreSQL-facing .c files include adapters/btexport.h first",
    "e": "project includes are path-qualified from src/",
}


def report(src):
    v = check(src)
    for r in "abcde":
        for line in v[r]:
            print(f"  ({r}) {line}")
    return v


# ---- negative controls: fake trees, each with one violation -------------
CLEAN = {
    "core/common/buf.h": "#include <stddef.h>\n",
    "core/s3/s3.h": '#include "core/common/buf.h"\n',
    "core/s3/s3.c": '#include "core/s3/s3.h"\n#include <string.h>\n',
    "adapters/btexport.h": '#include "postgres.h"\n',
    "adapters/store.c": '#include "adapters/btexport.h"\n#include "utils/guc.h"\n#include "core/s3/s3.h"\n',
    "run/run.h": '#include "adapters/btexport.h"\n',
    "run/run.c": '#include "adapters/btexport.h"\n#include "run/run.h"\n',
    "api/api.c": '#include "adapters/btexport.h"\n#include "run/run.h"\n/* #include "nothing/here.h" */\n',
}
BROKEN = [
    ("a", "postgres.h in a core", {"core/s3/s3.c": '#include "postgres.h"\n#include "core/s3/s3.h"\n'}),
    ("a", "server header in a core", {"core/s3/s3.c": '#include "utils/palloc.h"\n'}),
    ("b", "core includes adapters", {"core/s3/s3.c": '#include "adapters/btexport.h"\n'}),
    ("b", "adapters include run", {"adapters/store.c": '#include "adapters/btexport.h"\n#include "run/run.h"\n'}),
    ("b", "run includes api", {"api/api.h": "\n", "run/run.c": '#include "adapters/btexport.h"\n#include "api/api.h"\n'}),
    ("b", "file outside the layers", {"misc.c": "\n"}),
    ("c", "include cycle", {"core/s3/s3.h": '#include "core/s3/x.h"\n', "core/s3/x.h": '#include "core/s3/s3.h"\n'}),
    ("d", "run file without the guard header first", {"run/run.c": '#include "postgres.h"\n#include "run/run.h"\n'}),
    ("e", "bare project include", {"core/s3/s3.c": '#include "s3.h"\n'}),
]


def make_tree(root, files):
    for rel, text in files.items():
        p = os.path.join(root, rel)
        os.makedirs(os.path.dirname(p), exist_ok=True)
        with open(p, "w") as f:
            f.write(text)


def run_cli(src):
    r = subprocess.run([sys.executable, os.path.abspath(__file__), "--src", src],
                       capture_output=True, text=True)
    return r.returncode, r.stdout + r.stderr


def self_test(real_src):
    passed = failed = 0

    def result(ok, name, detail=""):
        nonlocal passed, failed
        print(f"{'ok' if ok else 'not ok'} - {name}")
        if not ok and detail:
            print("    " + detail.strip().replace("\n", "\n    "))
        passed += ok
        failed += not ok

    with tempfile.TemporaryDirectory() as tmp:
        clean = os.path.join(tmp, "clean")
        make_tree(clean, CLEAN)
        rc, out = run_cli(clean)
        result(rc == 0, "negative control baseline: a clean fake tree passes", out)
        for i, (rule, name, change) in enumerate(BROKEN):
            d = os.path.join(tmp, f"broken{i}")
            make_tree(d, {**CLEAN, **change})
            rc, out = run_cli(d)
            result(rc == 1 and f"({rule})" in out,
                   f"negative control: {name} fails with rule ({rule})", out)
    v = report(real_src)
    for r in "abcde":
        result(not v[r], f"src/: ({r}) {RULES[r]}")
    print(f"{passed} passed, {failed} failed")
    return 0 if failed == 0 else 1


def main(argv):
    if len(argv) == 3 and argv[1] == "--self-test":
        return self_test(argv[2])
    if len(argv) == 3 and argv[1] == "--src":
        v = report(argv[2])
        bad = sum(len(x) for x in v.values())
        print(f"{bad} include-graph violation(s)" if bad else "include graph ok")
        return 1 if bad else 0
    print(__doc__, file=sys.stderr)
    return 2


if __name__ == "__main__":
    sys.exit(main(sys.argv))
