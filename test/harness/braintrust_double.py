"""Braintrust API test double for btexport's remote-source tests.

A TEST DOUBLE: no real Braintrust API can run here (it is a hosted service; the
self-hosted data plane is not available offline), so this stands in for the parts
btexport talks to.  Python 3 standard library only.  It does NOT use btexport's BTQL
compiler: it parses the query forms btexport sends with its own small parser, so the
client is never tested against itself.

What it implements (see docs/braintrust-source.md for the client side):
  POST /api/apikey/login          Authorization: Bearer <key> -> {"org_info": [...]}
                                  keys: sk-acme (org acme), sk-multi (acme + globex),
                                  sk-globex (globex); unknown key -> 401 {"Message": ...}
                                  org acme's api_url is this server, globex's is this server
                                  + "/globex" (a data plane URL with a path).
  GET  /v1/project?project_name=N[&org_name=O]  -> {"objects": [projects visible to the key]}
  POST /btql                      {"query": <BTQL text>, "fmt": "json", ...}
                                  text in clause syntax, lines or " | ":
                                    select: * | a, b.c [AS x]  from: project_logs('<id>') [spans]
                                    (a column is named by its alias, else its path's last segment)
                                    filter: <expr>             sort: _pagination_key|_xact_id [asc|desc]
                                    limit: <n <= 1000>
                                  filter expressions: or / and / not, parentheses, comparisons
                                  (= != <> > >= < <=) of a field path with a literal ('...' with ''
                                  for a quote, numbers, true/false/null), IS [NOT] NULL, bare
                                  boolean paths.  Anything else: 400 text/plain with the reason.
                                  -> {"data": rows, "schema": ..., "cursor": null,
                                      "freshness_state": {"last_considered_xact_id",
                                                          "last_processed_xact_id"}}
                                  gzip when the request accepts it (and gzip is on).
  Row store, applied as Braintrust applies log rows (test/data/sdk-events/README.md): rows
  keyed by id per project; a row without _is_merge (or false) replaces (keeping created and the
  span ids when it has none), _is_merge: true deep-merges objects key by key (other values,
  arrays and null included, replace; at the top level created stays and tags are a set union); a row
  written without span_id gets one (and root_span_id = span_id), as Braintrust's server does;
  _audit_source/_audit_metadata are dropped; every write is one transaction with the next
  _xact_id (16 digits, increasing); a new row gets the next _pagination_key ("p" + 12
  digits); an update keeps its key unless update_changes_key (config, or per update);
  a delete writes a version {id, _object_delete: true}.  Queries see each row's newest
  version whose _xact_id <= the processed watermark (freshness): with the index on hold,
  new versions stay invisible until POST /control/process.  Deleted rows are returned
  (with _object_delete) when deletes_visible (default), else hidden.
  The SDK capture (--sdk-events FILE) is loaded into project "sdk-capture"
  (0b6f3a52-8f5e-4c1a-b1d2-3e4f5a6b7c8d, org acme), one transaction per line in file order.

Control API (JSON in, JSON out; no authorization):
  GET  /control/health                  {"ok": true}
  POST /control/reset                   {} -> store, faults, config and log back to the start
  POST /control/config                  {"gzip", "deletes_visible", "update_changes_key",
                                         "login_api_url" (the api_url every login returns; null =
                                         this server, as seen by the client)}
  POST /control/keys                    {"<api key>": ["acme", ...]}: more keys and their orgs
  POST /control/project                 {"name", "org", "id"?} -> {"id"}
  POST /control/rows                    {"project_id", "rows": [...]} applied in order -> {"xact_ids"}
  POST /control/update                  {"project_id", "id", "patch": {...}, "change_key"?}
  POST /control/delete                  {"project_id", "ids": [...]}
  POST /control/generate                {"project_id", "traces", "spans", "seed"} -> {"ids"}
  POST /control/freshness               {"hold": true|false}; POST /control/process (catch up)
  POST /control/faults                  {"faults": [rule, ...]} replaces the rules; a rule:
        {"kind": "429"|"500"|"502"|"503"|"504"|"400"|"reset"|"slow"|"huge"|"redirect",
         "path": "btql"|"login"|"project"|"any" (default btql), "count": n (default 1,
         -1 = always), "after": k (skip the first k matching requests), "rate": p (with
         "seed": random share of matching requests), "retry_after": "5" or "date:+5",
         "above_limit": n (only when the query's limit > n), "delay": seconds (slow),
         "bytes": n (huge, default 11 MB), "gzip": bool (huge compressed)}
  GET  /control/requests[?since=N]      the request log: {t (monotonic s), method, path, host,
                                        status, fault, limit, query, gzip}
  GET  /control/rows?project_id=P       current visible rows (what a full read must return)
  GET  /control/versions?project_id=P   every version written: [{id, _xact_id, deleted, visible}]

usage: python3 braintrust_double.py [--port N] [--sdk-events FILE]
       prints "ready <port>" when listening; exits when its parent does.
"""
import argparse
import copy
import email.utils
import gzip
import json
import os
import random
import re
import socket
import struct
import sys
import threading
import time
import urllib.parse
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

