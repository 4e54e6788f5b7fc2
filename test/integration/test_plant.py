"""Look-alike functions, operators and types planted in `public` never reach an export or a query
(issue 12, finding 2; docs/security.md "Generated SQL").

The BTQL suite (test/btql) plants look-alikes against the compiler's SQL run directly; this test
plants them in a database with a running export worker and checks the whole path a victim uses:
btexport.run() of spans, traces, BTQL and Parquet automations executed by the background worker as
the automation's owner, and btexport.query() / explain() called by a superuser whose search_path
puts `public` ahead of pg_catalog.

What is planted (test/btql/plant.sql, run with the same name lists): for every pg_catalog.name and
OPERATOR(pg_catalog.op) the C sources of the compiler, the run, the adapters and the SQL surface
write, a function / operator / aggregate of that name in `public` with every pg_catalog signature
(polymorphic ones also with concrete types, which beat pg_catalog's polymorphic ones even behind
it on the path) whose body raises "planted ... reached", and every type name as a domain that
refuses every value.  The attacker is an ordinary role with CREATE on `public`.  A negative
control first shows that unqualified SQL does reach the plants, so the checks can fail."""
import glob
import json
import os
import re

from lib import check, finish, fresh_db, get_object, psql, psql_json

ROOT = os.path.abspath(os.path.join(os.path.dirname(__file__), "..", ".."))
DB = fresh_db("btx_plant")
EP = os.environ["MOTO_ENDPOINT"]
AKID, SECRET = os.environ["BTX_AKID"], os.environ["BTX_SECRET"]
BUCKET = "test-bucket"

# ---- what the C code can write into SQL ---------------------------------------------------
sources = [p for d in ("core/btql", "run", "adapters", "api") for p in glob.glob(f"{ROOT}/src/{d}/*.c")]
literals = []
for path in sources:
    with open(path, encoding="utf-8") as f:
        literals += re.findall(r'"((?:[^"\\]|\\.)*)"', f.read())
text = "\n".join(literals)
names = sorted(set(re.findall(r"pg_catalog\.([a-z_][a-z_0-9]*)", text)))
ops = sorted(set(re.findall(r"OPERATOR\(pg_catalog\.([^)]*)\)", text)))
check(f"the C sources name {len(names)} pg_catalog functions/types and {len(ops)} operators",
      len(names) > 20 and len(ops) > 5 and "@>" in ops and "lower" in names, f"{names} {ops}")

# ---- roles: an attacker with CREATE on public, a victim owner ------------------------------
for role, extra in (("plant_attacker", ""), ("plant_victim", "IN ROLE btexport_user")):
    psql(f"DO $$BEGIN IF NOT EXISTS (SELECT 1 FROM pg_roles WHERE rolname = '{role}') THEN "
         f"CREATE ROLE {role} LOGIN {extra}; END IF; END$$", db="postgres")
psql(f"ALTER SYSTEM SET btexport.allowed_endpoints = '{EP}'; SELECT pg_reload_conf()")
psql("GRANT CREATE ON SCHEMA public TO plant_attacker")

# the victim's data and automations, created before the plants exist
events = []
for i in range(40):
    root = f"t{i // 4}"
    events.append({"id": f"s{i}", "span_id": f"s{i}", "root_span_id": root,
                   **({"span_parents": [root]} if i % 4 else {}),
                   "input": f"question {i}", "output": f"Answer {i}", "tags": ["x"] if i % 3 == 0 else ["y"],
                   "metadata": {"environment": "production" if i % 2 else "staging", "model": "gpt"},
                   "scores": {"Factuality": (i % 10) / 10}, "metrics": {"total_tokens": 100 * i, "start": 1700000000 + i,
                                                                      "end": 1700000001 + i}})
