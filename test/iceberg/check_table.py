#!/usr/bin/python3
"""Check an Iceberg table folder against the table spec (format version 2).

    check_table.py <table-dir> [--ours] [--root <dir>] [--dump <entries.json>]

Independent of btexport's writer: manifests and manifest lists are decoded
with Debian's python3-avro; every rule below is the spec's (format/spec.md of
apache/iceberg), checked on whatever wrote the table.  The reference tables
in test/data/iceberg (Java Iceberg, Spark, Athena) pass it.

Every metadata file (vN.metadata.json, or Athena's NNNNN-<uuid>.metadata.json):
  format-version 2, table-uuid, location, last-sequence-number,
  last-updated-ms, last-column-id >= every field id, schemas with schema-id
  and unique field ids and known types, current-schema-id, partition-specs
  (field ids >= 1000 and unique, source ids in a schema, known transforms),
  default-spec-id, last-partition-id, sort-orders (order 0 unsorted),
  default-sort-order-id, snapshots (unique ids and sequence numbers, each
  <= last-sequence-number and greater than its parent's, manifest-list,
  summary.operation one of append/replace/overwrite/delete),
  current-snapshot-id = refs.main, snapshot-log of known snapshots,
  metadata-log entries.
The latest metadata's snapshots (all of them: a valid snapshot's files exist):
  manifest lists: the v2 manifest_file fields by field id (names vary by
  writer), content 0/1, sequence_number <= the snapshot's, min_sequence_number
  <= sequence_number and <= every live entry's data sequence number, spec id
  known, manifest_length = the file's size, added/existing/deleted file and
  row counts = the manifest's entries, partition summaries (one per spec
  field, contains_null, bounds covering the live partition values).
  manifests: header keys schema, partition-spec (= the spec of
  partition-spec-id), partition-spec-id, format-version, content matching the
  list's content; entry field ids; status 0/1/2, explicit sequence numbers and
  snapshot id for EXISTING/DELETED entries, data sequence <= file sequence <=
  manifest sequence; data_file content (0 in data manifests, 1/2 in delete
  manifests), file_format, record_count, file_size_in_bytes = the file's
  size, partition tuple with the spec's field ids and types, metrics maps
  keyed by known field ids, value counts >= null counts, bounds in the
  single-value binary serialization of the field's type (lengths, UTF-8,
  no NaN, lower <= upper), equality_ids present (primitive fields) exactly
  for content 2; no file live twice in a snapshot; every live file exists.
--ours adds what btexport promises: version-hint.text = the latest version,
  schema-id in manifest headers, counts/sizes/bounds for every primitive
  column of data files, data files under their partition folder, snapshot
  summary totals equal to the live files, min_sequence_number exact.
--dump writes the current snapshot's live files (paths relative to --root,
  decoded metrics) and schema for test/iceberg/read.mjs.
Prints "ok"/"FAIL" lines and exits 1 on any failure.
"""
import datetime
import json
import math
import os
import re
import struct
import sys
import warnings

from avro.datafile import DataFileReader
from avro.io import DatumReader

warnings.filterwarnings("ignore")

PRIMITIVES = {"boolean", "int", "long", "float", "double", "date", "time", "timestamp",
              "timestamptz", "timestamp_ns", "timestamptz_ns", "string", "uuid", "binary", "unknown",
              "variant"}
TRANSFORMS = re.compile(r"^(identity|year|month|day|hour|void|bucket\[\d+\]|truncate\[\d+\])$")
OPERATIONS = {"append", "replace", "overwrite", "delete"}
RESERVED_IDS = {2147483546: "string", 2147483545: "long"}  # file_path, pos of position deletes

ENTRY_IDS = {"status": 0, "snapshot_id": 1, "sequence_number": 3, "file_sequence_number": 4, "data_file": 2}
DATA_FILE_IDS = {"content": 134, "file_path": 100, "file_format": 101, "partition": 102,
                 "record_count": 103, "file_size_in_bytes": 104, "column_sizes": 108,
                 "value_counts": 109, "null_value_counts": 110, "nan_value_counts": 137,
                 "lower_bounds": 125, "upper_bounds": 128, "equality_ids": 135, "sort_order_id": 140}
MANIFEST_FILE_IDS = {"manifest_path": 500, "manifest_length": 501, "partition_spec_id": 502,
                     "content": 517, "sequence_number": 515, "min_sequence_number": 516,
                     "added_snapshot_id": 503, "added_files_count": 504, "existing_files_count": 505,
                     "deleted_files_count": 506, "added_rows_count": 512, "existing_rows_count": 513,
                     "deleted_rows_count": 514, "partitions": 507}