SDK_PROJECT = "0b6f3a52-8f5e-4c1a-b1d2-3e4f5a6b7c8d"
XACT_BASE = 1000192837000000
ORGS = {"acme": "7d1e5c90-2f4b-4a8e-b1c3-9e6f0a2d4b71", "globex": "4c2a9b17-0e6d-4f3a-8b5c-1d2e3f4a5b6c"}
KEYS = {"sk-acme": ["acme"], "sk-multi": ["acme", "globex"], "sk-globex": ["globex"]}


class BtqlError(Exception):
    pass


# ---------------------------------------------------------------- the BTQL subset

TOKEN_RE = re.compile(r"""\s*(?:
    (?P<str>'(?:[^']|'')*') |
    (?P<num>-?\d+(?:\.\d+)?(?:[eE][-+]?\d+)?) |
    (?P<op><>|!=|>=|<=|=|>|<|\(|\)|,|\.|\*) |
    (?P<word>[A-Za-z_][A-Za-z0-9_]*)
)""", re.X)


def tokenize(text):
    toks, pos = [], 0
    text = text.rstrip()
    while pos < len(text):
        m = TOKEN_RE.match(text, pos)
        if not m or m.end() == pos:
            raise BtqlError("unexpected character %r at %d" % (text[pos:pos + 10], pos))
        pos = m.end()
        kind = m.lastgroup
        val = m.group(kind)
        if kind == "str":
            val = val[1:-1].replace("''", "'")
        elif kind == "num":
            val = float(val) if any(c in val for c in ".eE") else int(val)
        toks.append((kind, val))
    return toks


class Parser:
    def __init__(self, toks):
        self.toks, self.i = toks, 0

    def peek(self, k=0):
        return self.toks[self.i + k] if self.i + k < len(self.toks) else (None, None)

    def word(self, w):
        kind, val = self.peek()
        if kind == "word" and val.lower() == w:
            self.i += 1
            return True
        return False

    def op(self, o):
        kind, val = self.peek()
        if kind == "op" and val == o:
            self.i += 1
            return True
        return False

    def expect_op(self, o):
        if not self.op(o):
            raise BtqlError("expected %r at token %d" % (o, self.i))

    def path(self):
        kind, val = self.peek()
        if kind != "word":
            raise BtqlError("expected a field name at token %d" % self.i)
        self.i += 1
        parts = [val]
        while self.op("."):
            kind, val = self.peek()
            if kind != "word":
                raise BtqlError("expected a field name after '.'")
            self.i += 1
            parts.append(val)
        return parts

    def literal(self):
        kind, val = self.peek()
        if kind in ("str", "num"):
            self.i += 1
            return val
        if kind == "word" and val.lower() in ("true", "false", "null"):
            self.i += 1
            return {"true": True, "false": False, "null": None}[val.lower()]
        raise BtqlError("expected a literal at token %d" % self.i)

    def expr(self):
        left = self.conj()
        while self.word("or"):
            left = ("or", left, self.conj())
        return left

    def conj(self):
        left = self.neg()
        while self.word("and"):
            left = ("and", left, self.neg())
        return left

    def neg(self):
        if self.word("not"):
            return ("not", self.neg())
        return self.atom()

    def atom(self):
        if self.op("("):
            e = self.expr()
            self.expect_op(")")
            return e
        p = self.path()
        if self.word("is"):
            negate = self.word("not")
            if not self.word("null"):
                raise BtqlError("expected NULL after IS")
            return ("notnull" if negate else "isnull", p)
        kind, val = self.peek()
        if kind == "op" and val in ("=", "!=", "<>", ">", ">=", "<", "<="):
            self.i += 1
            return ("cmp", "!=" if val == "<>" else val, p, self.literal())
        return ("truthy", p)