psql(f"SELECT count(*) FROM btexport.log('plant-app', $j${json.dumps(events)}$j$)", user="plant_victim")
psql(f"SELECT btexport.create_credential('plant-key', '{AKID}', '{SECRET}')", user="plant_victim")
BTQL = ("select: id, lower(output) as lo, metadata.model as model, scores.Factuality as f\n"
        "from: project_logs('plant-app')\n"
        "filter: tags includes 'x' and created > now() - interval 1 day and metadata.environment = 'staging'"
        " and scores.Factuality < 0.9 and output ILIKE 'answer%'")
AUTOS = {
    "plant-spans": "export_type => 'logs_spans'",
    "plant-traces": "export_type => 'logs_traces', trace_idle => '0 seconds'",
    "plant-btql": f"export_type => 'btql', query => $q${BTQL}$q$",
    "plant-parquet": "export_type => 'logs_spans', format => 'parquet'",
}
for name, args in AUTOS.items():
    psql(f"SELECT btexport.create_automation('{name}', 'plant-app', 's3://{BUCKET}/plant/{name}/', {args},"
         f" endpoint => '{EP}', credential => 'plant-key')", user="plant_victim")

# ---- the attacker plants look-alikes in public ----------------------------------------------
with open(f"{ROOT}/test/btql/plant.sql", encoding="utf-8") as f:
    psql(f.read().replace("btql_plant", "plant_kit").replace("btql_evil", "plant_unused"))
# plant_kit's helpers run as the attacker, so every planted object is the attacker's
psql("GRANT USAGE ON SCHEMA plant_kit TO plant_attacker; "
     "GRANT EXECUTE ON ALL FUNCTIONS IN SCHEMA plant_kit TO plant_attacker")
# relations the C code reads (pg_catalog.pg_stat_activity, ...) get a view of the same name that raises
rels = psql("SELECT c.relname FROM pg_class c WHERE c.relnamespace = 'pg_catalog'::regnamespace"
            " AND c.relname = ANY (string_to_array(:'names', E'\\n'))", args=("-v", "names=" + "\n".join(names))).split()
names = [n for n in names if n not in rels]
psql("CREATE FUNCTION public.plant_relation_reached() RETURNS boolean LANGUAGE plpgsql AS "
     "$$BEGIN RAISE EXCEPTION 'planted relation reached'; END$$", user="plant_attacker")
for rel in rels:
    psql(f"CREATE VIEW public.{rel} AS SELECT * FROM pg_catalog.{rel} WHERE public.plant_relation_reached()",
         user="plant_attacker")
planted = psql("SELECT format('%s functions, %s aggregates, %s operators, %s types', p.functions, p.aggregates,"
               " p.operators, p.types) FROM plant_kit.plant_all('public', string_to_array(:'names', E'\\n'),"
               " string_to_array(:'ops', E'\\n'), string_to_array(:'names', E'\\n')) p",
               user="plant_attacker", args=("-v", "names=" + "\n".join(names), "-v", "ops=" + "\n".join(ops)))
owned = psql("SELECT count(*) FROM pg_proc WHERE pronamespace = 'public'::regnamespace"
             " AND proowner = 'plant_attacker'::regrole")
check(f"the attacker planted look-alikes in public ({planted.strip()}, {len(rels)} relations)", int(owned) > 50, owned)

def as_superuser_public_first(sql):
    """Run sql as the superuser in a session whose search_path is public, pg_catalog."""
    os.environ["PGOPTIONS"] = "-c search_path=public,pg_catalog"
    try:
        return psql(sql, user="postgres", check_error=False)
    finally:
        del os.environ["PGOPTIONS"]


# negative control: unqualified SQL on the victim's default path reaches a plant
rc, out, err = psql("SELECT ARRAY['x'] @> ARRAY['x']", user="plant_victim", check_error=False)
check("control: unqualified SQL as the victim reaches the planted @>", rc != 0 and "planted" in err, err or out)
rc, out, err = as_superuser_public_first("SELECT lower('A')")
check("control: unqualified lower() as the superuser with public first reaches the plant",
      rc != 0 and "planted" in err, err or out)