REQUIRED_LIST_IDS = [500, 501, 502, 517, 515, 516, 503, 504, 505, 506, 512, 513, 514]
SUMMARY_IDS = {"contains_null": 509, "contains_nan": 518, "lower_bound": 510, "upper_bound": 511}


class Checker:
    def __init__(self, table_dir, ours):
        self.dir = table_dir.rstrip("/")
        self.ours = ours
        self.fails = []
        self.checks = 0
        self.location = None

    def fail(self, where, msg):
        self.fails.append(f"{where}: {msg}")

    def expect(self, cond, where, msg):
        self.checks += 1
        if not cond:
            self.fail(where, msg)
        return cond

    # ---------- paths ----------
    def local(self, uri):
        """A table URI to the local file (paths under the table's location)."""
        if self.location and uri.startswith(self.location + "/"):
            return os.path.join(self.dir, uri[len(self.location) + 1:])
        return None

    # ---------- metadata ----------
    def metadata_files(self):
        md = os.path.join(self.dir, "metadata")
        found = []
        for name in os.listdir(md):
            m = re.match(r"^v(\d+)\.metadata\.json$", name) or re.match(r"^(\d+)-[0-9a-f-]+\.metadata\.json$", name)
            if m:
                found.append((int(m.group(1)), name))
        found.sort()
        return found

    def field_types(self, meta):
        """field id -> Iceberg type (primitive string, or the nested type object), every schema."""
        types = {}

        def walk(t, fid):
            if fid is not None:
                types.setdefault(fid, t)
            if isinstance(t, dict):
                if t.get("type") == "struct":
                    for f in t.get("fields", []):
                        walk(f.get("type"), f.get("id"))
                elif t.get("type") == "list":
                    walk(t.get("element"), t.get("element-id"))
                elif t.get("type") == "map":
                    walk(t.get("key"), t.get("key-id"))
                    walk(t.get("value"), t.get("value-id"))
        for s in meta.get("schemas", []):
            walk(s, None)
        return types

    def check_type(self, where, t):
        if isinstance(t, str):
            ok = t in PRIMITIVES or re.match(r"^(decimal\(\s*\d+\s*,\s*\d+\s*\)|fixed\[\d+\])$", t)
            return self.expect(ok, where, f"unknown type {t!r}")
        if not isinstance(t, dict):
            return self.expect(False, where, f"type {t!r} is neither a string nor an object")
        kind = t.get("type")
        if kind == "struct":
            ids = []
            for f in t.get("fields", []):
                self.expect(isinstance(f.get("id"), int) and isinstance(f.get("name"), str) and
                            isinstance(f.get("required"), bool), where, f"field {f} lacks id/name/required")
                ids.append(f.get("id"))
                self.check_type(f"{where}.{f.get('name')}", f.get("type"))
            return True
        if kind == "list":
            self.expect(isinstance(t.get("element-id"), int) and isinstance(t.get("element-required"), bool),
                        where, "list without element-id/element-required")
            return self.check_type(where + ".element", t.get("element"))
        if kind == "map":
            self.expect(isinstance(t.get("key-id"), int) and isinstance(t.get("value-id"), int) and
                        isinstance(t.get("value-required"), bool), where, "map without key-id/value-id/value-required")
            self.check_type(where + ".key", t.get("key"))
            return self.check_type(where + ".value", t.get("value"))
        return self.expect(False, where, f"unknown nested type {kind!r}")

    def all_ids(self, schema):
        ids = []

        def walk(t):
            if isinstance(t, dict):
                if t.get("type") == "struct":
                    for f in t.get("fields", []):
                        ids.append(f.get("id"))
                        walk(f.get("type"))
                elif t.get("type") == "list":
                    ids.append(t.get("element-id"))
                    walk(t.get("element"))
                elif t.get("type") == "map":
                    ids.extend([t.get("key-id"), t.get("value-id")])
                    walk(t.get("key"))
                    walk(t.get("value"))
        walk(schema)
        return ids

    def check_metadata(self, name, meta):
        w = name
        if not self.expect(meta.get("format-version") == 2, w, f"format-version {meta.get('format-version')!r}, expected 2"):
            return
        self.expect(isinstance(meta.get("table-uuid"), str) and
                    re.match(r"^[0-9a-fA-F]{8}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{12}$",
                             meta.get("table-uuid", "")), w, "table-uuid missing or not a UUID")
        self.expect(isinstance(meta.get("location"), str) and "://" in meta.get("location", ""), w,
                    "location missing or not a URI")
        for k in ("last-sequence-number", "last-updated-ms", "last-column-id", "current-schema-id",
                  "default-spec-id", "last-partition-id", "default-sort-order-id"):
            self.expect(isinstance(meta.get(k), int), w, f"{k} missing or not an integer")
        schemas = meta.get("schemas")
        if not self.expect(isinstance(schemas, list) and schemas, w, "schemas missing"):
            return
        max_id = 0
        for s in schemas:
            sw = f"{w} schema {s.get('schema-id')}"
            self.expect(isinstance(s.get("schema-id"), int) and s.get("type") == "struct", sw,
                        "schema without schema-id or not a struct")
            self.check_type(sw, s)
            ids = self.all_ids(s)
            self.expect(len(ids) == len(set(ids)), sw, f"duplicate field ids {sorted(i for i in set(ids) if ids.count(i) > 1)}")
            self.expect(all(isinstance(i, int) and 0 <= i <= 2147483447 for i in ids), sw, "field id outside 0..2147483447")
            max_id = max([max_id] + [i for i in ids if isinstance(i, int)])
        self.expect(isinstance(meta.get("last-column-id"), int) and meta["last-column-id"] >= max_id, w,
                    f"last-column-id {meta.get('last-column-id')} < the highest field id {max_id}")
        self.expect(meta.get("current-schema-id") in [s.get("schema-id") for s in schemas], w,
                    "current-schema-id is not a schema")
        types = self.field_types(meta)
        specs = meta.get("partition-specs")
        if self.expect(isinstance(specs, list) and specs, w, "partition-specs missing"):
            self.expect(meta.get("default-spec-id") in [s.get("spec-id") for s in specs], w,
                        "default-spec-id is not a partition spec")
            max_pid = 999
            for sp in specs:
                pids = []
                for pf in sp.get("fields", []):
                    pw = f"{w} spec {sp.get('spec-id')} field {pf.get('name')}"
                    self.expect(isinstance(pf.get("field-id"), int) and pf["field-id"] >= 1000, pw,
                                "partition field id missing or < 1000")
                    self.expect(isinstance(pf.get("name"), str), pw, "partition field without a name")
                    self.expect(isinstance(pf.get("transform"), str) and TRANSFORMS.match(pf["transform"]), pw,
                                f"unknown transform {pf.get('transform')!r}")
                    self.expect(pf.get("source-id") in types, pw, f"source-id {pf.get('source-id')} is not a field")
                    pids.append(pf.get("field-id"))
                    if isinstance(pf.get("field-id"), int):
                        max_pid = max(max_pid, pf["field-id"])
                self.expect(len(pids) == len(set(pids)), f"{w} spec {sp.get('spec-id')}", "duplicate partition field ids")
            self.expect(isinstance(meta.get("last-partition-id"), int) and meta["last-partition-id"] >= max_pid, w,
                        f"last-partition-id {meta.get('last-partition-id')} < {max_pid}")
        orders = meta.get("sort-orders")
        if self.expect(isinstance(orders, list) and orders, w, "sort-orders missing"):
            self.expect(meta.get("default-sort-order-id") in [o.get("order-id") for o in orders], w,
                        "default-sort-order-id is not a sort order")
            for o in orders:
                if o.get("order-id") == 0:
                    self.expect(o.get("fields") == [], w, "sort order 0 must be unsorted")
                for f in o.get("fields", []):
                    self.expect(f.get("direction") in ("asc", "desc") and f.get("null-order") in ("nulls-first", "nulls-last")
                                and f.get("source-id") in types, w, f"invalid sort field {f}")
        snaps = meta.get("snapshots", []) or []
        by_id = {}
        seqs = []
        for s in snaps:
            sid = s.get("snapshot-id")
            sw = f"{w} snapshot {sid}"
            self.expect(isinstance(sid, int) and sid not in by_id, sw, "snapshot-id missing or duplicate")
            by_id[sid] = s
            self.expect(isinstance(s.get("sequence-number"), int) and 0 < s["sequence-number"] <= meta.get("last-sequence-number", -1),
                        sw, f"sequence-number {s.get('sequence-number')} not in 1..last-sequence-number")
            seqs.append(s.get("sequence-number"))
            self.expect(isinstance(s.get("timestamp-ms"), int), sw, "timestamp-ms missing")
            self.expect(isinstance(s.get("manifest-list"), str), sw, "manifest-list missing")
            summ = s.get("summary")
            self.expect(isinstance(summ, dict) and summ.get("operation") in OPERATIONS, sw,
                        f"summary.operation {summ.get('operation') if isinstance(summ, dict) else None!r}")
            if isinstance(summ, dict):
                self.expect(all(isinstance(v, str) for v in summ.values()), sw, "summary values must be strings")
        self.expect(len(seqs) == len(set(seqs)), w, "two snapshots share a sequence number")
        for s in snaps:
            p = s.get("parent-snapshot-id")
            if p in by_id:
                self.expect(s.get("sequence-number", 0) > by_id[p].get("sequence-number", 0),
                            f"{w} snapshot {s.get('snapshot-id')}", "sequence number not greater than its parent's")
        cur = meta.get("current-snapshot-id")
        if cur is not None and cur != -1:
            self.expect(cur in by_id, w, f"current-snapshot-id {cur} is not a snapshot")
            refs = meta.get("refs")
            if refs is not None:
                self.expect(refs.get("main", {}).get("snapshot-id") == cur and refs.get("main", {}).get("type") == "branch",
                            w, "refs.main does not point at current-snapshot-id")
        for e in meta.get("snapshot-log", []) or []:
            self.expect(e.get("snapshot-id") in by_id and isinstance(e.get("timestamp-ms"), int), w,
                        f"snapshot-log entry {e} names no valid snapshot")
        for e in meta.get("metadata-log", []) or []:
            self.expect(isinstance(e.get("metadata-file"), str) and isinstance(e.get("timestamp-ms"), int), w,
                        f"metadata-log entry {e} incomplete")

    # ---------- Avro ----------
    def read_avro(self, path):
        with open(path, "rb") as f:
            r = DataFileReader(f, DatumReader())
            meta = {k: v.decode("utf-8") for k, v in r.meta.items()}
            schema = json.loads(meta["avro.schema"])
            records = list(r)
        return meta, schema, records

    @staticmethod
    def names_by_id(record_schema):
        """field-id -> (name, type) of a record schema (a union's non-null branch)."""
        out = {}
        for f in record_schema.get("fields", []):
            t = f.get("type")
            if isinstance(t, list):
                t = next((x for x in t if x != "null"), t)
            if "field-id" in f:
                out[f["field-id"]] = (f["name"], t)
        return out

    def get(self, rec, ids, fid):
        n = ids.get(fid)
        return rec.get(n[0]) if n else None

    # ---------- bounds ----------
    def decode_bound(self, t, b):
        """(ok, value) of a single-value binary serialization of type t."""
        if isinstance(t, dict):
            return False, "a bound for a nested type"
        fixed = {"boolean": 1, "int": 4, "date": 4, "float": 4, "long": 8, "double": 8, "time": 8,
                 "timestamp": 8, "timestamptz": 8, "timestamp_ns": 8, "timestamptz_ns": 8, "uuid": 16}
        if t in fixed:
            if len(b) != fixed[t]:
                return False, f"{len(b)} bytes for a {t}"
            if t == "boolean":
                return True, b[0] != 0
            if t in ("int", "date"):
                return True, struct.unpack("<i", b)[0]
            if t == "float":
                v = struct.unpack("<f", b)[0]
                return (not math.isnan(v)), v
            if t == "double":
                v = struct.unpack("<d", b)[0]
                return (not math.isnan(v)), v
            if t == "uuid":
                return True, b
            return True, struct.unpack("<q", b)[0]
        if t == "string":
            try:
                return True, b.decode("utf-8")
            except UnicodeDecodeError:
                return False, "a string bound that is not UTF-8"
        if t.startswith("decimal"):
            return (1 <= len(b) <= 16), int.from_bytes(b, "big", signed=True)
        if t.startswith("fixed"):
            return len(b) == int(t[6:-1]), b
        return True, b

    @staticmethod
    def le(a, b):
        if isinstance(a, str) and isinstance(b, str):
            return a.encode("utf-8") <= b.encode("utf-8")
        return a <= b

    # ---------- partitions ----------
    @staticmethod
    def partition_type(pf, types):
        tr = pf.get("transform", "")
        src = types.get(pf.get("source-id"))
        if tr == "identity" or tr.startswith("truncate") or tr == "void":
            return src
        if tr == "day":
            return "date"
        return "int"

    @staticmethod
    def norm_part(v):
        if isinstance(v, datetime.date):
            return (v - datetime.date(1970, 1, 1)).days
        if isinstance(v, (bytes, bytearray)):
            return bytes(v)
        return v

    def check_partition(self, where, value, t):
        if value is None:
            return True
        if t in ("int", "long", "date", "time", "timestamp", "timestamptz", "timestamp_ns", "timestamptz_ns"):
            return self.expect(isinstance(value, int) and not isinstance(value, bool), where, f"partition value {value!r} is not a {t}")
        if t == "string":
            return self.expect(isinstance(value, str), where, f"partition value {value!r} is not a string")
        if t == "boolean":
            return self.expect(isinstance(value, bool), where, f"partition value {value!r} is not a boolean")
        return True

    # ---------- manifests ----------
    def check_manifest(self, meta, mf, snap_seq, types, spec_by_id, mw):
        path = self.local(mf["manifest_path"])
        if not self.expect(path is not None and os.path.isfile(path), mw, "manifest file missing"):
            return []
        self.expect(os.path.getsize(path) == mf["manifest_length"], mw,
                    f"manifest_length {mf['manifest_length']} != file size {os.path.getsize(path)}")
        hmeta, schema, records = self.read_avro(path)
        for k in ("schema", "partition-spec", "partition-spec-id", "format-version", "content"):
            self.expect(k in hmeta, mw, f"header key {k} missing")
        if self.ours:
            self.expect("schema-id" in hmeta, mw, "header key schema-id missing")
        self.expect(hmeta.get("format-version") == "2", mw, f"format-version {hmeta.get('format-version')!r}")
        want_content = "data" if mf["content"] == 0 else "deletes"
        self.expect(hmeta.get("content") == want_content, mw,
                    f"header content {hmeta.get('content')!r}, the manifest list says {want_content}")
        spec_id = mf["partition_spec_id"]
        self.expect(hmeta.get("partition-spec-id") == str(spec_id), mw,
                    f"header partition-spec-id {hmeta.get('partition-spec-id')} != {spec_id}")
        spec = spec_by_id.get(spec_id, {"fields": []})
        try:
            self.expect(json.loads(hmeta.get("partition-spec", "null")) == spec["fields"], mw,
                        "header partition-spec differs from the table's spec")
            json.loads(hmeta.get("schema", "null"))
        except ValueError:
            self.fail(mw, "header schema or partition-spec is not JSON")
        eids = self.names_by_id(schema)
        for n, fid in ENTRY_IDS.items():
            self.expect(fid in eids, mw, f"manifest_entry field {n} (id {fid}) missing")
        if 2 not in eids:
            return []
        df_schema = eids[2][1]
        dids = self.names_by_id(df_schema)
        for n in ("content", "file_path", "file_format", "partition", "record_count", "file_size_in_bytes"):
            self.expect(DATA_FILE_IDS[n] in dids, mw, f"data_file field {n} (id {DATA_FILE_IDS[n]}) missing")
        part_schema = dids.get(102, (None, {"fields": []}))[1]
        part_ids = [f.get("field-id") for f in part_schema.get("fields", [])]
        self.expect(part_ids == [pf.get("field-id") for pf in spec["fields"]], mw,
                    f"partition struct field ids {part_ids} != the spec's")
        pnames = [f["name"] for f in part_schema.get("fields", [])]
        counts = {0: [0, 0], 1: [0, 0], 2: [0, 0]}
        live = []
        seq = mf["sequence_number"]
        for i, rec in enumerate(records):
            ew = f"{mw} entry {i}"
            status = self.get(rec, eids, 0)
            df = self.get(rec, eids, 2) or {}
            if not self.expect(status in (0, 1, 2), ew, f"status {status!r}"):
                continue
            counts[status][0] += 1
            counts[status][1] += self.get(df, dids, 103) or 0
            sid = self.get(rec, eids, 1)
            dseq = self.get(rec, eids, 3)
            fseq = self.get(rec, eids, 4)
            if status != 1:
                self.expect(sid is not None and dseq is not None and fseq is not None, ew,
                            "EXISTING/DELETED entry without explicit snapshot id and sequence numbers")
            else:
                if sid is not None:
                    self.expect(sid == mf["added_snapshot_id"], ew, f"ADDED by snapshot {sid}, the manifest was added by {mf['added_snapshot_id']}")
                if fseq is not None:
                    self.expect(fseq == seq, ew, f"ADDED entry with file sequence {fseq} != the manifest's {seq}")
            dseq = seq if dseq is None else dseq
            fseq = seq if fseq is None else fseq
            self.expect(dseq <= fseq <= seq, ew, f"sequence numbers data {dseq} <= file {fseq} <= manifest {seq} violated")
            content = self.get(df, dids, 134)
            content = 0 if content is None else content
            fpath = self.get(df, dids, 100)
            if mf["content"] == 0:
                self.expect(content == 0, ew, f"content {content} in a data manifest")
            else:
                self.expect(content in (1, 2), ew, f"content {content} in a delete manifest")
            fmt = self.get(df, dids, 101)
            self.expect(isinstance(fmt, str) and fmt.upper() in ("PARQUET", "AVRO", "ORC", "PUFFIN"), ew, f"file_format {fmt!r}")
            rc = self.get(df, dids, 103)
            size = self.get(df, dids, 104)
            self.expect(isinstance(rc, int) and rc >= 0, ew, f"record_count {rc!r}")
            self.expect(isinstance(size, int) and size > 0, ew, f"file_size_in_bytes {size!r}")
            part = self.get(df, dids, 102) or {}
            pvals = []
            for pf, pn in zip(spec["fields"], pnames):
                v = self.norm_part(part.get(pn))
                self.check_partition(ew, v, self.partition_type(pf, types))
                pvals.append(v)
            eq = self.get(df, dids, 135)
            if content == 2:
                if self.expect(isinstance(eq, list) and eq, ew, "equality delete without equality_ids"):
                    for fid in eq:
                        self.expect(isinstance(types.get(fid), str), ew, f"equality id {fid} is not a primitive field")
            else:
                self.expect(not eq, ew, f"equality_ids {eq} on a content {content} file")
            metrics = self.check_metrics(ew, df, dids, types, content, rc)
            if status != 2:
                lp = self.local(fpath) if isinstance(fpath, str) else None
                if self.expect(lp is not None and os.path.isfile(lp), ew, f"live file {fpath} missing"):
                    self.expect(os.path.getsize(lp) == size, ew, f"file_size_in_bytes {size} != {os.path.getsize(lp)}")
                live.append({"path": fpath, "content": content, "record_count": rc, "size": size,
                             "data_seq": dseq, "file_seq": fseq, "partition": pvals, "metrics": metrics,
                             "equality_ids": eq or [], "spec_id": spec_id,
                             "unpartitioned": not spec["fields"]})
                if self.ours and content == 0:
                    self.check_ours_data_file(ew, fpath, spec, pvals, metrics, types)
        self.expect(mf["added_files_count"] == counts[1][0] and mf["existing_files_count"] == counts[0][0] and
                    mf["deleted_files_count"] == counts[2][0], mw,
                    f"file counts {mf['added_files_count']}/{mf['existing_files_count']}/{mf['deleted_files_count']} "
                    f"!= entries {counts[1][0]}/{counts[0][0]}/{counts[2][0]}")
        self.expect(mf["added_rows_count"] == counts[1][1] and mf["existing_rows_count"] == counts[0][1] and
                    mf["deleted_rows_count"] == counts[2][1], mw, "row counts differ from the entries'")
        if live:
            mn = min(e["data_seq"] for e in live)
            self.expect(mf["min_sequence_number"] <= mn, mw, f"min_sequence_number {mf['min_sequence_number']} > {mn}")
            if self.ours:
                self.expect(mf["min_sequence_number"] == mn, mw, f"min_sequence_number {mf['min_sequence_number']} != {mn}")
        self.check_summaries(mw, mf, spec, live, types)
        return live

    def check_metrics(self, ew, df, dids, types, content, rc):
        out = {}
        for name in ("column_sizes", "value_counts", "null_value_counts", "nan_value_counts", "lower_bounds", "upper_bounds"):
            m = self.get(df, dids, DATA_FILE_IDS[name])
            if m is None:
                continue
            for kv in m:
                fid = kv["key"]
                t = types.get(fid, RESERVED_IDS.get(fid) if content == 1 else None)
                if not self.expect(t is not None, ew, f"{name} for unknown field id {fid}"):
                    continue
                d = out.setdefault(fid, {})
                if name in ("lower_bounds", "upper_bounds"):
                    ok, v = self.decode_bound(t, kv["value"])
                    if self.expect(ok, ew, f"{name}[{fid}] is not a {t} bound: {v}"):
                        d[name] = v
                else:
                    self.expect(isinstance(kv["value"], int) and kv["value"] >= 0, ew, f"{name}[{fid}] = {kv['value']!r}")
                    d[name] = kv["value"]
        for fid, d in out.items():
            if "value_counts" in d and "null_value_counts" in d:
                self.expect(d["value_counts"] >= d["null_value_counts"] + d.get("nan_value_counts", 0), ew,
                            f"field {fid}: value count < null + NaN counts")
            if "lower_bounds" in d and "upper_bounds" in d:
                self.expect(self.le(d["lower_bounds"], d["upper_bounds"]), ew,
                            f"field {fid}: lower bound {d['lower_bounds']!r} > upper bound {d['upper_bounds']!r}")
        return out

    def check_ours_data_file(self, ew, fpath, spec, pvals, metrics, types):
        for fid, t in types.items():
            if not isinstance(t, str):
                continue
            m = metrics.get(fid, {})
            self.expect("value_counts" in m and "null_value_counts" in m and "column_sizes" in m, ew,
                        f"field {fid}: counts or size missing")
        for pf, v in zip(spec["fields"], pvals):
            if pf.get("transform") == "day" and v is not None:
                day = (datetime.date(1970, 1, 1) + datetime.timedelta(days=v)).isoformat()
                self.expect(f"={day}/" in fpath, ew, f"{fpath} is not under its partition folder ({day})")
                m = metrics.get(pf["source-id"], {})
                if self.expect("lower_bounds" in m, ew, "no bounds for the partition column"):
                    lo = m["lower_bounds"] // 86400000000
                    hi = m["upper_bounds"] // 86400000000
                    self.expect(lo == v == hi, ew, f"rows of days {lo}..{hi} in partition {v}")

    def check_summaries(self, mw, mf, spec, live, types):
        parts = mf.get("partitions")
        if parts is None:
            return
        if not self.expect(len(parts) == len(spec["fields"]), mw,
                           f"{len(parts)} partition summaries for {len(spec['fields'])} spec fields"):
            return
        for i, (ps, pf) in enumerate(zip(parts, spec["fields"])):
            vals = [e["partition"][i] for e in live]
            if any(v is None for v in vals):
                self.expect(ps["contains_null"], mw, f"partition {pf['name']}: contains_null false, a live file has null")
            present = [v for v in vals if v is not None]
            t = self.partition_type(pf, types)
            if ps.get("lower_bound") is not None and present and isinstance(t, str):
                ok1, lo = self.decode_bound(t, ps["lower_bound"])
                ok2, hi = self.decode_bound(t, ps["upper_bound"]) if ps.get("upper_bound") is not None else (False, None)
                if self.expect(ok1 and ok2, mw, f"partition {pf['name']}: summary bounds do not decode as {t}"):
                    self.expect(all(self.le(lo, v) and self.le(v, hi) for v in present), mw,
                                f"partition {pf['name']}: values {min(present)}..{max(present)} outside summary {lo}..{hi}")
            elif present and self.ours:
                self.fail(mw, f"partition {pf['name']}: no summary bounds")

    def check_snapshot(self, meta, snap, types, spec_by_id):
        sw = f"snapshot {snap['snapshot-id']}"
        path = self.local(snap["manifest-list"])
        if not self.expect(path is not None and os.path.isfile(path), sw, f"manifest list {snap['manifest-list']} missing"):
            return None
        hmeta, schema, records = self.read_avro(path)
        if "snapshot-id" in hmeta:
            self.expect(hmeta["snapshot-id"] == str(snap["snapshot-id"]), sw, "manifest list header snapshot-id differs")
        if "sequence-number" in hmeta:
            self.expect(hmeta["sequence-number"] == str(snap["sequence-number"]), sw, "manifest list header sequence-number differs")
        if "format-version" in hmeta:
            self.expect(hmeta["format-version"] == "2", sw, "manifest list header format-version is not 2")
        ids = self.names_by_id(schema)
        for fid in REQUIRED_LIST_IDS:
            self.expect(fid in ids, sw, f"manifest_file field id {fid} missing")
        live = []
        for rec in records:
            mf = {n: self.get(rec, ids, fid) for n, fid in MANIFEST_FILE_IDS.items()}
            mw = f"{sw} manifest {os.path.basename(str(mf['manifest_path']))}"
            if not self.expect(all(mf[n] is not None for n, fid in MANIFEST_FILE_IDS.items() if fid in REQUIRED_LIST_IDS),
                               mw, "a required manifest_file field is null"):
                continue
            self.expect(mf["content"] in (0, 1), mw, f"content {mf['content']}")
            self.expect(mf["sequence_number"] <= snap["sequence-number"], mw,
                        f"sequence_number {mf['sequence_number']} > the snapshot's {snap['sequence-number']}")
            self.expect(mf["min_sequence_number"] <= mf["sequence_number"], mw, "min_sequence_number > sequence_number")
            if mf["added_snapshot_id"] == snap["snapshot-id"]:
                self.expect(mf["sequence_number"] == snap["sequence-number"], mw, "a manifest added by this snapshot has another sequence number")
            if not self.expect(mf["partition_spec_id"] in spec_by_id, mw, f"partition_spec_id {mf['partition_spec_id']} unknown"):
                continue
            live.extend(self.check_manifest(meta, mf, snap["sequence-number"], types, spec_by_id, mw))
        paths = [e["path"] for e in live]
        self.expect(len(paths) == len(set(paths)), sw, "a file is live twice")
        if self.ours:
            summ = snap.get("summary", {})
            data = [e for e in live if e["content"] == 0]
            dels = [e for e in live if e["content"] != 0]
            want = {"total-records": sum(e["record_count"] for e in data), "total-data-files": len(data),
                    "total-delete-files": len(dels), "total-files-size": sum(e["size"] for e in live),
                    "total-equality-deletes": sum(e["record_count"] for e in dels if e["content"] == 2)}
            for k, v in want.items():
                self.expect(summ.get(k) == str(v), sw, f"summary {k} = {summ.get(k)}, the live files say {v}")
        return live

    # ---------- the table ----------
    def run(self, dump=None, root=None):
        files = self.metadata_files()
        if not self.expect(files, self.dir, "no metadata files"):
            return
        latest = None
        for version, name in files:
            with open(os.path.join(self.dir, "metadata", name)) as f:
                try:
                    meta = json.load(f)
                except ValueError as e:
                    self.fail(name, f"not JSON: {e}")
                    continue
            self.check_metadata(name, meta)
            latest = (version, name, meta)
        if latest is None:
            return
        version, name, meta = latest
        self.location = meta.get("location")
        hint = os.path.join(self.dir, "metadata", "version-hint.text")
        if os.path.exists(hint):
            text = open(hint).read().strip()
            self.expect(text.isdigit() and os.path.exists(os.path.join(self.dir, "metadata", f"v{text}.metadata.json")),
                        "version-hint.text", f"{text!r} names no metadata file")
            if self.ours:
                self.expect(text == str(version), "version-hint.text", f"{text} is not the latest version {version}")
        elif self.ours:
            self.fail("version-hint.text", "missing")
        if meta.get("format-version") != 2:
            return
        types = self.field_types(meta)
        spec_by_id = {s["spec-id"]: s for s in meta.get("partition-specs", [])}
        current = None
        for snap in meta.get("snapshots", []) or []:
            live = self.check_snapshot(meta, snap, types, spec_by_id)
            if snap["snapshot-id"] == meta.get("current-snapshot-id"):
                current = live
        if dump:
            schema = next(s for s in meta["schemas"] if s["schema-id"] == meta["current-schema-id"])
            out = {"schema": schema, "live": []}
            for e in current or []:
                lp = self.local(e["path"])
                m = {}
                for fid, d in e["metrics"].items():
                    x = {"value_count": d.get("value_counts"), "null_value_count": d.get("null_value_counts")}
                    if "lower_bounds" in d and "upper_bounds" in d and not isinstance(d["lower_bounds"], bytes):
                        for k, b in (("lower", d["lower_bounds"]), ("upper", d["upper_bounds"])):
                            # longs as strings (JSON numbers lose digits past 2^53), booleans as 0/1
                            x[k] = int(b) if isinstance(b, bool) else str(b) if isinstance(b, int) else b
                    m[fid] = x
                out["live"].append({"file": os.path.relpath(lp, root or self.dir), "content": e["content"],
                                    "record_count": e["record_count"], "file_size_in_bytes": e["size"],
                                    "data_sequence_number": e["data_seq"], "equality_ids": e["equality_ids"],
                                    "spec_id": e["spec_id"], "partition": e["partition"],
                                    "unpartitioned": e["unpartitioned"], "metrics": m})
            with open(dump, "w") as f:
                json.dump(out, f, indent=1)


def main():
    args = sys.argv[1:]
    ours = "--ours" in args
    dump = args[args.index("--dump") + 1] if "--dump" in args else None
    root = args[args.index("--root") + 1] if "--root" in args else None
    table = [a for i, a in enumerate(args) if not a.startswith("--") and (i == 0 or args[i - 1] not in ("--dump", "--root"))]
    if len(table) != 1:
        print(__doc__)
        sys.exit(2)
    c = Checker(table[0], ours)
    try:
        c.run(dump, root)
    except Exception as e:  # a file the checker cannot even decode is a failure, not a crash
        c.fail(table[0], f"{type(e).__name__}: {e}")
    for f in c.fails[:40]:
        print(f"FAIL {f}")
    if len(c.fails) > 40:
        print(f"FAIL ... {len(c.fails) - 40} more")
    if not c.fails:
        print(f"ok   {table[0]}: {c.checks} checks of the Iceberg v2 spec{' and btexport promises' if ours else ''}")
    sys.exit(1 if c.fails else 0)


if __name__ == "__main__":
    main()