def get_path(row, parts):
    v = row
    for p in parts:
        if not isinstance(v, dict) or p not in v:
            return None
        v = v[p]
    return v


def compare(op, a, b):
    if a is None or b is None:
        return (a is b) if op == "=" else (a is not b) if op == "!=" else False
    if isinstance(a, bool) or isinstance(b, bool):
        if not (isinstance(a, bool) and isinstance(b, bool)):
            return False
    elif isinstance(a, (int, float)) != isinstance(b, (int, float)):
        return False
    try:
        return {"=": a == b, "!=": a != b, ">": a > b, ">=": a >= b, "<": a < b, "<=": a <= b}[op]
    except TypeError:
        return False


def evaluate(e, row):
    k = e[0]
    if k == "or":
        return evaluate(e[1], row) or evaluate(e[2], row)
    if k == "and":
        return evaluate(e[1], row) and evaluate(e[2], row)
    if k == "not":
        return not evaluate(e[1], row)
    if k == "isnull":
        return get_path(row, e[1]) is None
    if k == "notnull":
        return get_path(row, e[1]) is not None
    if k == "truthy":
        return get_path(row, e[1]) is True
    return compare(e[1], get_path(row, e[2]), e[3])


def split_clauses(text):
    """{name: body} from clause syntax: newline- or '|'-separated, '|' in strings kept."""
    pieces, cur, quote = [], [], False
    for ch in text:
        if ch == "'":
            quote = not quote
        if not quote and ch in "|\n":
            pieces.append("".join(cur))
            cur = []
        else:
            cur.append(ch)
    pieces.append("".join(cur))
    clauses = {}
    for p in pieces:
        if not p.strip():
            continue
        m = re.match(r"\s*([a-z_]+)\s*:(.*)$", p, re.S)
        if not m:
            raise BtqlError("not a clause: %r" % p.strip()[:60])
        name = m.group(1)
        if name in clauses:
            raise BtqlError("clause %s given twice" % name)
        if name not in ("select", "from", "filter", "sort", "limit"):
            raise BtqlError("clause %s is not supported by this double" % name)
        clauses[name] = m.group(2).strip()
    return clauses


def parse_query(text):
    if not isinstance(text, str):
        raise BtqlError("query must be BTQL text")
    c = split_clauses(text)
    if "from" not in c:
        raise BtqlError("a query needs from:")
    m = re.fullmatch(r"project_logs\(\s*'([0-9a-fA-F-]{36})'\s*\)(\s+spans)?", c["from"])
    if not m:
        raise BtqlError("unsupported from: %r" % c["from"][:80])
    q = {"project": m.group(1), "select": None, "filter": None, "sort": None, "limit": None}
    sel = c.get("select", "*")
    if sel.strip() != "*":
        q["select"] = []
        names = set()
        for item in sel.split(","):
            item = item.strip()
            m = re.fullmatch(r"([A-Za-z_][A-Za-z0-9_]*(?:\.[A-Za-z_][A-Za-z0-9_]*)*)(?:\s+(?:as|AS)\s+([A-Za-z_][A-Za-z0-9_]*))?",
                             item)
            if not m:
                raise BtqlError("unsupported select item %r" % item)
            path = m.group(1).split(".")
            # BTQL's naming: the alias, else the path's last segment (implicit alias)
            name = m.group(2) or path[-1]
            if name in names:
                raise BtqlError("duplicate alias %r in the select list" % name)
            names.add(name)
            q["select"].append((path, name))
    if "filter" in c:
        p = Parser(tokenize(c["filter"]))
        q["filter"] = p.expr()
        if p.i != len(p.toks):
            raise BtqlError("unexpected %r after the filter expression" % (p.toks[p.i][1],))
    if "sort" in c:
        m = re.fullmatch(r"(_pagination_key|_xact_id)(\s+(asc|desc))?", c["sort"], re.I)
        if not m:
            raise BtqlError("unsupported sort %r" % c["sort"])
        q["sort"] = (m.group(1), (m.group(3) or "asc").lower())
    if "limit" in c:
        if not re.fullmatch(r"\d+", c["limit"]):
            raise BtqlError("limit must be an integer")
        q["limit"] = int(c["limit"])
        if q["limit"] > 1000:
            raise BtqlError("limit must be <= 1000")
    return q