# ---- the victim's exports, run by the background worker -------------------------------------
src = {r["id"]: r for r in psql_json("SELECT row_to_json(l) FROM btexport.logs l WHERE project_id = "
                                      "(SELECT id FROM btexport.projects WHERE name = 'plant-app')")}


def run(name):
    return psql_json(f"SELECT row_to_json(r) FROM btexport.run('{name}') r", user="plant_victim")[-1]


def rows_of(run_id):
    keys = [f["key"] for f in psql_json(f"SELECT row_to_json(f) FROM btexport.run_files f WHERE run_id = {run_id}"
                                        " ORDER BY seq", user="plant_victim")]
    return [json.loads(x) for k in keys for x in get_object(BUCKET, k).decode().split("\n") if x], keys


r = run("plant-spans")
rows, _ = rows_of(r["id"])
check("spans export as the victim: succeeded, every span once, values equal",
      r["status"] == "succeeded" and sorted(x["id"] for x in rows) == sorted(src)
      and all(x["output"] == src[x["id"]]["output"] and x["tags"] == src[x["id"]]["tags"] for x in rows),
      f"{r['status']} {r.get('error_message')} {len(rows)} rows")

r = run("plant-traces")
rows, _ = rows_of(r["id"])
roots = sorted({v["root_span_id"] for v in src.values()})
check("traces export as the victim: succeeded, one row per trace",
      r["status"] == "succeeded" and sorted(x.get("root_span_id", x.get("id")) for x in rows) == roots,
      f"{r['status']} {r.get('error_message')} {[x.get('root_span_id') for x in rows][:5]}")

want = sorted(k for k, v in src.items() if "x" in v["tags"] and v["metadata"]["environment"] == "staging"
              and v["scores"]["Factuality"] < 0.9 and v["output"].lower().startswith("answer"))
r = run("plant-btql")
rows, _ = rows_of(r["id"])
check(f"BTQL export (includes, lower, now(), interval, ->>, ILIKE, <) as the victim: the right {len(want)} rows",
      r["status"] == "succeeded" and len(want) > 0 and sorted(x["id"] for x in rows) == want
      and all(x["lo"] == src[x["id"]]["output"].lower() and x["model"] == "gpt" for x in rows),
      f"{r['status']} {r.get('error_message')} {sorted(x['id'] for x in rows)} want {want}")

r = run("plant-parquet")
files = psql_json(f"SELECT row_to_json(f) FROM btexport.run_files f WHERE run_id = {r['id']}", user="plant_victim")
check("Parquet export as the victim: succeeded with every span",
      r["status"] == "succeeded" and sum(f["rows"] for f in files) == len(src) and files
      and all(get_object(BUCKET, f["key"])[:4] == b"PAR1" for f in files),
      f"{r['status']} {r.get('error_message')} {files}")

# ---- interactive BTQL as a superuser whose search_path puts public first --------------------
rc, out, err = as_superuser_public_first(f"SELECT btexport.query($q${BTQL}$q$)")
got = sorted(json.loads(x)["id"] for x in out.splitlines() if x.strip()) if rc == 0 else err
check("btexport.query as a superuser with public ahead of pg_catalog: the right rows, no plant reached",
      got == want, f"{got} want {want}")
rc, ex, err = as_superuser_public_first(f"SELECT btexport.explain($q${BTQL}$q$)")
check("btexport.explain as that superuser works too", rc == 0 and "OPERATOR(pg_catalog." in ex, err or ex[:300])

# the plants are still there and still reachable (nothing dropped them meanwhile)
rc, out, err = psql("SELECT ARRAY['x'] @> ARRAY['x']", user="plant_victim", check_error=False)
check("the plants were in place for the whole test", rc != 0 and "planted" in err, err or out)
finish()
