"""Compare the btexport objects of two databases: a schema-only pg_dump of each in binary-upgrade
mode (the only mode in which pg_dump writes out an extension's member objects one by one), keeping
the entries that belong to btexport, with OIDs, xids and dump nonces removed.  Also compares the
extension's configuration tables.  Exit 0 when equal; else prints a unified diff."""
import difflib
import re
import subprocess
import sys


def entries(db):
    dump = subprocess.run(["pg_dump", "--schema-only", "--binary-upgrade", "-d", db],
                          capture_output=True, text=True, check=True).stdout
    dump = dump.split("\n--\n-- PostgreSQL database dump complete")[0]
    parts = re.split(r"\n--\n-- Name: ", dump)
    keep = []
    for p in parts[1:]:
        head, _, body = p.partition("\n")
        m = re.search(r"; Type: ([^;]+); Schema: ([^;]+); Owner:", head)
        typ, schema = (m.group(1), m.group(2)) if m else ("", "")
        if typ in ("SEQUENCE SET", "TABLE DATA"):
            continue        # data, not schema (binary-upgrade mode writes sequence positions)
        if not (schema == "btexport" or "btexport" in head.split(";")[0]
                or "ALTER EXTENSION btexport ADD" in body):
            continue
        body = "\n".join(l for l in body.split("\n")
                         if "binary_upgrade_set_next" not in l and not l.startswith("\\restrict")
                         and not l.startswith("\\unrestrict"))
        body = re.sub(r"relfrozenxid = '\d+', relminmxid = '\d+'", "relfrozenxid = X, relminmxid = X", body)
        body = re.sub(r"WHERE oid = '\d+'", "WHERE oid = X", body)
        body = re.sub(r"(binary_upgrade_create_empty_extension\('btexport', [^{]*)'\{[0-9,]*\}'", r"\1'{oids}'", body)
        keep.append("-- Name: " + head + body.rstrip() + "\n")
    return sorted(keep)


def config(db):
    return subprocess.run(["psql", "-X", "-At", "-d", db, "-c",
                           "SELECT pg_catalog.array_to_string(e.extconfig::regclass[], ',') || ' ' || "
                           "coalesce(pg_catalog.array_to_string(e.extcondition, ','), '') "
                           "FROM pg_catalog.pg_extension e WHERE e.extname = 'btexport'"],
                          capture_output=True, text=True, check=True).stdout.splitlines()


a, b = sys.argv[1], sys.argv[2]
la = "".join(entries(a)).splitlines(keepends=True) + config(a)
lb = "".join(entries(b)).splitlines(keepends=True) + config(b)
diff = list(difflib.unified_diff(la, lb, a, b))
if diff:
    sys.stdout.writelines(l if l.endswith("\n") else l + "\n" for l in diff)
    sys.exit(1)
print(f"{len(la)} lines of btexport objects, equal")