# ---------------------------------------------------------------- the store

def deep_merge(dst, src):
    for k, v in src.items():
        if isinstance(v, dict) and isinstance(dst.get(k), dict):
            deep_merge(dst[k], v)
        else:
            dst[k] = copy.deepcopy(v)


class Store:
    def __init__(self):
        self.lock = threading.RLock()
        self.reset()

    def reset(self):
        self.projects = {}          # id -> {"name", "org"}
        self.versions = {}          # project -> id -> [version dict]
        self.pk_counter = 0
        self.xact = XACT_BASE
        self.processed = XACT_BASE
        self.hold = False
        self.config = {"gzip": True, "deletes_visible": True, "update_changes_key": False, "login_api_url": None}
        self.keys = dict(KEYS)

    def add_project(self, name, org, pid=None):
        pid = pid or "%08x-%04x-4%03x-8%03x-%012x" % (
            random.getrandbits(32), random.getrandbits(16), random.getrandbits(12),
            random.getrandbits(12), random.getrandbits(48))
        self.projects[pid] = {"name": name, "org": org}
        self.versions.setdefault(pid, {})
        return pid

    def next_xact(self):
        self.xact += 1
        if not self.hold:
            self.processed = self.xact
        return str(self.xact)

    def next_pk(self):
        self.pk_counter += 1
        return "p%012d" % self.pk_counter

    def current(self, pid, rid):
        vs = self.versions.get(pid, {}).get(rid)
        return vs[-1] if vs else None

    def write(self, pid, row, change_key=None):
        """Apply one log row (insert/replace or merge) as one transaction."""
        row = dict(row)
        rid = row.get("id")
        if not isinstance(rid, str):
            raise ValueError("a row needs a string id")
        merge = row.pop("_is_merge", False) is True
        row.pop("_audit_source", None)
        row.pop("_audit_metadata", None)
        prev = self.current(pid, rid)
        if prev is not None and prev.get("_object_delete"):
            prev = None
        if merge and prev is not None:
            # top level: created stays, tags are a set union (test/data/sdk-events/README.md)
            new = copy.deepcopy(prev)
            tags = new.get("tags")
            deep_merge(new, {k: v for k, v in row.items() if k != "created"})
            if isinstance(tags, list) and isinstance(row.get("tags"), list):
                new["tags"] = tags + [t for t in row["tags"] if t not in tags]
        else:
            new = copy.deepcopy(row)
            if prev is not None and "created" not in new and "created" in prev:
                new["created"] = prev["created"]
            # a replacement that names no span identity keeps the row's
            if prev is not None and not any(k in new for k in ("span_id", "root_span_id", "span_parents")):
                for k in ("span_id", "root_span_id", "span_parents"):
                    if k in prev:
                        new[k] = copy.deepcopy(prev[k])
        if change_key is None:
            change_key = self.config["update_changes_key"]
        new["_pagination_key"] = prev["_pagination_key"] if prev is not None and not change_key else self.next_pk()
        # Braintrust's rows always have span ids: the server makes them for a row written without
        if not isinstance(new.get("span_id"), str):
            new["span_id"] = "%016x" % random.getrandbits(64)
        if not isinstance(new.get("root_span_id"), str):
            new["root_span_id"] = new["span_id"]
        new["project_id"] = pid
        new["log_id"] = "g"
        new["org_id"] = ORGS[self.projects[pid]["org"]]
        new.setdefault("created", time.strftime("%Y-%m-%dT%H:%M:%S.000Z", time.gmtime()))
        parents = new.get("span_parents")
        new["is_root"] = not parents
        new["_xact_id"] = self.next_xact()
        new.pop("_object_delete", None)
        self.versions[pid].setdefault(rid, []).append(new)
        return new["_xact_id"]

    def delete(self, pid, rid):
        prev = self.current(pid, rid)
        if prev is None or prev.get("_object_delete"):
            raise ValueError("no row %r" % rid)
        v = {"id": rid, "_object_delete": True, "project_id": pid, "log_id": "g",
             "org_id": prev["org_id"], "_pagination_key": prev["_pagination_key"],
             "created": prev.get("created")}
        if self.config["update_changes_key"]:
            v["_pagination_key"] = self.next_pk()
        v["_xact_id"] = self.next_xact()
        self.versions[pid][rid].append(v)
        return v["_xact_id"]

    def visible(self, pid):
        """Each row's newest processed version (deletes per config)."""
        out = []
        for rid, vs in self.versions.get(pid, {}).items():
            cand = [v for v in vs if int(v["_xact_id"]) <= self.processed]
            if not cand:
                continue
            v = cand[-1]
            if v.get("_object_delete") and not self.config["deletes_visible"]:
                continue
            out.append(v)
        return out

    def generate(self, pid, traces, spans, seed):
        rng = random.Random(seed)
        ids = []
        for t in range(traces):
            root_span = "%016x" % rng.getrandbits(64)
            trace_id = "%032x" % rng.getrandbits(128)
            start = 1795560000 + t * 7.0
            for s in range(spans):
                rid = "gen-%d-%d-%d" % (seed, t, s)
                span_id = root_span if s == 0 else "%016x" % rng.getrandbits(64)
                row = {"id": rid, "span_id": span_id, "root_span_id": trace_id,
                       "created": time.strftime("%Y-%m-%dT%H:%M:%S.000Z", time.gmtime(start + s)),
                       "input": {"question": "q%d.%d" % (t, s)}, "output": "answer %d" % rng.randrange(1000),
                       "metadata": {"trace_no": t, "model": rng.choice(["gpt-4o", "gpt-4o-mini"])},
                       "metrics": {"start": start + s, "end": start + s + rng.random(),
                                   "prompt_tokens": rng.randrange(500), "completion_tokens": rng.randrange(200)},
                       "scores": {"quality": round(rng.random(), 3)},
                       "span_attributes": {"name": "root" if s == 0 else "step%d" % s,
                                           "type": "task" if s == 0 else rng.choice(["llm", "tool"])},
                       "tags": ["generated"]}
                if s > 0:
                    row["span_parents"] = [root_span]
                self.write(pid, row)
                ids.append(rid)
        return ids


