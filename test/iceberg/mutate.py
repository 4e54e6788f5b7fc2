#!/usr/bin/python3
"""Negative controls for check_table.py: copy a valid table and break one rule.

    mutate.py <table-dir> <out-dir> <mutation>

Mutations (each must make check_table.py fail, for the reason printed):
  seq      the current snapshot's sequence-number beyond last-sequence-number
  eqids    an equality delete file without equality_ids
  existing an EXISTING entry whose sequence numbers are left to inheritance
  bound    a lower bound of 7 bytes for a long, double or timestamptz
  count    a manifest list entry whose added_files_count is off by one
  ids      a duplicate field id in the current schema
Manifests are re-encoded with python3-avro (same schema and header keys) and
the manifest list is rewritten with their new lengths.
"""
import json
import os
import shutil
import sys
import warnings

import avro.schema
from avro.datafile import DataFileReader, DataFileWriter
from avro.io import DatumReader, DatumWriter

warnings.filterwarnings("ignore")

REASON = {
    "seq": "not in 1..last-sequence-number",
    "eqids": "equality delete without equality_ids",
    "existing": "without explicit snapshot id and sequence numbers",
    "bound": "7 bytes for a",
    "count": "file counts",
    "ids": "duplicate field ids",
}


def read(path):
    with open(path, "rb") as f:
        r = DataFileReader(f, DatumReader())
        meta = {k: v for k, v in r.meta.items() if not k.startswith("avro.")}
        schema = r.meta["avro.schema"].decode()
        return meta, schema, list(r)


def write(path, meta, schema, records):
    with open(path, "wb") as f:
        w = DataFileWriter(f, DatumWriter(), avro.schema.parse(schema), codec="deflate")
        for k, v in meta.items():
            w.set_meta(k, v)
        for rec in records:
            w.append(rec)
        w.close()


def latest(table):
    md = os.path.join(table, "metadata")
    v = int(open(os.path.join(md, "version-hint.text")).read().strip())
    return os.path.join(md, f"v{v}.metadata.json")


def local(meta, uri, table):
    return os.path.join(table, uri[len(meta["location"]) + 1:])


def mutate_manifest(table, want_content, fn):
    """Apply fn(records) to the first manifest of the current snapshot with that content."""
    mpath = latest(table)
    meta = json.load(open(mpath))
    snap = next(s for s in meta["snapshots"] if s["snapshot-id"] == meta["current-snapshot-id"])
    lpath = local(meta, snap["manifest-list"], table)
    lmeta, lschema, lrecs = read(lpath)
    for mf in lrecs:
        if mf["content"] != want_content:
            continue
        p = local(meta, mf["manifest_path"], table)
        hmeta, schema, recs = read(p)
        if not fn(recs):
            continue
        write(p, hmeta, schema, recs)
        mf["manifest_length"] = os.path.getsize(p)
        write(lpath, lmeta, lschema, lrecs)
        return
    sys.exit(f"mutate: no manifest to mutate (content {want_content})")


def main():
    src, out, what = sys.argv[1:4]
    shutil.rmtree(out, ignore_errors=True)
    shutil.copytree(src, out)
    # paths in metadata name the original location: keep them, map by location prefix
    if what == "seq":
        p = latest(out)
        meta = json.load(open(p))
        cur = next(s for s in meta["snapshots"] if s["snapshot-id"] == meta["current-snapshot-id"])
        cur["sequence-number"] = meta["last-sequence-number"] + 1
        json.dump(meta, open(p, "w"))
    elif what == "ids":
        p = latest(out)
        meta = json.load(open(p))
        schema = next(s for s in meta["schemas"] if s["schema-id"] == meta["current-schema-id"])
        schema["fields"][1]["id"] = schema["fields"][0]["id"]
        json.dump(meta, open(p, "w"))
    elif what == "eqids":
        def drop(recs):
            for r in recs:
                if r["data_file"]["content"] == 2:
                    r["data_file"]["equality_ids"] = None
                    return True
            return False
        mutate_manifest(out, 1, drop)
    elif what == "existing":
        def inherit(recs):
            # turn an ADDED entry into EXISTING without sequence numbers
            for r in recs:
                if r["status"] == 1:
                    r["status"] = 0
                    r["sequence_number"] = None
                    r["file_sequence_number"] = None
                    return True
            return False
        mutate_manifest(out, 0, inherit)

        # keep the list's counts right, so that only the sequence rule fails
        p = latest(out)
        meta = json.load(open(p))
        snap = next(s for s in meta["snapshots"] if s["snapshot-id"] == meta["current-snapshot-id"])
        lpath = local(meta, snap["manifest-list"], out)
        lmeta, lschema, lrecs = read(lpath)
        for mf in lrecs:
            if mf["content"] == 0:
                _, _, recs = read(local(meta, mf["manifest_path"], out))
                mf["added_files_count"] = sum(r["status"] == 1 for r in recs)
                mf["existing_files_count"] = sum(r["status"] == 0 for r in recs)
                mf["added_rows_count"] = sum(r["data_file"]["record_count"] for r in recs if r["status"] == 1)
                mf["existing_rows_count"] = sum(r["data_file"]["record_count"] for r in recs if r["status"] == 0)
                break
        write(lpath, lmeta, lschema, lrecs)
    elif what == "bound":
        meta = json.load(open(latest(out)))
        schema = next(s for s in meta["schemas"] if s["schema-id"] == meta["current-schema-id"])
        eight = {f["id"] for f in schema["fields"] if f["type"] in ("long", "double", "timestamptz")}

        def cut(recs):
            for r in recs:
                for kv in r["data_file"]["lower_bounds"] or []:
                    if kv["key"] in eight:
                        kv["value"] = kv["value"][:7]
                        return True
            return False
        mutate_manifest(out, 0, cut)
    elif what == "count":
        p = latest(out)
        meta = json.load(open(p))
        snap = next(s for s in meta["snapshots"] if s["snapshot-id"] == meta["current-snapshot-id"])
        lpath = local(meta, snap["manifest-list"], out)
        lmeta, lschema, lrecs = read(lpath)
        lrecs[0]["added_files_count"] += 1
        write(lpath, lmeta, lschema, lrecs)
    else:
        sys.exit(f"mutate: unknown mutation {what}")
    print(REASON[what])


if __name__ == "__main__":
    main()