# ---------------------------------------------------------------- faults and log

class Faults:
    def __init__(self):
        self.lock = threading.Lock()
        self.rules = []

    def set(self, rules):
        with self.lock:
            self.rules = []
            for r in rules:
                r = dict(r)
                r.setdefault("path", "btql")
                r.setdefault("count", 1)
                r.setdefault("after", 0)
                r["_seen"] = 0
                r["_rng"] = random.Random(r.get("seed", 1))
                self.rules.append(r)

    def pick(self, path_kind, limit):
        with self.lock:
            for r in self.rules:
                if r["path"] not in (path_kind, "any") or r["count"] == 0:
                    continue
                if "above_limit" in r and (limit is None or limit <= r["above_limit"]):
                    continue
                r["_seen"] += 1
                if r["_seen"] <= r["after"]:
                    continue
                if "rate" in r and r["_rng"].random() >= r["rate"]:
                    continue
                if r["count"] > 0:
                    r["count"] -= 1
                return r
        return None


STORE = Store()
FAULTS = Faults()
LOG = []
LOG_LOCK = threading.Lock()
T0 = time.monotonic()


def log_request(entry):
    with LOG_LOCK:
        entry["n"] = len(LOG)
        LOG.append(entry)


def seed_default():
    with STORE.lock:
        STORE.reset()
        STORE.add_project("sdk-capture", "acme", SDK_PROJECT)
        STORE.add_project("globex-app", "globex", "5e6f7a8b-9c0d-4e1f-8a2b-3c4d5e6f7a8b")
        if ARGS.sdk_events:
            with open(ARGS.sdk_events, encoding="utf-8") as f:
                for line in f:
                    if line.strip():
                        STORE.write(SDK_PROJECT, json.loads(line))
    FAULTS.set([])
    with LOG_LOCK:
        LOG.clear()


# ---------------------------------------------------------------- HTTP

class Handler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"

    def log_message(self, fmt, *args):
        pass

    def body(self):
        n = int(self.headers.get("Content-Length") or 0)
        return self.rfile.read(n) if n else b""

    def send(self, status, payload, ctype="application/json", headers=None, allow_gzip=True):
        data = payload if isinstance(payload, bytes) else (
            json.dumps(payload).encode() if not isinstance(payload, str) else payload.encode())
        gz = False
        if allow_gzip and STORE.config["gzip"] and "gzip" in (self.headers.get("Accept-Encoding") or ""):
            data = gzip.compress(data)
            gz = True
        self.send_response(status)
        self.send_header("Content-Type", ctype)
        self.send_header("Content-Length", str(len(data)))
        if gz:
            self.send_header("Content-Encoding", "gzip")
        for k, v in (headers or {}).items():
            self.send_header(k, v)
        self.end_headers()
        if self.command != "HEAD":
            self.wfile.write(data)
        return gz

    def reset_connection(self):
        self.connection.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, struct.pack("ii", 1, 0))
        self.connection.close()
        self.close_connection = True

    # -- control
    def control(self, path, q):
        body = self.body()
        arg = json.loads(body) if body else {}
        with STORE.lock:
            if path == "/control/health":
                return {"ok": True}
            if path == "/control/reset":
                seed_default()
                return {"ok": True}
            if path == "/control/config":
                STORE.config.update(arg)
                return STORE.config
            if path == "/control/keys":
                STORE.keys.update({k: list(v) for k, v in arg.items()})
                return {"keys": len(STORE.keys)}
            if path == "/control/project":
                return {"id": STORE.add_project(arg["name"], arg.get("org", "acme"), arg.get("id"))}
            if path == "/control/rows" and self.command == "POST":
                return {"xact_ids": [STORE.write(arg["project_id"], r) for r in arg["rows"]]}
            if path == "/control/update":
                row = dict(arg.get("patch", {}), id=arg["id"], _is_merge=True)
                return {"xact_id": STORE.write(arg["project_id"], row, arg.get("change_key"))}
            if path == "/control/delete":
                return {"xact_ids": [STORE.delete(arg["project_id"], i) for i in arg["ids"]]}
            if path == "/control/generate":
                return {"ids": STORE.generate(arg["project_id"], arg.get("traces", 10), arg.get("spans", 3),
                                              arg.get("seed", 1))}
            if path == "/control/freshness":
                STORE.hold = bool(arg.get("hold"))
                if not STORE.hold:
                    STORE.processed = STORE.xact
                return {"hold": STORE.hold, "processed": str(STORE.processed)}
            if path == "/control/process":
                STORE.processed = STORE.xact
                return {"processed": str(STORE.processed)}
            if path == "/control/faults":
                FAULTS.set(arg.get("faults", []))
                return {"ok": True}
            if path == "/control/requests":
                since = int(q.get("since", ["0"])[0])
                with LOG_LOCK:
                    return {"requests": LOG[since:]}
            if path == "/control/rows" and self.command == "GET":
                return {"rows": STORE.visible(q["project_id"][0])}
            if path == "/control/versions":
                pid = q["project_id"][0]
                vis = {(v["id"], v["_xact_id"]) for v in STORE.visible(pid)}
                return {"versions": [{"id": v["id"], "_xact_id": v["_xact_id"],
                                      "deleted": bool(v.get("_object_delete")),
                                      "visible": (v["id"], v["_xact_id"]) in vis}
                                     for vs in STORE.versions.get(pid, {}).values() for v in vs]}
        raise KeyError(path)

    # -- the API
    def key_orgs(self):
        auth = self.headers.get("Authorization") or ""
        if not auth.startswith("Bearer "):
            return None
        return STORE.keys.get(auth[7:].strip())

    def handle_api(self, method):
        url = urllib.parse.urlsplit(self.path)
        path, q = url.path, urllib.parse.parse_qs(url.query)
        org_scope = None
        if path.startswith("/globex/"):
            org_scope, path = "globex", path[len("/globex"):]
        kind = {"/api/apikey/login": "login", "/v1/project": "project", "/btql": "btql"}.get(path, "other")
        entry = {"t": time.monotonic() - T0, "method": method, "path": self.path,
                 "host": self.headers.get("Host"), "status": None, "fault": None, "limit": None,
                 "query": None, "gzip": False,
                 "org_header": self.headers.get("x-bt-org-name")}
        body = self.body() if method == "POST" else b""
        limit = None
        if kind == "btql":
            try:
                req = json.loads(body or b"{}")
                entry["query"] = req.get("query")
                m = re.search(r"(?m)^\s*limit:\s*(\d+)|\|\s*limit:\s*(\d+)", entry["query"] or "")
                if m:
                    limit = int(m.group(1) or m.group(2))
            except (ValueError, AttributeError):
                req = None
            entry["limit"] = limit
        fault = FAULTS.pick(kind, limit)
        try:
            if fault:
                entry["fault"] = fault["kind"]
                status = self.apply_fault(fault, entry)
                if status is not None:
                    entry["status"] = status
                    return
            status, payload, ctype = self.answer(kind, method, q, body, org_scope)
            entry["status"] = status
            entry["gzip"] = self.send(status, payload, ctype)
        finally:
            log_request(entry)

    def apply_fault(self, f, entry):
        k = f["kind"]
        if k == "reset":
            self.reset_connection()
            return 0
        if k == "slow":
            time.sleep(float(f.get("delay", 1.0)))
            return None
        if k == "huge":
            n = int(f.get("bytes", 11 * 1024 * 1024))
            data = b'{"data":[],"padding":"' + b"x" * n + b'"}'
            if f.get("gzip"):
                data = gzip.compress(data)
                self.send_response(200)
                self.send_header("Content-Encoding", "gzip")
            else:
                self.send_response(200)
            self.send_header("Content-Type", "application/json")
            self.send_header("Content-Length", str(len(data)))
            self.end_headers()
            try:
                self.wfile.write(data)
            except (BrokenPipeError, ConnectionResetError):
                self.close_connection = True
            return 200
        if k == "redirect":
            other = "http://localhost:%d/responses/page.json.gz?X-Amz-Signature=secret" % self.server.server_port
            self.send(int(f.get("status", 303)), b"", headers={"Location": other}, allow_gzip=False)
            return int(f.get("status", 303))
        status = int(k)
        headers = {}
        ra = f.get("retry_after")
        if ra is not None:
            ra = str(ra)
            if ra.startswith("date:+"):
                ra = email.utils.formatdate(time.time() + float(ra[6:]), usegmt=True)
            headers["Retry-After"] = ra
        if status == 429:
            payload = {"error": "Too many BTQL requests: the organization's rate limit was reached"}
        elif status == 504:
            payload = {"Message": "Endpoint request timed out"}
        elif status == 400:
            payload = "Injected bad request"
        else:
            payload = "Internal Server Error"
        self.send(status, payload, "application/json" if isinstance(payload, dict) else "text/plain",
                  headers=headers)
        return status

    def answer(self, kind, method, q, body, org_scope):
        orgs = self.key_orgs()
        if kind == "other":
            return 404, {"error": "Not found"}, "application/json"
        if orgs is None:
            return 401, {"Message": "Invalid API key"}, "application/json"
        if org_scope and org_scope not in orgs:
            return 403, {"Message": "This API key is not a member of organization %s" % org_scope}, "application/json"
        base = "http://%s" % (self.headers.get("Host") or "127.0.0.1:%d" % self.server.server_port)
        if kind == "login":
            if method != "POST":
                return 405, "Method not allowed", "text/plain"
            login_base = STORE.config.get("login_api_url") or base
            return 200, {"org_info": [{"id": ORGS[o], "name": o,
                                       "api_url": login_base if o == "acme" else login_base + "/globex",
                                       "proxy_url": base, "git_metadata": None} for o in orgs]}, "application/json"
        with STORE.lock:
            if kind == "project":
                name = (q.get("project_name") or [None])[0]
                org = (q.get("org_name") or [None])[0]
                objs = [{"id": pid, "name": p["name"], "org_id": ORGS[p["org"]], "description": None}
                        for pid, p in STORE.projects.items()
                        if p["org"] in orgs and (name is None or p["name"] == name)
                        and (org is None or p["org"] == org) and (org_scope is None or p["org"] == org_scope)]
                return 200, {"objects": objs}, "application/json"
            try:
                req = json.loads(body or b"{}")
                query = parse_query(req.get("query"))
            except (ValueError, AttributeError, BtqlError) as e:
                return 400, "Invalid BTQL query: %s" % e, "text/plain"
            proj = STORE.projects.get(query["project"])
            if proj is None:
                return 404, {"error": "Object project_logs %s not found" % query["project"]}, "application/json"
            if proj["org"] not in orgs:
                return 403, {"Message": "User does not have permission to read project_logs %s" % query["project"]}, \
                    "application/json"
            rows = [r for r in STORE.visible(query["project"])
                    if query["filter"] is None or evaluate(query["filter"], r)]
            if query["sort"]:
                field, direction = query["sort"]
                rows.sort(key=lambda r: r.get(field) or "", reverse=direction == "desc")
            if query["limit"] is not None:
                rows = rows[:query["limit"]]
            if query["select"] is not None:
                rows = [{name: get_path(r, p) for p, name in query["select"]} for r in rows]
            return 200, {"data": rows,
                         "schema": {"type": "array", "items": {"type": "object", "properties": {}}},
                         "cursor": None,
                         "freshness_state": {"last_considered_xact_id": str(STORE.xact),
                                             "last_processed_xact_id": str(STORE.processed)}}, \
                "application/json"

    def dispatch(self, method):
        url = urllib.parse.urlsplit(self.path)
        if url.path.startswith("/control/"):
            try:
                result = self.control(url.path, urllib.parse.parse_qs(url.query))
                self.send(200, result, allow_gzip=False)
            except KeyError as e:
                self.send(404, {"error": "unknown control %s" % e}, allow_gzip=False)
            except (ValueError, TypeError) as e:
                self.send(400, {"error": str(e)}, allow_gzip=False)
            return
        self.handle_api(method)

    def do_GET(self):
        self.dispatch("GET")

    def do_POST(self):
        self.dispatch("POST")


class Server(ThreadingHTTPServer):
    daemon_threads = True

    def handle_error(self, request, client_address):
        # clients that hang up mid-answer (size caps, resets) are part of the tests
        if not isinstance(sys.exc_info()[1], (ConnectionResetError, BrokenPipeError)):
            super().handle_error(request, client_address)


def watch_parent(ppid):
    while True:
        if os.getppid() != ppid:
            os._exit(0)
        time.sleep(0.5)


def main():
    global ARGS
    ap = argparse.ArgumentParser()
    ap.add_argument("--port", type=int, default=0)
    ap.add_argument("--sdk-events")
    ARGS = ap.parse_args()
    seed_default()
    srv = Server(("127.0.0.1", ARGS.port), Handler)
    threading.Thread(target=watch_parent, args=(os.getppid(),), daemon=True).start()
    print("ready %d" % srv.server_port, flush=True)
    srv.serve_forever()


ARGS = None
if __name__ == "__main__":
    main()
